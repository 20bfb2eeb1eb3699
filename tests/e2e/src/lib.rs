//! Helpers for the end-to-end tests: find the built binaries, run the CLI, start the server.
//!
//! The binaries must be built before the tests run (`cargo build --bins`; `tests/run` does it), because
//! a test crate cannot ask Cargo for another package's executables.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The folder holding the workspace's built executables (next to the test binary's `deps/` folder).
/// A loopback port free right now, for a server that must know its own address before it starts (the
/// public media URL the simulator pulls slides from names it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port()
}

pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    dir.to_path_buf()
}

/// The path of a built executable, checked to exist.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --bins` first (tests/run does)",
        path.display()
    );
    path
}

/// What one CLI run did.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// The error code printed on standard error (`error[code]: ...`).
    pub fn error_code(&self) -> Option<String> {
        let start = self.stderr.find("error[")? + 6;
        let end = self.stderr[start..].find(']')? + start;
        Some(self.stderr[start..end].to_owned())
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A CLI bound to one database and working folder.
#[derive(Debug, Clone)]
pub struct Cli {
    /// Database URL passed with `--db`.
    pub db: String,
    /// Working folder.
    pub cwd: PathBuf,
}

impl Cli {
    /// Runs `natronfx --db DB ARGS...`, feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write as _;
        let mut child = Command::new(bin("natronfx"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(&self.cwd)
            .env_remove("NATRONFX_AS")
            .env_remove("NATRONFX_CONFIG")
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
            .expect("write stdin");
        child.wait_with_output().expect("natronfx ran").into()
    }

    /// Runs `natronfx --db DB ARGS...`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs as a user: `natronfx --db DB --as EMAIL ARGS...`.
    pub fn as_user(&self, email: &str, args: &[&str]) -> Run {
        let mut all = vec!["--as", email];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

/// A running `natronfx-server` child process.
#[derive(Debug)]
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Everything it printed on stdout up to the listening line.
    pub banner: String,
}

impl Server {
    /// Starts `natronfx-server ARGS...` in `cwd` and waits for its "listening on" line.
    pub fn start(cwd: &Path, args: &[&str]) -> Server {
        Server::start_bin("natronfx-server", cwd, args)
    }

    /// Starts any of the binaries (`natronfx sim ...` too) and waits for its "listening on" line.
    pub fn start_bin(name: &str, cwd: &Path, args: &[&str]) -> Server {
        Server::start_bin_with_env(name, cwd, args, &[])
    }

    /// [`Server::start_bin`] with extra environment variables (configuration as `NATRONFX_SECTION__KEY`).
    pub fn start_bin_with_env(
        name: &str,
        cwd: &Path,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Server {
        use std::io::BufRead as _;
        let mut child = Command::new(bin(name))
            .args(args)
            .current_dir(cwd)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start natronfx-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut banner = String::new();
        let base_url = loop {
            let line = lines
                .next()
                .expect("server printed where it listens")
                .expect("read stdout");
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .expect("an address")
                    .to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base_url,
            banner,
        }
    }

    /// Kills the process with SIGKILL, as a crash or an out-of-memory kill would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success());
        self.child.wait().expect("server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
