//! Connected accounts from the real `natronfx` binary, against the platform simulator: connect through
//! the loopback callback and with a pasted redirect URL, list, show, refresh, rotate the vault's key and
//! disconnect; every output (at `trace` logging) and the database file hold no plaintext token.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use natronfx_e2e::{Run, bin, free_port};
use natronfx_sim::{SimConfig, Simulator};
use natronfx_store::testing::TestDb;

use crate::{PASSWORD, temp_dir};

/// The CLI with a config file, logging at `trace`; every output is kept for the leak check.
struct Team {
    db: String,
    cwd: std::path::PathBuf,
    config: std::path::PathBuf,
    outputs: Vec<String>,
}

impl Team {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("natronfx"));
        c.arg("--db")
            .arg(&self.db)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.cwd)
            .env_remove("NATRONFX_AS")
            .env_remove("NATRONFX_CONFIG")
            .env("RUST_LOG", "trace");
        c
    }

    fn run_with_stdin(&mut self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write as _;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start natronfx");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        let run: Run = child.wait_with_output().expect("natronfx ran").into();
        self.outputs
            .push(format!("{args:?}\n{}\n{}", run.stdout, run.stderr));
        run
    }

    fn admin(&mut self, args: &[&str]) -> Run {
        let mut all = vec!["--as", "admin@example.com"];
        all.extend_from_slice(args);
        self.run_with_stdin(&all, "")
    }

    fn ok(&mut self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.admin(&all);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        run.json()
    }
}

fn config(sim: &str, redirect_port: u16, keys: &[(u32, &str)], primary: u32) -> String {
    let mut text = format!(
        "[vault]\nprimary = {primary}\n[vault.keys]\n{}\n",
        keys.iter()
            .map(|(id, key)| format!("{id} = \"{key}\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    text.push_str(&format!(
        r#"
[apps.tiktok]
client_key = "sim-client"
client_secret = "sim-secret"
redirect_uri = "http://127.0.0.1:{redirect_port}/callback"
authorize_url = "{sim}/tiktok-www/v2/auth/authorize/"
api_base_url = "{sim}/tiktok"

[apps.instagram]
client_id = "sim-client"
client_secret = "sim-secret"
redirect_uri = "https://publisher.example.com/accounts/callback"
authorize_url = "{sim}/instagram-www/oauth/authorize"
api_base_url = "{sim}/instagram-api"
graph_base_url = "{sim}/instagram"

[images]
base_url = "{sim}/openai"
max_retries = 0
"#
    ));
    text
}

fn key() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("random bytes");
    // Standard base64, without pulling a crate in for it.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn accounts_from_the_cli_on_sqlite() {
    accounts_story(TestDb::sqlite());
}

#[tokio::test]
async fn accounts_from_the_cli_on_postgres() {
    let db = TestDb::postgres().await;
    // The story runs its own runtime for the simulator: give it a thread of its own.
    std::thread::spawn(move || accounts_story(db))
        .join()
        .expect("the story passes");
}

/// The image API key the simulator accepts; the story keeps it in the vault.
const IMAGE_KEY: &str = "sk-e2e-vault-image-key-7f3a91";

