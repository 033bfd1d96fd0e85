//! The command line around the loop: JSON events and transcripts, settings and provider kinds,
//! stop conditions and their exit codes, `agent tools`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{MockGlm, Sandbox, finish, tool_result, turn};

fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn json_events_and_the_transcript_carry_the_same_events() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("r")
            .call("j1", "read_file", r#"{"path":"a.txt"}"#)
            .usage(50, 5, 20)
            .reply(),
        turn().content("fin").usage(70, 3, 50).reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--json", "--yes", "task"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        event_types(&printed),
        [
            "session_started",
            "turn_started",
            "reasoning",
            "assistant_turn",
            "usage",
            "tool_call_started",
            "tool_result",
            "turn_started",
            "content",
            "assistant_turn",
            "usage",
            "finished"
        ]
    );
    assert_eq!(printed, sandbox.transcript_events());
    let finished = printed.last().unwrap();
    assert_eq!(
        *finished,
        json!({"type": "finished", "outcome": {"kind": "completed"}, "answer": "fin", "turns": 2,
               "prompt_tokens": 120, "cached_tokens": 70, "completion_tokens": 8,
               "elapsed_ms": finished["elapsed_ms"], "denied_actions": 0})
    );
    assert_eq!(printed[6]["content"], "     1\ta\n");
}

#[tokio::test]
async fn openai_kind_sends_only_standard_fields() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("hidden")
            .call("o1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn().content("ok").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--provider-kind",
        "openai",
        "--model",
        "gpt-x",
        "task",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for request in mock.requests() {
        assert_eq!(request.body["model"], "gpt-x");
        assert!(request.body.get("thinking").is_none());
        assert!(request.body.get("tool_stream").is_none());
        assert_eq!(
            request.body["stream_options"],
            json!({"include_usage": true})
        );
        assert!(!request.raw.contains("reasoning_content"));
    }
}

#[tokio::test]
async fn no_thinking_turns_thinking_off() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--no-thinking",
        "--temperature",
        "0.3",
        "--max-tokens",
        "999",
        "task",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &mock.requests()[0].body;
    assert_eq!(
        body["thinking"],
        json!({"type": "disabled", "clear_thinking": false})
    );
    assert!(body.get("tool_stream").is_none());
    assert_eq!(body["temperature"], json!(0.3));
    assert_eq!(body["max_tokens"], json!(999));
}

#[tokio::test]
async fn config_files_and_agents_md_are_read() {
    let sandbox = Sandbox::new(&[
        ("AGENTS.md", "Always run `make test`.\n"),
        (
            ".agent/config.toml",
            "provider = \"mine\"\n[providers.mine]\nkind = \"openai\"\nmodel = \"from-workspace\"\n",
        ),
    ]);
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "task"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &mock.requests()[0].body;
    assert_eq!(body["model"], "from-workspace");
    assert!(body.get("thinking").is_none());
    let context = support::context_of(body);
    assert!(
        context.contains(
            &sandbox
                .workspace
                .canonicalize()
                .unwrap()
                .display()
                .to_string()
        )
    );
    assert!(
        context.contains("# Project instructions (AGENTS.md)\n\nAlways run `make test`.\n"),
        "{context}"
    );
}

#[tokio::test]
async fn the_task_can_come_from_stdin() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command
        .args(["run", "-"])
        .stdin(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a task\nover two lines\n").await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    assert_eq!(mock.tasks_asked()[0], "a task\nover two lines\n");
}

#[tokio::test]
async fn the_turn_limit_stops_the_run_with_code_3() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("t1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn().call("t2", "list_files", "{}").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--max-turns", "2", "loop"]);
    let run = finish(command).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("stopped: reached --max-turns 2"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn a_model_repeating_itself_is_warned_then_stopped() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
    let same = r#"{"path":"a.txt"}"#;
    let mock = MockGlm::start(
        (1..=6)
            .map(|i| turn().call(&format!("r{i}"), "read_file", same).reply())
            .collect(),
    )
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "repeat"]);
    let run = finish(command).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 6);
    assert!(tool_result(&requests[..4], "r3").ends_with("     1\ta\n"));
    assert!(tool_result(&requests[..5], "r4").contains("this is call 4 in a row"));
    let events = sandbox.transcript_events();
    let last_result = events
        .iter()
        .rfind(|event| event["type"] == "tool_result")
        .unwrap();
    assert_eq!(
        last_result["content"],
        "not run: the same call was made 6 times in a row"
    );
    assert!(run.stderr.contains("6 times in a row"), "{}", run.stderr);
}

#[tokio::test]
async fn a_missing_key_names_the_variables() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    // A remote endpoint (one on this machine needs no key); nothing is sent to it.
    command
        .env_remove("AGENT_API_KEY")
        .env("AGENT_BASE_URL", "https://api.z.ai/api/paas/v4")
        .args(["run", "task"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: no API key: set one of AGENT_API_KEY, ZAI_API_KEY, ZHIPUAI_API_KEY (e.g. export ZAI_API_KEY=...)\n"
    );
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn bad_flags_and_bad_config_fail_with_one_line() {
    let sandbox = Sandbox::new(&[(".agent/config.toml", "max_turnz = 3\n")]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--max-turns", "0", "task"]);
    let run = finish(command).await;
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: invalid value '0' for '--max-turns <MAX_TURNS>'"),
        "{}",
        run.stderr
    );

    let mut command = sandbox.agent(&mock);
    command.args(["run", "task"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: invalid config file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown field `max_turnz`"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn tools_lists_schemas_and_calls_one_tool() {
    let sandbox = Sandbox::new(&[("f.txt", "x\ny\n")]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["tools", "--json"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0);
    let tools: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(tools.as_array().unwrap().len(), 8);
    assert_eq!(tools[5]["function"]["name"], "edit_file");
    assert_eq!(tools[4]["function"]["name"], "apply_diff");
    assert_eq!(
        tools[4]["function"]["parameters"]["required"],
        json!(["diff"])
    );

    let diff =
        json!({"diff": "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"}).to_string();
    let mut command = sandbox.agent(&mock);
    command.args(["tools", "call", "--yes", "apply_diff", &diff]);
    let run = finish(command).await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "applied:\nf.txt: +1 -1\n")
    );
    assert_eq!(sandbox.read("f.txt"), "x\nz\n");

    let mut command = sandbox.agent(&mock);
    command.args(["tools", "call", "read_file", r#"{"path":"nope.txt"}"#]);
    let run = finish(command).await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            1,
            "`nope.txt` does not exist; `.` holds f.txt (paths are relative to the workspace root)\n"
        )
    );
}

#[tokio::test]
async fn a_completion_script_is_printed_for_each_shell() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let mut command = sandbox.agent(&mock);
        command.args(["completions", shell]);
        let run = finish(command).await;
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for subcommand in ["chat", "run", "batch", "serve", "trust", "completions"] {
            assert!(
                run.stdout.contains(subcommand),
                "{shell} names no {subcommand}"
            );
        }
    }
    let mut command = sandbox.agent(&mock);
    command.args(["completions", "tcsh"]);
    let run = finish(command).await;
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
