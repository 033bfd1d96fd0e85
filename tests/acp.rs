//! `agent acp` driven over its stdin/stdout as an editor drives it, line by line of JSON-RPC,
//! against the mock GLM server: initialize, session/new, prompts that stream updates, permission
//! requests answered allow / reject / always, cancel during the stream and during a pending
//! permission, set_mode, session/load replaying the conversation, bad input answered with errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::{MockGlm, Reply, Sandbox, turn};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How the test answers the agent's permission requests.
#[derive(Debug, Clone, Copy)]
enum Permit {
    Allow,
    AllowAlways,
    Reject,
    /// Leave the request unanswered.
    Ignore,
}

struct Editor {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    permit: Permit,
    /// Every `session/update` seen so far.
    updates: Vec<Value>,
    /// Every permission request seen so far.
    permission_requests: Vec<Value>,
    /// With fs capabilities: the texts the editor holds, by path; writes land here.
    buffers: Option<std::collections::HashMap<String, String>>,
}

impl Editor {
    async fn start(sandbox: &Sandbox, mock: &MockGlm) -> Self {
        Self::start_with(sandbox, mock, None).await
    }

    /// An editor that offers `fs/read_text_file` and `fs/write_text_file` over `buffers`.
    async fn start_with(
        sandbox: &Sandbox,
        mock: &MockGlm,
        buffers: Option<std::collections::HashMap<String, String>>,
    ) -> Self {
        let mut command = sandbox.agent(mock);
        command
            .arg("acp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut editor = Self {
            _child: child,
            stdin,
            lines,
            next_id: 1,
            permit: Permit::Allow,
            updates: Vec::new(),
            permission_requests: Vec::new(),
            buffers,
        };
        let fs = editor.buffers.is_some();
        let capabilities = json!({"fs": {"readTextFile": fs, "writeTextFile": fs}});
        let init = editor
            .request(
                "initialize",
                json!({"protocolVersion": 1, "clientCapabilities": capabilities}),
            )
            .await;
        assert_eq!(init["result"]["protocolVersion"], 1, "{init}");
        editor
    }

    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
    }

    /// Sends a request and reads until its response, answering permission requests meanwhile.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.until(|message| message["id"] == id && message.get("method").is_none())
            .await
    }

    /// Reads messages until one satisfies `done` (a generous guard, not a sleep).
    async fn until(&mut self, done: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(60), self.lines.next_line())
                .await
                .expect("the agent went quiet")
                .unwrap()
                .expect("the agent closed stdout");
            let message: Value = serde_json::from_str(&line).unwrap();
            if done(&message) {
                return message;
            }
            match message["method"].as_str() {
                Some("session/update") => self.updates.push(message["params"]["update"].clone()),
                Some("session/request_permission") => {
                    self.permission_requests.push(message["params"].clone());
                    self.answer_permission(&message).await;
                }
                Some("fs/read_text_file") => self.answer_read(&message).await,
                Some("fs/write_text_file") => self.answer_write(&message).await,
                _ => {}
            }
        }
    }

    async fn answer_read(&mut self, request: &Value) {
        let path = request["params"]["path"].as_str().unwrap();
        let held = self.buffers.as_ref().unwrap().get(path).cloned();
        let answer = match held {
            Some(text) => {
                json!({"jsonrpc": "2.0", "id": request["id"], "result": {"content": text}})
            }
            None => {
                json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32002, "message": "not found"}})
            }
        };
        self.send(&answer).await;
    }

    async fn answer_write(&mut self, request: &Value) {
        let params = &request["params"];
        if params["path"].as_str().unwrap().ends_with("locked.txt") {
            let refusal = json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32603, "message": "read-only buffer"}});
            return self.send(&refusal).await;
        }
        self.buffers.as_mut().unwrap().insert(
            params["path"].as_str().unwrap().to_string(),
            params["content"].as_str().unwrap().to_string(),
        );
        self.send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": {}}))
            .await;
    }

    async fn answer_permission(&mut self, request: &Value) {
        let option = match self.permit {
            Permit::Allow => "allow_once",
            Permit::AllowAlways => "allow_always",
            Permit::Reject => "reject_once",
            Permit::Ignore => return,
        };
        let answer = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"outcome": {"outcome": "selected", "optionId": option}}});
        self.send(&answer).await;
    }

    async fn new_session(&mut self, sandbox: &Sandbox) -> String {
        let cwd = sandbox.workspace.canonicalize().unwrap();
        let created = self
            .request("session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await;
        created["result"]["sessionId"].as_str().unwrap().to_string()
    }

    async fn prompt(&mut self, session: &str, text: &str) -> Value {
        self.request(
            "session/prompt",
            json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]}),
        )
        .await
    }

    fn updates_of_kind(&self, kind: &str) -> Vec<&Value> {
        self.updates
            .iter()
            .filter(|update| update["sessionUpdate"] == kind)
            .collect()
    }
}

