/*!
Test support: an in-process mock GLM server that speaks the streaming chat-completions format and
plays a script of replies (streams, HTTP errors, cut streams, garbage, stalls), recording every
request; and a helper that runs the real `agent` binary against it in a temp workspace.
*/
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod daemon;
pub mod npm;
pub mod terminal;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

pub const API_KEY: &str = "test-secret-key-0123456789";

/// One scripted answer of the mock server.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete stream: these `data:` payloads, then `data: [DONE]`.
    Stream(Vec<String>),
    /// An HTTP error with a GLM error body.
    Error {
        status: u16,
        code: &'static str,
        retry_after: Option<&'static str>,
    },
    /// These payloads, then the connection ends without `[DONE]`.
    Cut(Vec<String>),
    /// A payload that is not JSON, in an otherwise normal stream.
    Garbage,
    /// These payloads, then silence forever.
    Stall(Vec<String>),
    /// An answer given byte for byte: a non-JSON error page, a numeric error code, a recorded
    /// stream of another server.
    Raw {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: String,
    },
}

/// Builds the chunks of one assistant turn, as GLM streams them.
#[derive(Debug, Default, Clone)]
pub struct TurnBuilder {
    reasoning: Vec<String>,
    content: Vec<String>,
    calls: Vec<(String, String, String)>,
    split: usize,
    usage: (u64, u64, u64),
    /// Overrides the finish reason (`stop` or `tool_calls` by default).
    finish: Option<String>,
}

pub fn turn() -> TurnBuilder {
    TurnBuilder {
        split: 1,
        usage: (100, 10, 0),
        ..TurnBuilder::default()
    }
}

impl TurnBuilder {
    pub fn reasoning(mut self, text: &str) -> Self {
        self.reasoning.push(text.to_string());
        self
    }
    pub fn content(mut self, text: &str) -> Self {
        self.content.push(text.to_string());
        self
    }
    pub fn call(mut self, id: &str, name: &str, arguments: &str) -> Self {
        self.calls
            .push((id.to_string(), name.to_string(), arguments.to_string()));
        self
    }
    /// Streams each call's arguments in this many pieces (tool_stream style).
    pub fn split_arguments(mut self, pieces: usize) -> Self {
        self.split = pieces.max(1);
        self
    }
    pub fn finish_reason(mut self, reason: &str) -> Self {
        self.finish = Some(reason.to_string());
        self
    }
    pub fn usage(mut self, prompt: u64, completion: u64, cached: u64) -> Self {
        self.usage = (prompt, completion, cached);
        self
    }

    pub fn chunks(&self) -> Vec<String> {
        let mut chunks = Vec::new();
        let delta = |delta: Value| {
            json!({"id": "chatcmpl-1", "created": 1, "model": "glm-4.7-flash", "choices": [{"index": 0, "delta": delta}]}).to_string()
        };
        for text in &self.reasoning {
            chunks.push(delta(
                json!({"role": "assistant", "reasoning_content": text}),
            ));
        }
        for text in &self.content {
            chunks.push(delta(json!({"role": "assistant", "content": text})));
        }
        for (index, (id, name, arguments)) in self.calls.iter().enumerate() {
            let pieces = split_in(arguments, self.split);
            chunks.push(delta(json!({"role": "assistant", "tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": pieces[0]}}]})));
            for piece in &pieces[1..] {
                chunks.push(delta(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                ));
            }
        }
        let finish = match (&self.finish, self.calls.is_empty()) {
            (Some(reason), _) => reason.as_str(),
            (None, true) => "stop",
            (None, false) => "tool_calls",
        };
        let (prompt, completion, cached) = self.usage;
        chunks.push(json!({
            "id": "chatcmpl-1", "created": 1, "model": "glm-4.7-flash",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}
        }).to_string());
        chunks
    }

    pub fn reply(&self) -> Reply {
        Reply::Stream(self.chunks())
    }
}

