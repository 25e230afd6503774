//! A `fhir-bridge serve` process for the end-to-end tests: start, restart, health, requests with
//! the development token, SIGKILL and SIGTERM, and the CLI on the same data dir.

#![allow(dead_code, reason = "each test uses a different subset of the helpers")]

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::{bin, dev_token_env, Run, DEV_TOKEN};

/// A free TCP port on 127.0.0.1 (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A running `fhir-bridge serve` (killed on drop if still running).
pub struct Bridge {
    child: Option<Child>,
    pub data: PathBuf,
    pub env: Vec<(String, String)>,
    /// Global options before `serve` (`--config FILE`).
    pub args: Vec<String>,
    pub port: u16,
    pub log: PathBuf,
}

impl Bridge {
    /// Starts `serve` on `data` with the environment `env` on a fresh port; its stderr is appended
    /// to `log`.
    /// It accepts the development token [`DEV_TOKEN`], which [`Bridge::get`] sends.
    pub fn start(data: &Path, env: &[(String, String)], log: &Path) -> Bridge {
        let mut env = env.to_vec();
        let (name, value) = dev_token_env();
        env.push((name.to_owned(), value));
        Bridge::start_with(data, &[], &env, log)
    }

    /// Starts `serve` with global options `args` and exactly the environment `env` (no
    /// development token).
    pub fn start_with(data: &Path, args: &[&str], env: &[(String, String)], log: &Path) -> Bridge {
        let mut bridge = Bridge {
            child: None,
            data: data.to_owned(),
            env: env.to_vec(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            port: free_port(),
            log: log.to_owned(),
        };
        bridge.spawn();
        bridge
    }

    fn spawn(&mut self) {
        let log = OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = Command::new(bin())
            .arg("--data-dir")
            .arg(&self.data)
            .args(&self.args)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        self.child = Some(child);
    }

    /// Starts it again (same data dir, environment and port) after it exited.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running bridge");
        self.spawn();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every ledger record so far, by seq, as JSON (through `/ledger/proof/{seq}`).
    pub fn ledger_records(&self) -> Vec<serde_json::Value> {
        let (_, head) = self.get("/ledger/head").expect("head");
        let size = serde_json::from_str::<serde_json::Value>(&head).expect("JSON")["tree_size"].as_u64().unwrap_or(0);
        (0..size)
            .map(|seq| {
                let (status, body) = self.get(&format!("/ledger/proof/{seq}")).expect("proof");
                assert_eq!(status, 200, "{body}");
                serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["record"].clone()
            })
            .collect()
    }

    /// `GET path`: status and body (any status; `None` when nothing answers).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let request = ureq::get(&format!("{}{path}", self.base()))
            .timeout(Duration::from_secs(10))
            .set("Authorization", &format!("Bearer {}", DEV_TOKEN));
        match request.call() {
            Ok(r) => Some((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
            Err(_) => None,
        }
    }

    /// `method path` with a FHIR JSON body and the development token: status and body.
    pub fn send(&self, method: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
        let request = ureq::request(method, &format!("{}{path}", self.base()))
            .timeout(Duration::from_secs(30))
            .set("Authorization", &format!("Bearer {DEV_TOKEN}"))
            .set("Content-Type", "application/fhir+json");
        match request.send_string(&body.to_string()) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// `method path` with a FHIR JSON body, the development token and `headers`: status and body.
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut request = ureq::request(method, &format!("{}{path}", self.base()))
            .timeout(Duration::from_secs(30))
            .set("Authorization", &format!("Bearer {DEV_TOKEN}"))
            .set("Content-Type", "application/fhir+json");
        for (name, value) in headers {
            request = request.set(name, value);
        }
        match request.send_string(&body.to_string()) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// `DELETE path` with the development token: status and body.
    pub fn delete(&self, path: &str) -> (u16, String) {
        let request = ureq::delete(&format!("{}{path}", self.base()))
            .timeout(Duration::from_secs(30))
            .set("Authorization", &format!("Bearer {DEV_TOKEN}"));
        match request.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
            Err(e) => panic!("DELETE {path}: {e}"),
        }
    }

    /// Panics when the process has exited.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.as_mut().expect("running").try_wait().expect("try_wait") {
            panic!("serve exited early ({status}):\n{}", tail(&self.log_text()));
        }
    }

    /// Waits until `/healthz` answers 200 (with Kafka: the broker reachable, topics created).
    #[track_caller]
    pub fn wait_healthy(&mut self, timeout: Duration) {
        let start = Instant::now();
        loop {
            self.assert_running();
            if matches!(self.get("/healthz"), Some((200, _))) {
                return;
            }
            assert!(start.elapsed() < timeout, "no healthy /healthz within {timeout:?}:\n{}", tail(&self.log_text()));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET /metrics`.
    pub fn metrics(&self) -> String {
        self.get("/metrics").map(|(_, body)| body).unwrap_or_default()
    }

    /// SIGKILL, and wait for the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// SIGTERM, and wait (up to `timeout`) for the exit status.
    #[track_caller]
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let term = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
        assert!(term.success());
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if start.elapsed() > timeout {
                child.kill().ok();
                child.wait().ok();
                panic!("serve did not exit within {timeout:?} of SIGTERM:\n{}", tail(&self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `fhir-bridge --data-dir DATA ARGS...` with this bridge's environment.
    pub fn command(&self, args: &[&str]) -> Run {
        bridge_env(&self.data, &self.env, args)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `fhir-bridge --data-dir DATA ARGS...` with extra environment, to completion.
pub fn bridge_env(data: &Path, env: &[(String, String)], args: &[&str]) -> Run {
    let output = Command::new(bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("cannot run fhir-bridge");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The last 6000 bytes of a log.
pub fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(6000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