fn edit_then_answer() -> Vec<Reply> {
    vec![
        turn()
            .reasoning("I should write it.")
            .call("w1", "write_file", r#"{"path":"a.txt","content":"new\n"}"#)
            .reply(),
        turn().content("Written.").reply(),
    ]
}

#[tokio::test]
async fn a_prompt_streams_thoughts_calls_and_an_allowed_edit() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(edit_then_answer()).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "rewrite a.txt").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    assert_eq!(sandbox.read("a.txt"), "new\n");
    let thoughts = editor.updates_of_kind("agent_thought_chunk");
    assert_eq!(thoughts[0]["content"]["text"], "I should write it.");
    let call = editor.updates_of_kind("tool_call")[0].clone();
    assert_eq!(call["toolCallId"], "w1");
    assert_eq!(call["kind"], "edit");
    assert_eq!(call["locations"], json!([{"path": "a.txt"}]));
    let asked = &editor.permission_requests[0];
    assert_eq!(asked["toolCall"]["content"][0]["type"], "diff");
    assert_eq!(asked["toolCall"]["content"][0]["oldText"], "old\n");
    assert_eq!(asked["toolCall"]["content"][0]["newText"], "new\n");
    let kinds: Vec<&str> = asked["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["allow_once", "allow_always", "reject_once", "reject_always"]
    );
    let result = editor.updates_of_kind("tool_call_update");
    let shown = result[0]["content"][0]["content"]["text"].as_str().unwrap();
    assert!(
        shown.starts_with("```diff\n--- a/a.txt\n+++ b/a.txt\n"),
        "{shown}"
    );
    assert_eq!(result.last().unwrap()["status"], "completed");
    let message = editor.updates_of_kind("agent_message_chunk");
    assert_eq!(message[0]["content"]["text"], "Written.");
}

#[tokio::test]
async fn a_rejected_edit_changes_nothing_and_a_second_prompt_continues() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = edit_then_answer();
    replies.push(turn().content("Understood.").reply());
    let mock = MockGlm::start(replies).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    editor.permit = Permit::Reject;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "rewrite a.txt").await;
    assert_eq!(done["result"]["stopReason"], "end_turn");
    assert_eq!(sandbox.read("a.txt"), "old\n");
    let second = editor.prompt(&session, "never mind").await;
    assert_eq!(second["result"]["stopReason"], "end_turn");
    let requests = mock.requests();
    let before = requests[1].body["messages"].as_array().unwrap().clone();
    let after = requests[2].body["messages"].as_array().unwrap().clone();
    assert_eq!(
        after[..before.len()],
        before[..],
        "the same conversation, extended"
    );
    assert_eq!(after.last().unwrap()["content"], "never mind");
}

#[tokio::test]
async fn allow_always_asks_once_and_modes_switch() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"1\n"}"#)
            .call("w2", "write_file", r#"{"path":"b.txt","content":"2\n"}"#)
            .reply(),
        turn().content("done").reply(),
        turn()
            .call("c1", "run_command", r#"{"command":"echo hi > c.txt"}"#)
            .reply(),
        turn().content("ran").reply(),
    ])
    .await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    editor.permit = Permit::AllowAlways;
    let session = editor.new_session(&sandbox).await;
    editor.prompt(&session, "write two files").await;
    assert_eq!(editor.permission_requests.len(), 1);
    assert_eq!(
        (sandbox.read("a.txt"), sandbox.read("b.txt")),
        ("1\n".into(), "2\n".into())
    );
    let switched = editor
        .request(
            "session/set_mode",
            json!({"sessionId": session, "modeId": "all"}),
        )
        .await;
    assert!(switched.get("error").is_none(), "{switched}");
    editor.permit = Permit::Reject;
    editor.prompt(&session, "run it").await;
    assert_eq!(editor.permission_requests.len(), 1, "mode all asks nothing");
    assert_eq!(sandbox.read("c.txt"), "hi\n");
}

