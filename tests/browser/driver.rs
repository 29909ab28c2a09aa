//! Headless Chromium over WebDriver: starts `chromedriver` on a free port
//! for a test, and opens browser sessions on it. Without chromedriver a
//! test is skipped with a notice, unless `ENVAGIN_BROWSER_TESTS=required`
//! (as in CI), when it fails.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Browser tests take turns: each runs one or two Chromiums, and the
/// machine may have only two cores.
pub static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn required() -> bool {
    std::env::var("ENVAGIN_BROWSER_TESTS").is_ok_and(|v| v.trim() == "required")
}

fn in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| in_path("chromedriver"))
}

fn chromium() -> Option<PathBuf> {
    std::env::var_os("CHROME_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        })
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver for one test, or `None` (with a notice) when it is not
/// installed and the browser tests are not required.
pub fn start(test: &str) -> Option<Driver> {
    let Some(path) = chromedriver() else {
        assert!(
            !required(),
            "ENVAGIN_BROWSER_TESTS=required, but chromedriver is not installed: \
             apt-get install chromium chromium-driver"
        );
        eprintln!(
            "NOTICE: browser test {test} skipped: chromedriver not found. Install the Debian \
             packages chromium and chromium-driver to run it (CI sets \
             ENVAGIN_BROWSER_TESTS=required, which makes a missing chromedriver fail)."
        );
        return None;
    };
    let port = free_port();
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_for_port(port, &path);
    Some(driver)
}

fn wait_for_port(port: u16, path: &Path) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} did not start listening on {port}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Driver {
    /// A new browser: headless Chromium with a fresh profile.
    pub async fn browser(&self) -> Client {
        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--window-size=1024,900",
        ];
        if running_as_root() {
            args.push("--no-sandbox");
        }
        let mut options = json!({ "args": args });
        if let Some(binary) = chromium() {
            options["binary"] = json!(binary.display().to_string());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let mut last_error = None;
        // A busy machine may be slow to bring up the first browser.
        for _ in 0..3 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return client,
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        panic!("cannot open a browser session: {last_error:?}");
    }
}
