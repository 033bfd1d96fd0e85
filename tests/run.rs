//! The real `agent run` binary against the mock GLM server: whole sessions, the wire contract,
//! faults and recovery, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{API_KEY, MockGlm, Reply, Sandbox, finish, tool_messages, tool_result, turn};

const CALC: &str = "add() {\n  echo $(( $1 - $2 ))\n}\n";
const TEST: &str =
    "source ./calc.sh\nif [ \"$(add 2 3)\" = 5 ]; then echo PASS; else echo FAIL; exit 1; fi\n";
const FIX: &str = "--- a/calc.sh\n+++ b/calc.sh\n@@ -1,3 +1,3 @@\n add() {\n-  echo $(( $1 - $2 ))\n+  echo $(( $1 + $2 ))\n }\n";

fn arguments(value: Value) -> String {
    value.to_string()
}

#[tokio::test]
async fn fixes_a_bug_in_a_multi_turn_session() {
    let sandbox = Sandbox::new(&[("calc.sh", CALC), ("test.sh", TEST)]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("Let me ")
            .reasoning("look around.")
            .call("call_1", "list_files", "{}")
            .reply(),
        turn()
            .reasoning("Read the code.")
            .call(
                "call_2",
                "read_file",
                &arguments(json!({"path": "calc.sh"})),
            )
            .reply(),
        turn()
            .reasoning("It subtracts.")
            .content("Fixing.")
            .call("call_3", "apply_diff", &arguments(json!({"diff": FIX})))
            .split_arguments(7)
            .reply(),
        turn()
            .call(
                "call_4",
                "run_command",
                &arguments(json!({"command": "bash test.sh"})),
            )
            .split_arguments(3)
            .usage(400, 20, 300)
            .reply(),
        turn()
            .reasoning("Done.")
            .content("Fixed `add`: it ")
            .content("subtracted instead of adding.")
            .reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "fix the failing test"]);
    let run = finish(command).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("calc.sh"), CALC.replace("$1 - $2", "$1 + $2"));
    assert_eq!(
        run.stdout,
        "Fixed `add`: it subtracted instead of adding.\n"
    );
    assert!(run.stderr.contains("5 turns"), "{}", run.stderr);
    // Applied without a question (--yes), the edit is still shown as a diff.
    assert!(
        run.stderr
            .contains("-  echo $(( $1 - $2 ))\n+  echo $(( $1 + $2 ))"),
        "{}",
        run.stderr
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 5);
    assert!(tool_result(&requests, "call_1").contains("calc.sh\ntest.sh"));
    assert!(tool_result(&requests, "call_2").contains("     1\tadd() {"));
    assert_eq!(tool_result(&requests, "call_3"), "applied:\ncalc.sh: +1 -1");
    assert_eq!(tool_result(&requests, "call_4"), "exit code: 0\nPASS\n");
}

#[tokio::test]
async fn requests_are_append_only_and_carry_thinking_and_the_same_tools() {
    let sandbox = Sandbox::new(&[("a.txt", "hello\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("think 1")
            .call("c1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn()
            .reasoning("think 2")
            .content("partial")
            .call("c2", "search", r#"{"pattern":"hel+"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "look"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.authorization, format!("Bearer {API_KEY}"));
        assert_eq!(
            request.body["thinking"],
            json!({"type": "enabled", "clear_thinking": false})
        );
        assert_eq!(request.body["tool_stream"], json!(true));
        assert_eq!(request.body["stream"], json!(true));
        assert_eq!(request.body["model"], json!("glm-4.7-flash"));
        assert_eq!(request.body["tools"], requests[0].body["tools"]);
    }
    let names = support::tool_names(&requests[0]);
    assert_eq!(
        names,
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "apply_diff",
            "edit_file",
            "write_file",
            "update_plan"
        ]
    );
    for pair in requests.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let before_raw = raw_messages(&before.raw);
        let after_raw = raw_messages(&after.raw);
        assert!(
            after_raw.starts_with(before_raw.trim_end_matches(']')),
            "request is not append-only"
        );
    }
    let messages = requests[2].body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let context = support::context_of(&requests[2].body);
    assert!(context.starts_with("The workspace is"), "{context}");
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": format!("# Context\n\n{context}\n\n# Task\n\nlook")})
    );
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": "", "reasoning_content": "think 1",
               "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}}]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "c1", "content": "     1\thello\n"})
    );
    assert_eq!(messages[4]["reasoning_content"], "think 2");
    assert_eq!(messages[4]["content"], "partial");
    assert_eq!(
        messages[5],
        json!({"role": "tool", "tool_call_id": "c2", "content": "a.txt:1:hello"})
    );
}

/// The raw JSON text of the request's `messages` array.
fn raw_messages(raw: &str) -> String {
    let start = raw.find("\"messages\":").unwrap();
    let end = raw.find(",\"tools\":").unwrap();
    raw[start..end].to_string()
}