#[tokio::test]
async fn cancel_during_a_pending_permission_applies_nothing() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(edit_then_answer()).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    editor.permit = Permit::Ignore;
    let session = editor.new_session(&sandbox).await;
    let id = editor.next_id;
    editor.next_id += 1;
    editor
        .send(&json!({"jsonrpc": "2.0", "id": id, "method": "session/prompt", "params": {"sessionId": session, "prompt": [{"type": "text", "text": "rewrite"}]}}))
        .await;
    editor
        .until(|message| message["method"] == "session/request_permission")
        .await;
    editor
        .send(&json!({"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": session}}))
        .await;
    let done = editor.until(|message| message["id"] == id).await;
    assert_eq!(done["result"]["stopReason"], "cancelled", "{done}");
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

#[tokio::test]
async fn cancel_during_the_stream_stops_at_once() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![Reply::Stall(
        turn().reasoning("thinking...").chunks()[..1].to_vec(),
    )])
    .await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let id = editor.next_id;
    editor.next_id += 1;
    editor
        .send(&json!({"jsonrpc": "2.0", "id": id, "method": "session/prompt", "params": {"sessionId": session, "prompt": [{"type": "text", "text": "think"}]}}))
        .await;
    editor
        .until(|message| message["params"]["update"]["sessionUpdate"] == "agent_thought_chunk")
        .await;
    editor
        .send(&json!({"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": session}}))
        .await;
    let done = editor.until(|message| message["id"] == id).await;
    assert_eq!(done["result"]["stopReason"], "cancelled", "{done}");
}

/// A session one editor ran a prompt in, reopened by a second editor with `method`: the
/// session id, the second editor and its answer.
async fn reopened(sandbox: &Sandbox, mock: &MockGlm, method: &str) -> (String, Editor, Value) {
    let mut first = Editor::start(sandbox, mock).await;
    let session = first.new_session(sandbox).await;
    first.prompt(&session, "rewrite a.txt").await;
    drop(first);
    let mut second = Editor::start(sandbox, mock).await;
    let cwd = sandbox.workspace.canonicalize().unwrap();
    let answer = second
        .request(
            method,
            json!({"sessionId": session, "cwd": cwd, "mcpServers": []}),
        )
        .await;
    (session, second, answer)
}

#[tokio::test]
async fn load_replays_the_conversation_and_takes_prompts() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = edit_then_answer();
    replies.push(turn().content("Still here.").reply());
    let mock = MockGlm::start(replies).await;
    let (session, mut second, loaded) = reopened(&sandbox, &mock, "session/load").await;
    assert!(loaded.get("error").is_none(), "{loaded}");
    let kinds: Vec<&str> = second
        .updates
        .iter()
        .map(|update| update["sessionUpdate"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_message_chunk",
            "agent_thought_chunk",
            "tool_call",
            "tool_call_update",
            "agent_message_chunk"
        ]
    );
    let done = second.prompt(&session, "still there?").await;
    assert_eq!(done["result"]["stopReason"], "end_turn");
    let requests = mock.requests();
    let before = requests[1].body["messages"].as_array().unwrap().clone();
    let after = requests[2].body["messages"].as_array().unwrap().clone();
    assert_eq!(after[..before.len()], before[..]);
}

#[tokio::test]
async fn bad_input_gets_errors_and_the_agent_keeps_serving() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    editor.stdin.write_all(b"this is not json\n").await.unwrap();
    let parse = editor.until(|message| message.get("error").is_some()).await;
    assert_eq!(parse["error"]["code"], -32700);
    let unknown = editor.request("no/such_method", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    let relative = editor
        .request(
            "session/new",
            json!({"cwd": "relative/dir", "mcpServers": []}),
        )
        .await;
    assert!(
        relative["error"]["data"]
            .as_str()
            .unwrap()
            .contains("must be an absolute path"),
        "{relative}"
    );
    let missing = editor.prompt("no-such-session", "hi").await;
    assert!(
        missing["error"]["data"]
            .as_str()
            .unwrap()
            .contains("unknown session"),
        "{missing}"
    );
    let session = editor.new_session(&sandbox).await;
    assert!(!session.is_empty());
}

