//! The dispatcher under crashes: the real `natronfx-server` publishing to a faulty simulator, killed with
//! SIGKILL at random moments and restarted, must publish every target exactly once.
//!
//! `NATRONFX_CRASH_KILLS` sets how many kills (default 5; run 100 on demand).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use natronfx_e2e::{Server, free_port};

use crate::{team, temp_dir};

/// A small deterministic generator (the test must not depend on a random crate).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn every_target_is_published_exactly_once_across_sigkills_and_faults() {
    let kills: u32 = std::env::var("NATRONFX_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test: {kills} kills, seed {seed}");
    let mut dice = Dice(seed);
    let dir = temp_dir();
    let cli = team(format!("sqlite:{}/natronfx.db", dir.display()));
    let cli = natronfx_e2e::Cli {
        cwd: dir.clone(),
        ..cli
    };
    let sim = Server::start_bin(
        "natronfx",
        &dir,
        &[
            "sim",
            "--port",
            "0",
            "--sandbox",
            "--processing-secs",
            "2",
            "--faults",
            "0.2",
            "--seed",
            &seed.to_string(),
        ],
    );
    let port = free_port();
    let env = [
        ("NATRONFX_SANDBOX__SIMULATOR_URL", sim.base_url.clone()),
        (
            "NATRONFX_MEDIA__PUBLIC_BASE_URL",
            format!("http://127.0.0.1:{port}/m"),
        ),
        ("NATRONFX_DISPATCH__IDLE_POLL_MS", "100".to_owned()),
        ("NATRONFX_DISPATCH__LEASE_SECS", "4".to_owned()),
        ("NATRONFX_DISPATCH__TIKTOK_SETTLE_SECS", "6".to_owned()),
        ("NATRONFX_DISPATCH__RETRY_BASE_SECS", "1".to_owned()),
        ("NATRONFX_DISPATCH__RETRY_MAX_SECS", "2".to_owned()),
        ("NATRONFX_DISPATCH__MAX_RETRIES", "50".to_owned()),
        ("NATRONFX_DISPATCH__HTTP_TIMEOUT_SECS", "2".to_owned()),
        ("NATRONFX_DISPATCH__MAX_INLINE_POLL_MS", "1000".to_owned()),
    ];
    let admin = "admin@example.com";
    assert_eq!(cli.as_user(admin, &["policy", "set", "none"]).code, 0);
    let media = crate::photos(&cli, "ed@example.com");
    let mut posts = Vec::new();
    for i in 0..6 {
        let caption = format!("Crash drill number {i} #coffee");
        let r = cli.as_user(
            "ed@example.com",
            &[
                "--json",
                "post",
                "new",
                "--title",
                "Crash drill",
                "--caption",
                &caption,
                "--slide",
                &format!("{}=A cup", media[0]),
                "--slide",
                &format!("{}=A cat", media[1]),
                "--target",
                "@sandbox.instagram",
                "--target",
                "@sandbox.tiktok",
                "--target",
                "@sandbox.facebook",
                "--privacy",
                "SELF_ONLY",
            ],
        );
        assert_eq!(r.code, 0, "{r:?}");
        let id = r.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            cli.as_user("ed@example.com", &["post", "submit", &id]).code,
            0
        );
        let s = cli.as_user("ed@example.com", &["post", "schedule", &id, "--at", "now"]);
        assert_eq!(s.code, 0, "{s:?}");
        posts.push((id, caption));
    }
    let listen = format!("127.0.0.1:{port}");
    for k in 0..kills {
        let server =
            Server::start_bin_with_env("natronfx-server", &dir, &["--listen", &listen], &env);
        let alive = Duration::from_millis(200 + dice.below(2500));
        std::thread::sleep(alive);
        eprintln!("kill {} after {alive:?}", k + 1);
        server.kill();
    }
    // The last start runs to the end.
    let server = Server::start_bin_with_env("natronfx-server", &dir, &["--listen", &listen], &env);
    let deadline = Instant::now() + Duration::from_secs(240);
    let states = loop {
        let states: Vec<String> = posts
            .iter()
            .map(|(id, _)| {
                let r = cli.as_user(admin, &["--json", "post", "show", id]);
                r.json()["state"].as_str().unwrap_or("?").to_owned()
            })
            .collect();
        if states.iter().all(|s| s == "published") || Instant::now() > deadline {
            break states;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let status = server.terminate();
    assert!(status.success(), "a clean stop after the run: {status:?}");
    let url = format!("{}/_sim/published", sim.base_url);
    let read_back: Vec<serde_json::Value> = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(&url).await?.json().await })
        .expect("the simulator's read-back");
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for p in &read_back {
        let caption = p["caption"].as_str().unwrap_or_default().to_owned();
        let account = p["account_id"].as_str().unwrap_or_default().to_owned();
        *count.entry((account, caption)).or_default() += 1;
    }
    let mut problems = Vec::new();
    for (id, caption) in &posts {
        for account in ["sandbox-instagram", "sandbox-tiktok", "sandbox-facebook"] {
            let n = count
                .get(&(account.to_owned(), caption.clone()))
                .copied()
                .unwrap_or(0);
            if n != 1 {
                problems.push(format!("post {id} on {account}: published {n} times"));
            }
        }
    }
    if !problems.is_empty() || states.iter().any(|s| s != "published") {
        for (id, _) in &posts {
            let t = cli.as_user(admin, &["post", "timeline", id]);
            eprintln!("{}", t.stdout);
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        states.iter().all(|s| s == "published"),
        "unfinished: {states:?}"
    );
    sim.terminate();
}