fn accounts_story(db: TestDb) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(Simulator::start(SimConfig {
            openai_api_key: IMAGE_KEY.into(),
            ..SimConfig::default()
        }))
        .expect("simulator");
    let base = format!("http://{}", sim.addr());
    let cwd = temp_dir();
    let port = free_port();
    let key1 = key();
    let config_path = cwd.join("natronfx.toml");
    std::fs::write(&config_path, config(&base, port, &[(1, &key1)], 1)).unwrap();
    let mut team = Team {
        db: db.url.clone(),
        cwd,
        config: config_path.clone(),
        outputs: Vec::new(),
    };
    let init = team.run_with_stdin(
        &["init", "--email", "admin@example.com", "--password-stdin"],
        PASSWORD,
    );
    assert_eq!(init.code, 0, "{init:?}");

    // TikTok: the CLI waits on the loopback redirect URI while the browser consents.
    let mut child = team
        .command(&["--as", "admin@example.com", "account", "connect", "tiktok"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the connection");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "the CLI printed no URL: {printed}"
        );
        printed.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("http") {
            break format!("http{url}");
        }
    };
    assert!(url.contains("code_challenge="), "{url}");
    // The browser follows the platform's redirect back to the CLI's listener.
    let page = rt.block_on(async {
        reqwest::get(&url)
            .await
            .expect("the browser reaches the CLI")
            .text()
            .await
            .expect("page")
    });
    assert!(page.contains("Connected tiktok"), "{page}");
    let out = child.wait_with_output().expect("the CLI finishes");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    printed.push_str(&rest);
    printed.push_str(&String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{printed}\n{stderr}");
    assert!(
        printed.contains("connected tiktok natron.demo"),
        "{printed}"
    );
    team.outputs.push(format!("{printed}\n{stderr}\n{page}"));

    // Instagram: print the URL, consent, paste the address the browser was sent to.
    let start = team.ok(&["account", "connect", "instagram", "--no-wait"]);
    let authorize = start["authorize_url"].as_str().expect("url").to_owned();
    let location = rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        client
            .get(&authorize)
            .send()
            .await
            .expect("consent")
            .headers()["location"]
            .to_str()
            .unwrap()
            .to_owned()
    });
    let connected = team.ok(&["account", "connect", "--redirect-url", &location]);
    assert_eq!(connected[0]["platform"], "instagram");
    assert_eq!(connected[0]["status"], "connected");
    let replay = team.admin(&["account", "connect", "--redirect-url", &location]);
    assert_eq!(replay.code, 6, "{replay:?}");
    assert_eq!(replay.error_code().as_deref(), Some("oauth-state-used"));

    // Look, refresh, rotate, disconnect.
    let listed = team.ok(&["account", "list"]);
    let real: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["sandbox"] == false)
        .collect();
    assert_eq!(real.len(), 2, "{listed}");
    let shown = team.ok(&["account", "show", "natron.demo"]);
    assert_eq!(shown["credentials"].as_array().unwrap().len(), 2);
    let refreshed = team.ok(&["account", "refresh", "natron.demo"]);
    assert_eq!(refreshed["refreshed"], true, "{refreshed}");
    let swept = team.ok(&["account", "refresh", "--due"]);
    assert_eq!(swept["due"], 0);
    let human = team.admin(&["account", "list"]);
    assert!(human.stdout.contains("natron.demo"), "{human:?}");
    let status = team.ok(&["vault", "status"]);
    assert_eq!(status["keys"][0]["sealed"], 3, "{status}");

    // The image API key goes into the vault, not the configuration: generation works from it.
    let generate = [
        "media",
        "generate",
        "a cup of coffee",
        "--size",
        "1024x1024",
    ];
    let off = team.admin(&generate);
    assert_eq!(
        off.error_code().as_deref(),
        Some("invalid-config"),
        "{off:?}"
    );
    let wrong = team.run_with_stdin(
        &[
            "--as",
            "admin@example.com",
            "vault",
            "secret",
            "set",
            "openai",
            "--stdin",
        ],
        IMAGE_KEY,
    );
    assert_eq!(
        wrong.error_code().as_deref(),
        Some("invalid-input"),
        "{wrong:?}"
    );
    let set = team.run_with_stdin(
        &[
            "--as",
            "admin@example.com",
            "vault",
            "secret",
            "set",
            "images_api_key",
            "--stdin",
        ],
        &format!("{IMAGE_KEY}\n"),
    );
    assert_eq!(set.code, 0, "{set:?}");
    assert!(set.stdout.contains("stored images_api_key"), "{set:?}");
    let listed = team.ok(&["vault", "secret", "list"]);
    assert_eq!(listed[0]["name"], "images_api_key");
    assert_eq!(listed[0]["vault_key_id"], 1, "{listed}");
    assert_eq!(listed[0]["in_configuration"], false);
    let made = team.ok(&[
        "media",
        "generate",
        "a cup of coffee",
        "--size",
        "1024x1024",
    ]);
    assert_eq!(made[0]["media"]["source"], "generated", "{made}");
    let status = team.ok(&["vault", "status"]);
    assert_eq!(
        status["keys"][0]["sealed"], 4,
        "two tokens each and the image key: {status}"
    );
    let audit = team.ok(&["audit", "list", "--action", "secret-stored"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");

    let key2 = key();
    std::fs::write(
        &config_path,
        config(&base, port, &[(1, &key1), (2, &key2)], 2),
    )
    .unwrap();
    let rotated = team.ok(&["vault", "rotate", "--batch", "1"]);
    assert_eq!(rotated["resealed"], 4, "{rotated}");
    assert_eq!(rotated["remaining"], 0);
    let status = team.ok(&["vault", "status"]);
    assert_eq!(status["keys"][0]["sealed"], 0, "key 1 can go: {status}");
    std::fs::write(&config_path, config(&base, port, &[(2, &key2)], 2)).unwrap();
    let shown = team.ok(&["account", "show", "@sim.instagram"]);
    assert_eq!(shown["credentials"][0]["key_id"], 2);
    // Re-sealed under key 2, the image key still opens with key 1 gone.
    let made = team.ok(&["media", "generate", "beans", "--size", "1024x1024"]);
    assert_eq!(made.as_array().unwrap().len(), 1, "{made}");
    let removed = team.ok(&["vault", "secret", "remove", "images_api_key"]);
    assert_eq!(removed["removed"], true, "{removed}");
    assert_eq!(
        team.admin(&generate).error_code().as_deref(),
        Some("invalid-config")
    );

    let gone = team.ok(&["account", "disconnect", "natron.demo"]);
    assert_eq!(gone["revoke"], "revoked");
    assert_eq!(gone["credentials_deleted"], 2);
    assert_eq!(gone["account"]["status"], "disconnected");
    let editor = team.run_with_stdin(
        &[
            "--as",
            "admin@example.com",
            "user",
            "add",
            "ed@example.com",
            "--role",
            "editor",
        ],
        "",
    );
    assert_eq!(editor.code, 0, "{editor:?}");
    let refused = team.run_with_stdin(
        &[
            "--as",
            "ed@example.com",
            "account",
            "disconnect",
            "@sim.instagram",
        ],
        "",
    );
    assert_eq!(refused.code, 4, "{refused:?}");

    // Nothing the platforms issued appears in any output or in the database.
    let mut secrets = sim.sim().issued_secrets();
    secrets.push(IMAGE_KEY.to_owned());
    assert!(secrets.len() >= 4, "{secrets:?}");
    let outputs = team.outputs.join("\n");
    assert!(outputs.contains("TRACE"), "the CLI ran with trace logging");
    let mut files = Vec::new();
    if let Some(path) = db.url.strip_prefix("sqlite:") {
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                files.push(bytes);
            }
        }
        assert!(!files.is_empty());
    }
    for secret in &secrets {
        assert!(
            !outputs.contains(secret.as_str()),
            "a token in the CLI's output"
        );
        for bytes in &files {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a token in the database file"
            );
        }
    }
    rt.block_on(sim.shutdown()).unwrap();
}
