//! A small WebDriver client (the W3C protocol over HTTP, with reqwest) and a Chromium session through
//! Debian's `chromedriver`, for driving the dashboard like a person does. `install-chromium` (next to
//! this crate's manifest) installs both.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running `chromedriver`, stopped when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

impl Driver {
    /// Starts `chromedriver` on a free port and waits until it answers.
    ///
    /// # Panics
    /// When Chromium or chromedriver is missing, saying how to install them.
    pub async fn start() -> Driver {
        let install = concat!(env!("CARGO_MANIFEST_DIR"), "/install-chromium");
        let driver = find_program(&["chromedriver"]).unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed: run {install} (Debian: chromium chromium-driver)"
            )
        });
        assert!(
            chromium().is_some(),
            "chromium is not installed: run {install}"
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address").port()
        };
        let mut command = Command::new(driver);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the driver also ends the browsers it started, even
        // when a failing test never closed its window.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("start chromedriver");
        let d = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{}/status", d.url)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            // `--` so that the negative number is read as a process group, never as an option.
            .args(["-s", "TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Chromium binary, if installed.
pub fn chromium() -> Option<PathBuf> {
    find_program(&["chromium", "chromium-browser", "google-chrome"])
}

/// An element on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// One browser window, driven over WebDriver.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    session: String,
    /// Where screenshots go.
    pub shots: PathBuf,
}

impl Browser {
    /// Opens a headless Chromium window of `width` × `height`.
    pub async fn open(driver: &Driver, width: u32, height: u32, shots: &Path) -> Browser {
        let http = reqwest::Client::new();
        let binary = chromium().expect("chromium").display().to_string();
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--hide-scrollbars", "--force-device-scale-factor=1",
                        format!("--window-size={width},{height}"),
                    ]
                }
            }}
        });
        let resp: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_owned();
        std::fs::create_dir_all(shots).expect("screenshot folder");
        Browser {
            http,
            session: format!("{}/session/{session}", driver.url),
            shots: shots.to_path_buf(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        } else {
            req = req.json(&json!({}));
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver JSON");
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The address shown.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, waiting up to 5 s for it.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let resp: Value = self
                .http
                .post(format!("{}/element", self.session))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("webdriver")
                .json()
                .await
                .expect("JSON");
            if let Some(id) = resp["value"][ELEMENT].as_str() {
                return Element(id.to_owned());
            }
            if Instant::now() > deadline {
                let text = self.text("body").await;
                panic!("no element {css} on {}:\n{text}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many elements match a CSS selector, now.
    pub async fn count(&self, css: &str) -> usize {
        self.call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    /// Clicks an element.
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            None,
        )
        .await;
    }

    /// Clicks something that loads a new page (a link, a form's button) and waits for that page.
    pub async fn click_and_wait(&self, css: &str) {
        self.execute("window.__nfxOld = true;", json!([])).await;
        self.click(css).await;
        self.wait_for_new_page().await;
    }

    /// Replaces an input's value by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            None,
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Chooses a file in a file input (several, separated by newlines).
    pub async fn choose_files(&self, css: &str, paths: &[&Path]) {
        let e = self.find(css).await;
        let text = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs JavaScript in the page (WebDriver's own channel, not the page's CSP).
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs JavaScript, answering `None` when the page is between documents (navigating).
    pub async fn try_execute(&self, script: &str, args: Value) -> Option<Value> {
        let v: Value = self
            .http
            .post(format!("{}/execute/sync", self.session))
            .json(&json!({"script": script, "args": args}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["value"]["error"].is_null().then(|| v["value"].clone())
    }

    /// Waits until the window shows a new, loaded document (after a script submitted a form).
    pub async fn wait_for_new_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let fresh = self
                .try_execute(
                    "return window.__nfxOld === undefined && document.readyState === 'complete';",
                    json!([]),
                )
                .await;
            if fresh == Some(Value::Bool(true)) {
                return;
            }
            assert!(Instant::now() < deadline, "no new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the window as `<shots>/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Closes the window.
    pub async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}