fn split_in(text: &str, pieces: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(pieces).max(1);
    let mut out: Vec<String> = chars
        .chunks(size)
        .map(|chunk| chunk.iter().collect())
        .collect();
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// A marker and the replies for requests whose task contains it.
type Route = (String, VecDeque<Reply>);

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Scripts chosen by a marker in the request's task (the first user message), for
    /// concurrent sessions such as batch tasks.
    routes: Arc<Mutex<Vec<Route>>>,
    /// Waited before each answer.
    latency: Duration,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// When each answer was sent (its last byte: the whole stream is sent at once), with the
    /// task of the request it answered.
    answered: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    /// JSON answered to other requests, by path (a server's `/props`, `/v1/models`).
    info: Arc<Mutex<Vec<(String, Value)>>>,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub body: Value,
    pub raw: String,
    pub authorization: String,
    pub headers: HeaderMap,
}

pub struct MockGlm {
    pub url: String,
    shared: Shared,
}

impl MockGlm {
    pub async fn start(script: Vec<Reply>) -> Self {
        Self::serve(script, Vec::new(), Duration::ZERO).await
    }

    /// A server whose replies are picked by the marker the request's task contains.
    pub async fn routed(routes: Vec<(String, Vec<Reply>)>, latency: Duration) -> Self {
        Self::serve(Vec::new(), routes, latency).await
    }

    async fn serve(
        script: Vec<Reply>,
        routes: Vec<(String, Vec<Reply>)>,
        latency: Duration,
    ) -> Self {
        let routes = routes
            .into_iter()
            .map(|(marker, replies)| (marker, VecDeque::from(replies)))
            .collect();
        let shared = Shared {
            script: Arc::new(Mutex::new(script.into())),
            routes: Arc::new(Mutex::new(routes)),
            latency,
            requests: Arc::new(Mutex::new(Vec::new())),
            answered: Arc::new(Mutex::new(Vec::new())),
            info: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .route("/v4/chat/completions", axum::routing::post(handle))
            .fallback(info)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{address}/v4"),
            shared,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// When each answer was sent, with the task it answered, in order.
    pub fn answered(&self) -> Vec<(String, std::time::Instant)> {
        self.shared.answered.lock().unwrap().clone()
    }

    /// The tasks (first user messages) of all requests so far.
    pub fn tasks_asked(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|request| first_user_message(&request.body))
            .collect()
    }

    pub fn remaining(&self) -> usize {
        self.shared.script.lock().unwrap().len()
    }

    /// Answers requests for `path` (e.g. `/props`) with `json` from now on.
    pub fn serve_info(&self, path: &str, json: Value) {
        self.shared
            .info
            .lock()
            .unwrap()
            .push((path.to_string(), json));
    }
}

async fn info(State(shared): State<Shared>, uri: axum::http::Uri) -> Response {
    let found = shared
        .info
        .lock()
        .unwrap()
        .iter()
        .find(|(path, _)| path == uri.path())
        .map(|(_, json)| json.to_string());
    match found {
        Some(json) => Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(json))
            .unwrap(),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .unwrap(),
    }
}

/// A file of `tests/fixtures/`, as text.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A stream recorded from another server, replayed byte for byte.
pub fn recorded_stream(name: &str) -> Reply {
    Reply::Raw {
        status: 200,
        headers: vec![("content-type", "text/event-stream")],
        body: fixture(name),
    }
}

