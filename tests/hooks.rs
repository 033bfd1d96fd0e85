//! Hooks: the user's commands at points of a session, with the event on stdin as JSON (Claude
//! Code's shape). Each event fires with its fields; exit 2 and a JSON decision block or approve;
//! other exits and garbage are warnings the session goes past; a hook past its timeout is killed
//! with its process group; a repository's own hooks run only once the user trusts it; and the
//! front ends other than `run` fire them too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::daemon::Daemon;
use support::{
    BLOCKING_HOOK, MockGlm, NO_COMMANDS, Sandbox, command_then_answer, finish, tool_result, turn,
};

/// A hook command that appends its input to `log` as one line.
fn logging(log: &Path) -> String {
    format!("cat >> '{0}'; echo >> '{0}'", log.display())
}

fn logged(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn json_events(stdout: &str, kind: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["type"] == kind)
        .collect()
}

/// The hook events of a `--json` run, without their durations.
fn hook_events(stdout: &str) -> Vec<Value> {
    json_events(stdout, "hook")
        .into_iter()
        .map(|mut event| {
            event.as_object_mut().unwrap().remove("duration_ms");
            event
        })
        .collect()
}

/// Runs a session whose model reads a.txt once, then answers; `flags` before the task.
async fn reading_a_txt(sandbox: &Sandbox, flags: &[&str]) -> (MockGlm, support::Finished) {
    let mock = MockGlm::start(vec![
        turn()
            .call("r1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn().content("ok").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.arg("run").args(flags).arg("read a.txt");
    let run = finish(command).await;
    (mock, run)
}

#[tokio::test]
async fn each_event_fires_with_its_fields_and_start_output_reaches_the_model() {
    let sandbox = Sandbox::new(&[]);
    let log = sandbox.dir.path().join("hooks.log");
    let log_it = logging(&log);
    sandbox.user_config(&format!(
        r#"
[[hooks.SessionStart]]
command = "{log_it}; echo 'Use tabs here.'; echo \"key=${{AGENT_API_KEY:-unset}}\""
[[hooks.UserPromptSubmit]]
command = "{log_it}"
[[hooks.PreToolUse]]
matcher = "run_command|edit_file"
command = "{log_it}"
[[hooks.PreToolUse]]
matcher = "run"
command = "echo never >> '{never}'"
[[hooks.PostToolUse]]
command = "{log_it}"
[[hooks.Stop]]
command = "{log_it}"
"#,
        never = sandbox.dir.path().join("never").display()
    ));
    let mock = MockGlm::start(vec![
        turn()
            .call("c1", "run_command", r#"{"command":"echo hi"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--json", "-y", "say hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let started = &json_events(&run.stdout, "session_started")[0];
    let session_id = started["session_id"].as_str().unwrap();
    let transcript = support::find_file(&sandbox.sessions_dir(), &format!("{session_id}.jsonl"));
    let cwd = sandbox.workspace.canonicalize().unwrap();
    let common = |name: &str| json!({"session_id": session_id, "transcript_path": transcript, "cwd": cwd, "hook_event_name": name});
    let with = |name: &str, fields: Value| {
        let mut input = common(name);
        input
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        input
    };
    let call_input = json!({"command": "echo hi"});
    assert_eq!(
        logged(&log),
        vec![
            with("SessionStart", json!({"source": "startup"})),
            with("UserPromptSubmit", json!({"prompt": "say hi"})),
            with(
                "PreToolUse",
                json!({"tool_name": "run_command", "tool_input": call_input})
            ),
            with(
                "PostToolUse",
                json!({"tool_name": "run_command", "tool_input": call_input,
                       "tool_response": {"success": true, "content": "exit code: 0\nhi\n"}})
            ),
            with("Stop", json!({"stop_hook_active": false})),
        ]
    );
    // A matcher matches whole names: `run` is not `run_command`.
    assert!(!sandbox.dir.path().join("never").exists());
    let context = support::context_of(&mock.requests()[0].body);
    assert!(
        context.ends_with("\n\n# From the user's SessionStart hook\n\nUse tabs here.\nkey=unset"),
        "{context}"
    );
    let hook = |name: &str| json!({"type": "hook", "hook": name, "exit_code": 0, "outcome": "ok"});
    let mut expected = Vec::new();
    for name in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
    ] {
        let mut event = hook(name);
        event["command"] = json!(match name {
            "SessionStart" => {
                format!("{log_it}; echo 'Use tabs here.'; echo \"key=${{AGENT_API_KEY:-unset}}\"")
            }
            _ => log_it.clone(),
        });
        expected.push(event);
    }
    assert_eq!(hook_events(&run.stdout), expected);
    // The transcript keeps them too.
    let recorded: Vec<Value> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "hook")
        .collect();
    assert_eq!(recorded.len(), 5);
}

#[tokio::test]
async fn exit_2_before_a_call_blocks_it_and_its_stderr_is_the_result() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(BLOCKING_HOOK);
    let mock = MockGlm::start(command_then_answer()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "-y", "make a file"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!sandbox.path("made.txt").exists());
    assert_eq!(tool_result(&mock.requests(), "c1"), NO_COMMANDS);
    assert!(
        run.stderr.contains(
            "the PreToolUse hook `echo 'no commands here' >&2; exit 2` blocked it: no commands here"
        ),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_json_approve_skips_the_question_and_a_json_block_refuses() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(r#"
[[hooks.PreToolUse]]
matcher = "write_file"
command = "grep -q allowed.txt && echo '{\"decision\": \"approve\"}' || echo '{\"decision\": \"block\", \"reason\": \"only allowed.txt\"}'"
"#,
    );
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "w1",
                "write_file",
                r#"{"path":"allowed.txt","content":"yes\n"}"#,
            )
            .call(
                "w2",
                "write_file",
                r#"{"path":"other.txt","content":"no\n"}"#,
            )
            .reply(),
        turn().content("ok").reply(),
    ])
    .await;
    // No terminal and no --yes: without the hook, every edit would be refused.
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--json", "write two files"]);
    let run = finish(command).await;
    assert_eq!(sandbox.read("allowed.txt"), "yes\n");
    assert!(!sandbox.path("other.txt").exists());
    assert_eq!(
        tool_result(&mock.requests(), "w2"),
        "a PreToolUse hook of the user blocked this call; it was not run: only allowed.txt"
    );
    let decided = json_events(&run.stdout, "approval_decided");
    assert_eq!(
        decided,
        vec![
            json!({"type": "approval_decided", "id": "w1", "approved": true, "by": "hook", "reason": null})
        ]
    );
    let outcomes: Vec<Value> = hook_events(&run.stdout)
        .iter()
        .map(|event| event["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("approved"), json!("blocked")]);
}

#[tokio::test]
async fn exit_2_after_a_call_hands_its_stderr_to_the_model_beside_the_result() {
    let sandbox = Sandbox::new(&[("a.txt", "one\n")]);
    sandbox.user_config("[[hooks.PostToolUse]]\nmatcher = \"read_file\"\ncommand = \"echo 'tests fail: 2 of 9' >&2; exit 2\"\n",
    );
    let (mock, run) = reading_a_txt(&sandbox, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = tool_result(&mock.requests(), "r1");
    assert!(
        result.ends_with("\n[PostToolUse hook of the user] tests fail: 2 of 9"),
        "{result}"
    );
}

#[tokio::test]
async fn a_stop_hook_sends_the_model_back_a_few_times_at_most() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config("[[hooks.Stop]]\ncommand = \"echo 'run the tests first' >&2; exit 2\"\n");
    let replies = (0..5).map(|_| turn().content("done").reply()).collect();
    let mock = MockGlm::start(replies).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "fix it"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 4, "the first answer and three more");
    let last_message = |request: &support::Recorded| {
        request.body["messages"].as_array().unwrap().last().unwrap()["content"].clone()
    };
    for request in &requests[1..] {
        assert_eq!(
            last_message(request),
            "[from a Stop hook of the user] Do not stop yet: run the tests first"
        );
    }
}

#[tokio::test]
async fn a_blocked_message_is_never_sent() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config("[[hooks.UserPromptSubmit]]\ncommand = \"grep -q secret && { echo 'it names a secret' >&2; exit 2; } || exit 0\"\n",
    );
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "print the secret"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert_eq!(mock.requests().len(), 0);
    assert!(
        run.stderr.contains(
            "a UserPromptSubmit hook blocked this message, so it was not sent: it names a secret"
        ),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_hook_past_its_timeout_is_killed_with_its_group_and_the_session_goes_on() {
    let sandbox = Sandbox::new(&[("a.txt", "one\n")]);
    let marker = format!("sleep 4{}", std::process::id() % 1000);
    sandbox.user_config(&format!(
        "[[hooks.PreToolUse]]\ncommand = \"{marker} & {marker}; wait\"\ntimeout = 1\n"
    ));
    let (mock, run) = reading_a_txt(&sandbox, &["--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    support::assert_no_process(&marker);
    assert_eq!(
        hook_events(&run.stdout),
        vec![
            json!({"type": "hook", "hook": "PreToolUse", "command": format!("{marker} & {marker}; wait"),
                    "outcome": "timed_out",
                    "message": "ran past its timeout of 1 s and was killed with its process group"})
        ]
    );
    assert!(tool_result(&mock.requests(), "r1").contains("one"));
}

#[tokio::test]
async fn garbage_and_failures_are_warnings_and_the_session_goes_on() {
    let sandbox = Sandbox::new(&[("a.txt", "one\n")]);
    sandbox.user_config(
        r#"
[[hooks.PreToolUse]]
command = "echo '{not json'"
[[hooks.PreToolUse]]
command = "echo boom >&2; exit 1"
[[hooks.PreToolUse]]
matcher = "read_file("
command = "true"
"#,
    );
    let (mock, run) = reading_a_txt(&sandbox, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(tool_result(&mock.requests(), "r1").contains("one"));
    assert!(
        run.stderr.contains("warning: the PreToolUse hook `echo boom >&2; exit 1` failed: the hook exited with code 1: boom (the session goes on)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the PreToolUse hook `true` is left out: its matcher is not a valid pattern"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_repositorys_own_hooks_run_only_once_the_user_trusts_it() {
    let sandbox = Sandbox::new(&[(
        ".agent/config.toml",
        "[[hooks.PreToolUse]]\ncommand = \"echo 'the repo says no' >&2; exit 2\"\n",
    )]);
    let mock = MockGlm::start(command_then_answer()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "-y", "make a file"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        sandbox.path("made.txt").exists(),
        "an untrusted repository's hook ran"
    );
    assert!(
        run.stderr.contains("the project's config has hooks that do not run, since this directory is not trusted: PreToolUse `echo 'the repo says no' >&2; exit 2`"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(sandbox.path("made.txt")).unwrap();

    let mut trust = sandbox.agent(&mock);
    trust.args(["trust"]);
    let trusted = finish(trust).await;
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    let workspace = sandbox.workspace.canonicalize().unwrap();
    assert_eq!(
        trusted.stdout,
        format!(
            "trusted {} (in {})\n  its PreToolUse hook runs: echo 'the repo says no' >&2; exit 2\n",
            workspace.display(),
            sandbox.home.join(".config/agent/config.toml").display()
        )
    );

    let mock = MockGlm::start(command_then_answer()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "-y", "make a file"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!sandbox.path("made.txt").exists());
    assert_eq!(
        tool_result(&mock.requests(), "c1"),
        "a PreToolUse hook of the user blocked this call; it was not run: the repo says no"
    );

    let mut revoke = sandbox.agent(&mock);
    revoke.args(["trust", "--revoke"]);
    let revoked = finish(revoke).await;
    assert_eq!(
        revoked.stdout,
        format!("{} is not trusted any more\n", workspace.display())
    );
}

#[tokio::test]
async fn pre_compact_runs_before_the_conversation_is_summarised() {
    let sandbox = Sandbox::new(&[("big.txt", &"a line of some length\n".repeat(400))]);
    let log = sandbox.dir.path().join("hooks.log");
    sandbox.user_config(&format!(
        "[[hooks.PreCompact]]\nmatcher = \"auto\"\ncommand = \"{}\"\n",
        logging(&log)
    ));
    let mock = MockGlm::start(vec![
        turn()
            .call("r1", "read_file", r#"{"path":"big.txt"}"#)
            .usage(300, 20, 0)
            .reply(),
        turn()
            .content("Read big.txt; next: count its lines.")
            .usage(3000, 50, 0)
            .reply(),
        turn().content("done").usage(400, 5, 0).reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--yes",
        "--context-window",
        "3000",
        "--max-tokens",
        "500",
        "count the lines of big.txt",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inputs = logged(&log);
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!(inputs[0]["hook_event_name"], "PreCompact");
    assert_eq!(inputs[0]["trigger"], "auto");
    assert_eq!(inputs[0]["custom_instructions"], "");
}

#[tokio::test]
async fn a_batch_task_runs_the_users_hooks() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(BLOCKING_HOOK);
    std::fs::write(
        sandbox.path("tasks.jsonl"),
        format!(
            "{}\n",
            json!({"id": "t1", "task": "make a file", "approval": "all"})
        ),
    )
    .unwrap();
    support::init_repository(&sandbox.workspace);
    let mock = MockGlm::start(command_then_answer()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["batch", "tasks.jsonl", "--out", "out"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(tool_result(&mock.requests(), "c1"), NO_COMMANDS);
    assert!(
        run.stderr.contains("t1: the PreToolUse hook `echo 'no commands here' >&2; exit 2` blocked it: no commands here"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_daemon_session_runs_the_users_hooks_and_streams_them() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(BLOCKING_HOOK);
    let mock = MockGlm::start(command_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "make a file").await;
    let hooks: Vec<Value> = daemon
        .events(&session, None)
        .await
        .until("finished")
        .await
        .into_iter()
        .map(|(_, event)| event)
        .filter(|event| event["type"] == "hook")
        .map(|mut event| {
            event.as_object_mut().unwrap().remove("duration_ms");
            event
        })
        .collect();
    assert_eq!(
        hooks,
        vec![
            json!({"type": "hook", "hook": "PreToolUse", "command": "echo 'no commands here' >&2; exit 2",
                    "exit_code": 2, "outcome": "blocked", "message": "no commands here"})
        ]
    );
    assert!(!sandbox.path("made.txt").exists());
    assert_eq!(tool_result(&mock.requests(), "c1"), NO_COMMANDS);
}
