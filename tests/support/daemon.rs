/*!
The daemon under test: the real `agent serve` on 127.0.0.1 with its own data dir, a client for
its routes with the token it made, and its SSE event streams read event by event.
*/

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{MockGlm, Reply, Sandbox, turn};

pub struct Daemon {
    pub child: tokio::process::Child,
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
    /// The review page's sign-in link the daemon printed.
    pub login_url: String,
}

impl Daemon {
    pub async fn start(sandbox: &Sandbox, mock: &MockGlm) -> Self {
        Self::start_with(sandbox, mock, &[]).await
    }

    pub async fn start_with(sandbox: &Sandbox, mock: &MockGlm, extra: &[&str]) -> Self {
        Self::start_at(sandbox, mock, "127.0.0.1:0", extra).await
    }

    /// A daemon listening on `listen` (a fixed port lets a page follow it across a restart).
    pub async fn start_at(sandbox: &Sandbox, mock: &MockGlm, listen: &str, extra: &[&str]) -> Self {
        Self::spawn(sandbox, sandbox.agent(mock), listen, extra).await
    }

    /// `command` (the agent, with its environment) run as `serve` on `listen` with `extra`
    /// flags and the sandbox's data dir.
    pub async fn spawn(
        sandbox: &Sandbox,
        mut command: tokio::process::Command,
        listen: &str,
        extra: &[&str],
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data_dir = sandbox.dir.path().join("daemon");
        command
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(&data_dir)
            .args(extra)
            .stdout(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut login_url = String::new();
        let url = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("the daemon did not start")
                .unwrap()
                .expect("the daemon exited");
            if let Some(url) = line.strip_prefix("agent serve: listening on ") {
                break url.to_string();
            }
            if let Some((_, url)) = line.split_once("sign-in link, good once): ") {
                login_url = url.to_string();
            }
        };
        // Whatever the daemon prints later must not meet a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let token = std::fs::read_to_string(data_dir.join("token")).unwrap();
        Self {
            child,
            url,
            token,
            http: reqwest::Client::new(),
            login_url,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
    }

    pub async fn create(&self, sandbox: &Sandbox, task: &str) -> String {
        let workspace = sandbox.workspace.canonicalize().unwrap();
        let created = self
            .create_with(json!({"workspace": workspace, "task": task, "approval": "ask"}))
            .await;
        created["id"].as_str().unwrap().to_string()
    }

    /// Answers the approval of the call `w1` (the edit the scripted model asks for).
    pub async fn answer_w1(&self, session: &str, decision: &str) -> reqwest::Response {
        self.post(
            &format!("/v1/sessions/{session}/approvals/w1"),
            json!({ "decision": decision }),
        )
        .send()
        .await
        .unwrap()
    }

    /// Answers the approval of `call` with `body` (`{decision, hunks?, reason?}`).
    pub async fn answer(&self, session: &str, call: &str, body: Value) -> reqwest::Response {
        self.post(&format!("/v1/sessions/{session}/approvals/{call}"), body)
            .send()
            .await
            .unwrap()
    }

    /// The session's pending approvals.
    pub async fn approvals(&self, session: &str) -> Value {
        self.get_json(&format!("/v1/sessions/{session}/approvals"))
            .await
    }

    /// The JSON a GET of `path` answers.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).send().await.unwrap().json().await.unwrap()
    }

    /// Creates a session on `task` and follows its events until it asks for approval.
    pub async fn create_asking(&self, sandbox: &Sandbox, task: &str) -> (String, Events) {
        let session = self.create(sandbox, task).await;
        let mut events = self.events(&session, None).await;
        events.until("approval_requested").await;
        (session, events)
    }

    /// Creates a session from `body` (the route's JSON); the session as created.
    pub async fn create_with(&self, body: Value) -> Value {
        let created = self.post("/v1/sessions", body).send().await.unwrap();
        assert_eq!(created.status(), 201);
        created.json().await.unwrap()
    }

    /// Stops the daemon with SIGTERM; its exit code.
    pub async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the daemon did not stop")
            .unwrap();
        status.code()
    }

    /// Stops the daemon with `kill -9`.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// Polls the session until it is in `state` (the state changes just after the last event).
    pub async fn wait_for_state(&self, id: &str, state: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.session(id).await["state"] != state {
            assert!(
                tokio::time::Instant::now() < deadline,
                "session {id} never became {state}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The session as the daemon lists it.
    pub async fn session(&self, id: &str) -> Value {
        self.get_json(&format!("/v1/sessions/{id}")).await
    }

    /// The pushed session list (`GET /v1/events`).
    pub async fn changes(&self) -> Events {
        let response = self.get("/v1/events").send().await.unwrap();
        assert_eq!(response.status(), 200);
        Events {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    pub async fn events(&self, session: &str, last_event_id: Option<u64>) -> Events {
        let mut request = self.get(&format!("/v1/sessions/{session}/events"));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Events {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }
}

pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// An SSE stream, read event by event.
pub struct Events {
    stream: ByteStream,
    buffer: String,
}

impl Events {
    /// The next named event (`event:` and `data:`), keep-alives skipped.
    pub async fn next_named(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let name = frame.lines().find_map(|line| line.strip_prefix("event: "));
                let data = frame.lines().find_map(|line| line.strip_prefix("data: "));
                if let (Some(name), Some(data)) = (name, data) {
                    return (name.to_string(), serde_json::from_str(data).unwrap());
                }
                continue;
            }
            self.read_more().await;
        }
    }

    async fn read_more(&mut self) {
        let chunk = tokio::time::timeout(Duration::from_secs(60), self.stream.next())
            .await
            .expect("no event came")
            .expect("the stream ended")
            .unwrap();
        self.buffer.push_str(&String::from_utf8_lossy(&chunk));
    }

    pub async fn next(&mut self) -> (u64, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let id = frame
                    .lines()
                    .find_map(|line| line.strip_prefix("id: "))
                    .map(|id| id.parse().unwrap());
                let data = frame.lines().find_map(|line| line.strip_prefix("data: "));
                if let (Some(id), Some(data)) = (id, data) {
                    return (id, serde_json::from_str(data).unwrap());
                }
                continue;
            }
            self.read_more().await;
        }
    }

    /// Reads until an event of `kind`; returns every event read, that one last.
    pub async fn until(&mut self, kind: &str) -> Vec<(u64, Value)> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = event.1["type"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

pub fn write_then_answer() -> Vec<Reply> {
    vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"new\n"}"#)
            .reply(),
        turn().content("Written.").reply(),
    ]
}