async fn handle(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let parsed = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let task = first_user_message(&parsed);
    shared.requests.lock().unwrap().push(Recorded {
        body: parsed,
        raw,
        authorization,
        headers,
    });
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let routed = {
        let mut routes = shared.routes.lock().unwrap();
        routes
            .iter_mut()
            .find(|(marker, _)| task.contains(marker.as_str()))
            .map(|(_, replies)| replies.pop_front())
    };
    let reply = match routed {
        Some(reply) => reply,
        None => shared.script.lock().unwrap().pop_front(),
    };
    shared
        .answered
        .lock()
        .unwrap()
        .push((task, std::time::Instant::now()));
    match reply {
        None => error_response(500, "9999", None, "mock script exhausted"),
        Some(Reply::Error {
            status,
            code,
            retry_after,
        }) => error_response(status, code, retry_after, "scripted error"),
        Some(Reply::Stream(chunks)) => sse(chunks, Ending::Done),
        Some(Reply::Cut(chunks)) => sse(chunks, Ending::Cut),
        Some(Reply::Garbage) => sse(vec!["{not json".to_string()], Ending::Done),
        Some(Reply::Stall(chunks)) => sse(chunks, Ending::Stall),
        Some(Reply::Raw {
            status,
            headers,
            body,
        }) => {
            let mut builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder.body(Body::from(body)).unwrap()
        }
    }
}

/// The first user message of a request as the user wrote it: the task, without the workspace
/// context it opens with.
fn first_user_message(body: &Value) -> String {
    let whole = whole_first_user_message(body);
    match whole.rsplit_once("\n\n# Task\n\n") {
        Some((_, task)) if whole.starts_with("# Context\n\n") => task.to_string(),
        _ => whole,
    }
}

/// The workspace context a request's first user message opens with ("" when there is none).
pub fn context_of(body: &Value) -> String {
    let whole = whole_first_user_message(body);
    whole
        .strip_prefix("# Context\n\n")
        .and_then(|rest| rest.rsplit_once("\n\n# Task\n\n"))
        .map(|(context, _)| context.to_string())
        .unwrap_or_default()
}

fn whole_first_user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|messages| messages.iter().find(|message| message["role"] == "user"))
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn error_response(status: u16, code: &str, retry_after: Option<&str>, message: &str) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json");
    if let Some(retry_after) = retry_after {
        builder = builder.header("retry-after", retry_after);
    }
    builder
        .body(Body::from(
            json!({"error": {"code": code, "message": message}}).to_string(),
        ))
        .unwrap()
}

enum Ending {
    Done,
    Cut,
    Stall,
}

fn sse(chunks: Vec<String>, ending: Ending) -> Response {
    let mut frames: Vec<Result<Bytes, std::io::Error>> = chunks
        .into_iter()
        .map(|chunk| Ok(Bytes::from(format!("data: {chunk}\n\n"))))
        .collect();
    if matches!(ending, Ending::Done) {
        frames.push(Ok(Bytes::from("data: [DONE]\n\n")));
    }
    let head = futures_util::stream::iter(frames);
    let body = match ending {
        Ending::Done | Ending::Cut => Body::from_stream(head),
        Ending::Stall => {
            use futures_util::StreamExt;
            Body::from_stream(head.chain(futures_util::stream::pending()))
        }
    };
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(body)
        .unwrap()
}

/// A temp workspace (a git repository) plus a home and a sessions dir of its own.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub workspace: PathBuf,
    pub home: PathBuf,
}