/// Posts to the Instagram and Facebook sandbox accounts, scheduled now; their ids and captions. (TikTok
/// allows one account six posts a minute and thirty status reads: one sandbox account cannot take a
/// burst, which the pacing tests cover.)
fn many_posts(cli: &natronfx_e2e::Cli, n: usize, tag: &str) -> Vec<(String, String)> {
    let media = crate::photos(cli, "ed@example.com");
    let mut posts = Vec::new();
    for i in 0..n {
        let caption = format!("{tag} {i} #coffee");
        let r = cli.as_user(
            "ed@example.com",
            &[
                "--json",
                "post",
                "new",
                "--title",
                tag,
                "--caption",
                &caption,
                "--slide",
                &format!("{}=A cup", media[0]),
                "--target",
                "@sandbox.instagram",
                "--target",
                "@sandbox.facebook",
            ],
        );
        assert_eq!(r.code, 0, "{r:?}");
        let id = r.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            cli.as_user("ed@example.com", &["post", "submit", &id]).code,
            0
        );
        let s = cli.as_user("ed@example.com", &["post", "schedule", &id, "--at", "now"]);
        assert_eq!(s.code, 0, "{s:?}");
        posts.push((id, caption));
    }
    posts
}

/// Worker processes, killed if the test ends early.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

#[tokio::test]
async fn two_worker_processes_on_one_postgres_database_share_the_queue() {
    let db = natronfx_store::testing::TestDb::postgres().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let dir = temp_dir();
        let cli = team(url.clone());
        let cli = natronfx_e2e::Cli {
            cwd: dir.clone(),
            ..cli
        };
        assert_eq!(
            cli.as_user("admin@example.com", &["policy", "set", "none"])
                .code,
            0
        );
        let sim = Server::start_bin(
            "natronfx",
            &dir,
            &["sim", "--port", "0", "--sandbox", "--processing-secs", "1"],
        );
        // The media folder is served by a web-only server; two worker processes publish.
        let port = free_port();
        let env = [
            ("NATRONFX_DATABASE__URL", url.clone()),
            ("NATRONFX_SANDBOX__SIMULATOR_URL", sim.base_url.clone()),
            (
                "NATRONFX_MEDIA__PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{port}/m"),
            ),
            ("NATRONFX_DISPATCH__IDLE_POLL_MS", "100".to_owned()),
            ("NATRONFX_DISPATCH__BATCH", "4".to_owned()),
            (
                "NATRONFX_DISPATCH__TIKTOK_INITS_PER_MINUTE",
                "1000".to_owned(),
            ),
        ];
        let web = Server::start_bin_with_env(
            "natronfx-server",
            &dir,
            &["--listen", &format!("127.0.0.1:{port}"), "--no-workers"],
            &env,
        );
        let posts = many_posts(&cli, 15, "Shared queue");
        let mut workers = Workers(
            (0..2)
                .map(|_| {
                    std::process::Command::new(natronfx_e2e::bin("natronfx"))
                        .arg("worker")
                        .current_dir(&dir)
                        .env("RUST_LOG", "warn")
                        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                        .stdout(std::process::Stdio::null())
                        .spawn()
                        .expect("start a worker")
                })
                .collect(),
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let done = posts.iter().all(|(id, _)| {
                let r = cli.as_user("admin@example.com", &["--json", "post", "show", id]);
                r.json()["state"] == "published"
            });
            if done {
                break;
            }
            if Instant::now() > deadline {
                for (id, _) in &posts {
                    eprintln!(
                        "{}",
                        cli.as_user("admin@example.com", &["post", "timeline", id])
                            .stdout
                    );
                }
                panic!("not all published in time");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        for w in workers.0.iter_mut() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &w.id().to_string()])
                .status();
            let status = w.wait().unwrap();
            assert!(
                status.success(),
                "a worker stops cleanly on SIGTERM: {status:?}"
            );
        }
        let url = format!("{}/_sim/published", sim.base_url);
        let read_back: Vec<serde_json::Value> = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { reqwest::get(&url).await?.json().await })
            .unwrap();
        assert_eq!(
            read_back.len(),
            posts.len() * 2,
            "every target once, none lost"
        );
        let mut workers_seen = std::collections::BTreeSet::new();
        for (id, caption) in &posts {
            for account in ["sandbox-instagram", "sandbox-facebook"] {
                let n = read_back
                    .iter()
                    .filter(|p| p["account_id"] == account && p["caption"] == caption.as_str())
                    .count();
                assert_eq!(n, 1, "post {id} on {account}");
            }
            let timeline = cli
                .as_user("admin@example.com", &["--json", "post", "timeline", id])
                .json();
            for t in timeline["targets"].as_array().unwrap() {
                assert_eq!(t["state"], "published");
                let started: Vec<_> = t["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["kind"] == "started")
                    .collect();
                assert_eq!(started.len(), 1, "claimed and started once: {t}");
                let by = started[0]["message"]
                    .as_str()
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .to_owned();
                workers_seen.insert(by);
            }
        }
        assert_eq!(
            workers_seen.len(),
            2,
            "both processes took work: {workers_seen:?}"
        );
        web.terminate();
        sim.terminate();
    })
    .await
    .unwrap();
}