#[tokio::test]
async fn parallel_calls_are_all_answered_in_order() {
    let sandbox = Sandbox::new(&[("a.txt", "A\n"), ("b.txt", "B\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("p1", "read_file", r#"{"path":"a.txt"}"#)
            .call("p2", "read_file", r#"{"path":"b.txt"}"#)
            .call("p3", "list_files", r#"{}"#)
            .split_arguments(2)
            .reply(),
        turn().content("ok").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "read both"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(
        tool_messages(&requests[1]),
        vec![
            ("p1".to_string(), "     1\tA\n".to_string()),
            ("p2".to_string(), "     1\tB\n".to_string()),
            ("p3".to_string(), "a.txt\nb.txt".to_string()),
        ]
    );
}

#[tokio::test]
async fn faults_are_retried_and_no_tool_runs_twice() {
    let sandbox = Sandbox::new(&[]);
    let call = turn()
        .reasoning("count")
        .call(
            "k1",
            "run_command",
            r#"{"command":"echo run >> count.txt"}"#,
        )
        .split_arguments(4);
    let mut cut = call.chunks();
    cut.truncate(3);
    let mock = MockGlm::start(vec![
        Reply::Error {
            status: 429,
            code: "1302",
            retry_after: Some("0"),
        },
        Reply::Error {
            status: 500,
            code: "500",
            retry_after: None,
        },
        Reply::Cut(cut),
        Reply::Garbage,
        call.reply(),
        Reply::Error {
            status: 503,
            code: "1305",
            retry_after: None,
        },
        turn().content("counted").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "count"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("count.txt"), "run\n");
    assert_eq!(mock.requests().len(), 7);
    assert_eq!(mock.remaining(), 0);
    assert_eq!(
        run.stderr.matches("retrying in").count(),
        5,
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "counted\n");
}

#[tokio::test]
async fn an_idle_stream_counts_as_cut() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        Reply::Stall(turn().reasoning("hmm").chunks()[..1].to_vec()),
        turn().content("back").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command
        .env("AGENT_STREAM_IDLE_TIMEOUT_SECS", "1")
        .args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no data for 1s"), "{}", run.stderr);
    assert_eq!(run.stdout, "back\n");
}

#[tokio::test]
async fn permanent_errors_stop_at_once_with_a_clear_message() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![Reply::Error {
        status: 429,
        code: "1113",
        retry_after: None,
    }])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert_eq!(mock.requests().len(), 1);
    assert!(
        run.stderr.contains("code 1113") && run.stderr.contains("no balance"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn retries_give_up_after_six_attempts() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        Reply::Error {
            status: 500,
            code: "500",
            retry_after: None
        };
        7
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert_eq!(mock.requests().len(), 6);
    assert!(run.stderr.contains("error: HTTP 500"), "{}", run.stderr);
}

#[tokio::test]
async fn bad_tool_calls_are_answered_and_the_run_goes_on() {
    let sandbox = Sandbox::new(&[("a.txt", "one\ntwo\n")]);
    let stale = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-three\n+four\n";
    let mock = MockGlm::start(vec![
        turn()
            .call("b1", "read_file", r#"{"path": "a.txt""#)
            .call("b2", "delete_everything", "{}")
            .call("b3", "read_file", r#"{"file": "a.txt"}"#)
            .call("b4", "read_file", r#"{"path": "../outside.txt"}"#)
            .call("b5", "apply_diff", &json!({"diff": stale}).to_string())
            .reply(),
        turn().content("recovered").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "try things"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert!(
        tool_result(&requests, "b1").starts_with("the arguments of `read_file` are not valid JSON")
    );
    assert!(tool_result(&requests, "b2").starts_with(
        "unknown tool `delete_everything`; the available tools are: read_file, list_files"
    ));
    assert!(tool_result(&requests, "b3").contains("unknown field `file`"));
    assert!(
        tool_result(&requests, "b4").starts_with("path `../outside.txt` is outside the workspace")
    );
    let stale_result = tool_result(&requests, "b5");
    assert!(
        stale_result.starts_with("nothing was applied: `a.txt` hunk 1"),
        "{stale_result}"
    );
    assert!(stale_result.contains("     2\ttwo"), "{stale_result}");
    assert_eq!(sandbox.read("a.txt"), "one\ntwo\n");
}

#[tokio::test]
async fn paths_that_escape_are_refused() {
    let sandbox = Sandbox::new(&[("in.txt", "in\n")]);
    let outside = sandbox.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret\n").unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.path("link")).unwrap();
    let absolute = outside.join("secret.txt").display().to_string();
    let mock = MockGlm::start(vec![
        turn()
            .call("e1", "read_file", r#"{"path":"../outside/secret.txt"}"#)
            .call("e2", "read_file", &json!({"path": absolute}).to_string())
            .call("e3", "read_file", r#"{"path":"link/secret.txt"}"#)
            .call("e4", "write_file", r#"{"path":"link/new.txt","content":"x"}"#)
            .call("e5", "apply_diff", &json!({"diff": "--- /dev/null\n+++ b/../outside/evil.txt\n@@ -0,0 +1 @@\n+evil\n"}).to_string())
            .reply(),
        turn().content("refused").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "escape"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert!(tool_result(&requests, "e1").contains("is outside the workspace"));
    assert!(tool_result(&requests, "e2").contains("is outside the workspace"));
    assert!(
        tool_result(&requests, "e3")
            .contains("leads outside the workspace through the symlink `link`")
    );
    assert!(
        tool_result(&requests, "e4")
            .contains("leads outside the workspace through the symlink `link`")
    );
    assert!(tool_result(&requests, "e5").contains("is outside the workspace"));
    let mut names: Vec<String> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["secret.txt"]);
}

#[tokio::test]
async fn a_hung_command_is_killed_at_its_timeout_with_its_children() {
    let sandbox = Sandbox::new(&[]);
    let marker = format!("sleep 7{}", std::process::id());
    let command_line = format!("({marker} &) ; echo started; {marker}");
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "h1",
                "run_command",
                &json!({"command": command_line, "timeout_secs": 1}).to_string(),
            )
            .reply(),
        turn().content("gave up").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "hang"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = tool_result(&mock.requests(), "h1");
    assert_eq!(
        result,
        "timed out after 1s: the command and its child processes were killed\nstarted\n"
    );
    support::assert_no_process(&marker);
}

#[tokio::test]
async fn huge_output_is_truncated_head_and_tail() {
    let sandbox = Sandbox::new(&[]);
    let command_line = "echo FIRST; head -c 8000000 /dev/zero | tr '\\0' 'a'; echo; echo LAST";
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "o1",
                "run_command",
                &json!({"command": command_line}).to_string(),
            )
            .reply(),
        turn().content("big").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "print"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = tool_result(&mock.requests(), "o1");
    assert!(result.len() < 31 * 1024, "{} bytes", result.len());
    assert!(result.starts_with("exit code: 0\nFIRST\naaa"));
    assert!(result.ends_with("aaa\nLAST\n"));
    assert!(
        result.contains("bytes of output cut, 8000012 in all ...]"),
        "{}",
        &result[15300..15500]
    );
}

#[tokio::test]
async fn without_a_terminal_or_yes_nothing_is_applied_or_run() {
    let sandbox = Sandbox::new(&[("calc.sh", CALC)]);
    let mock = MockGlm::start(vec![
        turn()
            .call("d1", "apply_diff", &json!({"diff": FIX}).to_string())
            .call("d2", "run_command", r#"{"command":"touch ran.txt"}"#)
            .call("d3", "write_file", r#"{"path":"new.txt","content":"x"}"#)
            .reply(),
        turn().content("could not").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "fix it"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(sandbox.read("calc.sh"), CALC);
    assert!(!sandbox.path("ran.txt").exists());
    assert!(!sandbox.path("new.txt").exists());
    let requests = mock.requests();
    assert!(
        tool_result(&requests, "d1")
            .starts_with("the user did not approve this edit; nothing was written.")
    );
    assert!(
        tool_result(&requests, "d2")
            .starts_with("the user did not approve running this command; it was not run.")
    );
    assert!(run.stderr.contains("3 actions denied"), "{}", run.stderr);
}

#[tokio::test]
async fn commands_do_not_see_the_api_key() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn()
            .call("s1", "run_command", r#"{"command":"env"}"#)
            .reply(),
        turn().content("ok").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command
        .env("MY_COPY", API_KEY)
        .args(["run", "--yes", "env"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = tool_result(&mock.requests(), "s1");
    assert!(result.contains("HOME="), "{result}");
    assert!(!result.contains(API_KEY), "{result}");
    let transcript = serde_json::to_string(&sandbox.transcript_events()).unwrap();
    assert!(!transcript.contains(API_KEY));
}

#[tokio::test]
async fn an_answer_cut_at_the_output_limit_is_continued() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("long")
            .content("part one")
            .finish_reason("length")
            .reply(),
        turn().content("part two").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "explain"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body["max_tokens"], json!(32768));
    let messages = requests[1].body["messages"].as_array().unwrap();
    assert_eq!(messages[2]["content"], "part one");
    assert_eq!(messages[3]["role"], "user");
    assert!(
        messages[3]["content"]
            .as_str()
            .unwrap()
            .contains("cut off by the output token limit")
    );
    assert_eq!(run.stdout, "part onepart two\n");
}