/// `acpx` (a real ACP client from the npm registry) running `agent acp` for one prompt.
async fn acpx(sandbox: &Sandbox, mock: &MockGlm, policy: &str) -> support::Finished {
    let acpx = support::npm::npm_packages("acpx").join(".bin/acpx");
    let mut command = tokio::process::Command::new(acpx);
    command
        .current_dir(&sandbox.workspace)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &sandbox.home)
        .env("AGENT_API_KEY", support::API_KEY)
        .env("AGENT_BASE_URL", &mock.url)
        .env("AGENT_SESSIONS_DIR", sandbox.sessions_dir())
        .args(["--format", "json", "--json-strict", policy, "--agent"])
        .arg(format!("{} acp", env!("CARGO_BIN_EXE_agent")))
        .args(["exec", "rewrite a.txt"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    support::finish(command).await
}

/// The result acpx printed for the prompt request.
fn prompt_result(stdout: &str) -> Value {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|message| message["id"] == 2 && message.get("method").is_none())
        .unwrap_or_else(|| panic!("no prompt result in\n{stdout}"))
}

#[tokio::test]
async fn acpx_approving_everything_gets_the_edit() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(edit_then_answer()).await;
    let run = acpx(&sandbox, &mock, "--approve-all").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        prompt_result(&run.stdout)["result"],
        json!({"stopReason": "end_turn"})
    );
    assert_eq!(sandbox.read("a.txt"), "new\n");
}

#[tokio::test]
async fn acpx_denying_everything_changes_nothing() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(edit_then_answer()).await;
    let run = acpx(&sandbox, &mock, "--deny-all").await;
    assert_eq!(
        run.code, 5,
        "acpx's denial exit: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

#[tokio::test]
async fn an_editor_with_fs_gets_the_reads_and_writes_and_the_disk_is_untouched() {
    let sandbox = Sandbox::new(&[("a.txt", "saved\n")]);
    let path = sandbox
        .workspace
        .canonicalize()
        .unwrap()
        .join("a.txt")
        .display()
        .to_string();
    let diff = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-unsaved\n+edited\n";
    let mock = MockGlm::start(vec![
        turn()
            .call("r1", "read_file", r#"{"path":"a.txt"}"#)
            .call("d1", "apply_diff", &json!({ "diff": diff }).to_string())
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let buffers = std::collections::HashMap::from([(path.clone(), "unsaved\n".to_string())]);
    let mut editor = Editor::start_with(&sandbox, &mock, Some(buffers)).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "edit a.txt").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    let read = support::tool_result(&mock.requests(), "r1");
    assert_eq!(read, "     1\tunsaved\n");
    assert_eq!(
        support::tool_result(&mock.requests(), "d1"),
        "applied:\na.txt: +1 -1"
    );
    assert_eq!(editor.buffers.as_ref().unwrap()[&path], "edited\n");
    assert_eq!(
        sandbox.read("a.txt"),
        "saved\n",
        "the disk is the editor's business"
    );
}

#[tokio::test]
async fn resume_goes_on_without_replay_and_close_ends_the_session() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = edit_then_answer();
    replies.push(turn().content("Resumed.").reply());
    let mock = MockGlm::start(replies).await;
    let (session, mut second, resumed) = reopened(&sandbox, &mock, "session/resume").await;
    assert!(resumed.get("error").is_none(), "{resumed}");
    assert!(second.updates.is_empty(), "resume replays nothing");
    let done = second.prompt(&session, "go on").await;
    assert_eq!(done["result"]["stopReason"], "end_turn");
    let closed = second
        .request("session/close", json!({"sessionId": session}))
        .await;
    assert!(closed.get("error").is_none(), "{closed}");
    let after = second.prompt(&session, "still there?").await;
    assert!(after.get("error").is_some(), "{after}");
}

#[tokio::test]
async fn a_write_the_editor_refuses_restores_the_files_already_written() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n"), ("locked.txt", "l\n")]);
    let root = sandbox.workspace.canonicalize().unwrap();
    let held = |name: &str, text: &str| (root.join(name).display().to_string(), text.to_string());
    let diff = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n--- a/locked.txt\n+++ b/locked.txt\n@@ -1 +1 @@\n-l\n+L\n";
    let mock = MockGlm::start(vec![
        turn()
            .call("d1", "apply_diff", &json!({ "diff": diff }).to_string())
            .reply(),
        turn().content("could not").reply(),
    ])
    .await;
    let buffers =
        std::collections::HashMap::from([held("a.txt", "a\n"), held("locked.txt", "l\n")]);
    let mut editor = Editor::start_with(&sandbox, &mock, Some(buffers)).await;
    let session = editor.new_session(&sandbox).await;
    editor.prompt(&session, "capitalise").await;
    let result = support::tool_result(&mock.requests(), "d1");
    assert!(
        result.contains("the editor could not write `locked.txt`")
            && result.contains("were restored"),
        "{result}"
    );
    let (a, _) = held("a.txt", "");
    assert_eq!(editor.buffers.as_ref().unwrap()[&a], "a\n", "restored");
}

#[tokio::test]
async fn an_edit_file_call_is_an_edit_with_its_diff_for_the_editor() {
    let sandbox = Sandbox::new(&[("a.py", "def f():\n    return 1\n")]);
    let arguments =
        json!({"path": "a.py", "old_string": "return 1", "new_string": "return 2"}).to_string();
    let mock = MockGlm::start(vec![
        turn().call("e1", "edit_file", &arguments).reply(),
        turn().content("Changed.").reply(),
    ])
    .await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "return 2").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    let call = editor.updates_of_kind("tool_call")[0].clone();
    assert_eq!(
        (call["kind"].clone(), call["locations"].clone()),
        (json!("edit"), json!([{"path": "a.py"}]))
    );
    let asked = &editor.permission_requests[0]["toolCall"]["content"][0];
    assert_eq!(
        (
            asked["type"].clone(),
            asked["oldText"].clone(),
            asked["newText"].clone()
        ),
        (
            json!("diff"),
            json!("def f():\n    return 1\n"),
            json!("def f():\n    return 2\n")
        )
    );
    assert_eq!(sandbox.read("a.py"), "def f():\n    return 2\n");
}