impl Sandbox {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("repo");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        for (path, content) in files {
            let full = workspace.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        init_repository(&workspace);
        Self {
            dir,
            workspace,
            home,
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.workspace.join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    /// Writes the user's config file (under the sandbox's home).
    pub fn user_config(&self, text: &str) {
        let dir = self.home.join(".config/agent");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }

    /// The `agent` command with a clean environment pointing at `mock`.
    pub fn agent(&self, mock: &MockGlm) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent"));
        command
            .current_dir(&self.workspace)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AGENT_API_KEY", API_KEY)
            .env("AGENT_BASE_URL", &mock.url)
            .env("AGENT_SESSIONS_DIR", self.sessions_dir())
            .env("AGENT_RETRY_BASE_MS", "10")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Every transcript line of every session (not the edit journals or saved patches).
    /// The real binary run with `args` against `mock`, to its end.
    pub async fn agent_to_end(&self, mock: &MockGlm, args: &[&str]) -> Finished {
        let mut command = self.agent(mock);
        command.args(args);
        finish(command).await
    }

    pub fn transcript_events(&self) -> Vec<Value> {
        let mut events = Vec::new();
        let transcripts = walk(&self.sessions_dir()).into_iter().filter(|file| {
            let name = file.to_string_lossy();
            name.ends_with(".jsonl") && !name.ends_with(".edits.jsonl")
        });
        for file in transcripts {
            let text = std::fs::read_to_string(file).unwrap();
            events.extend(
                text.lines()
                    .map(|line| serde_json::from_str::<Value>(line).unwrap()),
            );
        }
        events
    }
}

/// A user config with a PreToolUse hook that blocks every `run_command` call, saying
/// [`NO_COMMANDS`].
pub const BLOCKING_HOOK: &str = "[[hooks.PreToolUse]]\nmatcher = \"run_command\"\ncommand = \"echo 'no commands here' >&2; exit 2\"\n";

/// What the model is told of a call [`BLOCKING_HOOK`] blocked.
pub const NO_COMMANDS: &str =
    "a PreToolUse hook of the user blocked this call; it was not run: no commands here";

/// A turn making a file with a command, then an answer.
pub fn command_then_answer() -> Vec<Reply> {
    vec![
        turn()
            .call("c1", "run_command", r#"{"command":"touch made.txt"}"#)
            .reply(),
        turn().content("done").reply(),
    ]
}

/// The file called `name` somewhere under `dir`.
pub fn find_file(dir: &Path, name: &str) -> PathBuf {
    walk(dir)
        .into_iter()
        .find(|path| path.file_name().is_some_and(|file| file == name))
        .unwrap_or_else(|| panic!("no {name} under {}", dir.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the command to its end (a generous guard, not a sleep: a hung agent fails the test).
pub async fn finish(mut command: tokio::process::Command) -> Finished {
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("agent did not finish")
        .unwrap();
    Finished {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The `tool` messages of a request, as (tool_call_id, content).
pub fn tool_messages(request: &Recorded) -> Vec<(String, String)> {
    request.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["role"] == "tool")
        .map(|message| {
            (
                message["tool_call_id"].as_str().unwrap().to_string(),
                message["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The content of the tool message answering `id` in the last request.
pub fn tool_result(requests: &[Recorded], id: &str) -> String {
    let last = requests.last().unwrap();
    tool_messages(last)
        .into_iter()
        .find(|(call, _)| call == id)
        .map(|(_, content)| content)
        .unwrap_or_else(|| panic!("no tool message for {id}"))
}

/// `agent run TASK` against `mock` speaking as a local `openai` server (no key, calls may come
/// as text).
pub fn local_agent(sandbox: &Sandbox, mock: &MockGlm, task: &str) -> tokio::process::Command {
    let mut command = sandbox.agent(mock);
    command.env_remove("AGENT_API_KEY").args([
        "run",
        "--provider-kind",
        "openai",
        "--model",
        "qwen2.5-coder-1.5b",
        task,
    ]);
    command
}

/// The names of the tools a request offered, in order.
pub fn tool_names(request: &Recorded) -> Vec<String> {
    request.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Fails if a process whose command line contains `marker` is still running.
pub fn assert_no_process(marker: &str) {
    let left = std::process::Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&left.stdout),
        "",
        "processes left behind: {marker}"
    );
}

/// Makes `dir` a git repository with everything in it committed.
pub fn init_repository(dir: &Path) {
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init", "--allow-empty"]);
}

/// Thirty numbered lines, with line 2 and line 25 changed when `changed`: an edit of two hunks.
pub fn numbered(changed: bool) -> String {
    (1..=30)
        .map(|line| match (changed, line) {
            (true, 2) => "line two\n".to_string(),
            (true, 25) => "line twenty-five\n".to_string(),
            _ => format!("line {line}\n"),
        })
        .collect()
}
