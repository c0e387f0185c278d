//! Local AWS emulator for integration tests: moto_server extended by
//! `tests/emulator/lunora_moto` (MediaConnect / MediaLive CloudFormation support).
//!
//! Every [`Emulator`] is its own `python3 tests/emulator/launch.py` process on a
//! free 127.0.0.1 port, so tests can run in parallel without sharing state. The
//! process is killed when the guard is dropped.
//!
//! Requirements: Python 3 with `pip install -r tests/emulator/requirements.txt`.
//! `LUNORA_PYTHON` selects the interpreter (default: `python3` from PATH).
//!
//! Use from a test binary with
//! `#[path = "common/emulator.rs"] mod emulator;` (or from `tests/common/mod.rs`).
#![allow(dead_code, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Region every emulator client uses.
pub const REGION: &str = "us-east-1";
/// Account id moto assigns to every resource.
pub const ACCOUNT_ID: &str = "123456789012";
/// Static credentials the emulator accepts.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

const INSTALL_HINT: &str = "pip install -r tests/emulator/requirements.txt";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
const MAX_LOG_BYTES: usize = 256 * 1024;

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    // Kept open: the launcher exits when its stdin closes (e.g. if the test
    // process dies without running Drop).
    _stdin: Option<ChildStdin>,
    endpoint: String,
    log: Arc<Mutex<String>>,
}

impl Emulator {
    /// Start an emulator, panicking with an actionable message if it cannot start.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(emulator) => emulator,
            Err(message) => panic!("{message}"),
        }
    }

    /// Start an emulator; `Err` carries a message naming the install command.
    pub fn try_start() -> Result<Self, String> {
        let python = std::env::var("LUNORA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let launcher = launcher_path();
        let mut child = Command::new(&python)
            .arg(&launcher)
            .arg("--port")
            .arg("0")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| {
                format!(
                    "cannot run `{python}` to start the AWS emulator ({err}). Install Python 3 and \
                     the emulator's dependencies with `{INSTALL_HINT}`, or point LUNORA_PYTHON at \
                     an interpreter that has them."
                )
            })?;

        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take();
        let stderr_done = {
            let log = Arc::clone(&log);
            let (done_tx, done_rx) = mpsc::channel::<()>();
            thread::spawn(move || {
                if let Some(stderr) = stderr {
                    drain(stderr, &log);
                }
                let _ = done_tx.send(());
            });
            done_rx
        };

        let stdout = child.stdout.take();
        let (line_tx, line_rx) = mpsc::channel::<Option<String>>();
        thread::spawn(move || {
            let Some(stdout) = stdout else {
                let _ = line_tx.send(None);
                return;
            };
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let got = matches!(reader.read_line(&mut first), Ok(n) if n > 0);
            let _ = line_tx.send(got.then(|| first.trim().to_owned()));
            // Keep draining so the launcher never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });

        let endpoint = match line_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(line)) if line.starts_with("http://127.0.0.1:") => line,
            outcome => {
                let _ = child.kill();
                let status = child.wait().ok();
                let _ = stderr_done.recv_timeout(Duration::from_secs(5));
                let what = match outcome {
                    Ok(Some(line)) => format!("printed {line:?} instead of an endpoint URL"),
                    Ok(None) => format!(
                        "exited before printing its endpoint ({})",
                        status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string())
                    ),
                    Err(_) => format!("did not print its endpoint within {STARTUP_TIMEOUT:?}"),
                };
                let stderr = log.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(format!(
                    "the AWS emulator (`{python} {}`) {what}.\n\
                     Install its dependencies with `{INSTALL_HINT}` (LUNORA_PYTHON selects the \
                     interpreter).\n--- emulator stderr ---\n{}",
                    launcher.display(),
                    tail(&stderr, 4000)
                ));
            }
        };
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            _stdin: stdin,
            endpoint,
            log,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// SDK config for the emulator: static test credentials, us-east-1, endpoint
    /// override, no retries, host environment and profiles ignored.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials = aws_sdk_cloudformation::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "lunora-emulator",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .empty_test_environment()
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint.clone())
            .credentials_provider(credentials)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// The AWS operations the emulator served since it started (or since
    /// [`Emulator::clear_requests`]), in order, as `(service, operation)`:
    /// recorded by `tests/emulator/lunora_moto/request_log.py`.
    pub fn requests(&self) -> Vec<(String, String)> {
        let body = self.request_log("GET");
        let value: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("request log: {e}: {body}"));
        value["requests"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|r| {
                        (
                            r["service"].as_str().unwrap_or_default().to_owned(),
                            r["operation"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many times `operation` was served.
    pub fn count(&self, operation: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(_, op)| op == operation)
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.request_log("DELETE");
    }

    /// Makes the next change set executed on `stack` leave it in
    /// `UPDATE_IN_PROGRESS` for good: a wait that never ends.
    pub fn make_stuck(&self, stack: &str) {
        self.control("POST", &format!("/lunora-api/stuck/{stack}"));
    }

    fn request_log(&self, method: &str) -> String {
        self.control(method, "/lunora-api/requests")
    }

    fn control(&self, method: &str, path: &str) -> String {
        self.control_with(method, path, "")
    }

    /// A request to the emulator's control API (`/lunora-api/...`) with a
    /// JSON body; returns the answer's body.
    #[allow(dead_code)]
    pub fn control_with(&self, method: &str, path: &str, body: &str) -> String {
        use std::io::Write as _;
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the emulator");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write to the emulator");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read the emulator's answer");
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }

    /// What the emulator wrote to stderr so far (moto warnings, tracebacks).
    pub fn log(&self) -> String {
        self.log.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let log = self.log();
            if !log.trim().is_empty() {
                eprintln!(
                    "--- emulator {} stderr ---\n{}",
                    self.endpoint,
                    tail(&log, 8000)
                );
            }
        }
    }
}

/// `tests/emulator/launch.py` of this crate.
pub fn launcher_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("emulator")
        .join("launch.py")
}

fn drain(mut stream: impl Read, log: &Mutex<String>) {
    let mut buf = [0_u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut log) = log.lock() {
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if log.len() > MAX_LOG_BYTES {
                        let cut = log.len() - MAX_LOG_BYTES / 2;
                        let cut = (cut..log.len())
                            .find(|&i| log.is_char_boundary(i))
                            .unwrap_or(log.len());
                        log.drain(..cut);
                    }
                }
            }
        }
    }
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