#[tokio::test]
async fn an_mcp_server_that_cannot_start_is_said_to_the_editor() {
    let sandbox = Sandbox::new(&[(
        ".agent/config.toml",
        "[mcp_servers.broken]\ncommand = \"/nonexistent/mcp-server\"\n",
    )]);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "hello").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    let said: Vec<String> = editor
        .updates_of_kind("agent_message_chunk")
        .iter()
        .map(|update| update["content"]["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        said[0].starts_with("warning: MCP server `broken` left out"),
        "{said:?}"
    );
    assert_eq!(said[1], "done");
}

#[tokio::test]
async fn the_plan_shows_in_the_editors_plan_view() {
    let sandbox = Sandbox::new(&[]);
    let plan = r#"{"plan":[{"step":"Find the cause","status":"completed"},{"step":"Fix it","status":"in_progress"}]}"#;
    let mock = MockGlm::start(vec![
        turn().call("p1", "update_plan", plan).reply(),
        turn().content("planned").reply(),
    ])
    .await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "plan it").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    let plans = editor.updates_of_kind("plan");
    assert_eq!(
        plans[0]["entries"],
        json!([
            {"content": "Find the cause", "priority": "medium", "status": "completed"},
            {"content": "Fix it", "priority": "medium", "status": "in_progress"},
        ])
    );
}

#[tokio::test]
async fn the_users_hooks_run_in_an_editors_session() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(support::BLOCKING_HOOK);
    let mock = MockGlm::start(support::command_then_answer()).await;
    let mut editor = Editor::start(&sandbox, &mock).await;
    let session = editor.new_session(&sandbox).await;
    let done = editor.prompt(&session, "make a file").await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    assert!(!sandbox.path("made.txt").exists());
    assert_eq!(
        support::tool_result(&mock.requests(), "c1"),
        support::NO_COMMANDS
    );
    let said: Vec<String> = editor
        .updates_of_kind("agent_message_chunk")
        .iter()
        .map(|update| update["content"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        said,
        [
            "the PreToolUse hook `echo 'no commands here' >&2; exit 2` blocked it: no commands here\n\n",
            "done"
        ]
    );
}
