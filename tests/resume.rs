//! Resuming a session (`agent run --continue` / `--resume ID`): the conversation comes back from
//! the transcript message for message, so the first request of the follow-up extends the last
//! one of the session byte for byte; edits keep counting turns in the same journal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{MockGlm, Sandbox, finish, turn};

fn messages(request: &support::Recorded) -> Vec<Value> {
    request.body["messages"].as_array().unwrap().clone()
}

fn session_id(sandbox: &Sandbox) -> String {
    sandbox.transcript_events()[0]["session_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn continue_sends_the_whole_conversation_then_the_follow_up() {
    let sandbox = Sandbox::new(&[("a.txt", "alpha\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("Let me look.")
            .call("r1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn()
            .reasoning("It says alpha.")
            .content("It says alpha.")
            .reply(),
        turn().content("Still alpha.").reply(),
    ])
    .await;
    let mut first = sandbox.agent(&mock);
    first.args(["run", "what does a.txt say?"]);
    let first = finish(first).await;
    assert_eq!(first.code, 0, "{}", first.stderr);

    let mut follow_up = sandbox.agent(&mock);
    follow_up.args(["run", "--continue", "and now?"]);
    let follow_up = finish(follow_up).await;
    assert_eq!(follow_up.code, 0, "{}", follow_up.stderr);
    assert_eq!(follow_up.stdout, "Still alpha.\n");

    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    let before = messages(&requests[1]);
    let after = messages(&requests[2]);
    assert_eq!(
        after[..before.len()],
        before[..],
        "the old prefix, unchanged"
    );
    assert_eq!(
        after[before.len()..],
        [
            serde_json::json!({"role": "assistant", "content": "It says alpha.", "reasoning_content": "It says alpha."}),
            serde_json::json!({"role": "user", "content": "and now?"}),
        ]
    );
    // One session, one transcript: the follow-up is appended to it.
    let starts: Vec<Value> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "session_started")
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0]["session_id"], starts[1]["session_id"]);
    assert_eq!(starts[1]["resumed"], true);
}

#[tokio::test]
async fn resume_by_id_keeps_counting_turns_for_undo() {
    let sandbox = Sandbox::new(&[("a.txt", "zero\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"one\n"}"#)
            .reply(),
        turn().content("wrote one").reply(),
        turn()
            .call("w2", "write_file", r#"{"path":"a.txt","content":"two\n"}"#)
            .reply(),
        turn().content("wrote two").reply(),
    ])
    .await;
    let mut first = sandbox.agent(&mock);
    first.args(["run", "--yes", "write one"]);
    assert_eq!(finish(first).await.code, 0);
    let id = session_id(&sandbox);

    let mut resumed = sandbox.agent(&mock);
    resumed.args(["run", "--yes", "--resume", &id, "now write two"]);
    let resumed = finish(resumed).await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(sandbox.read("a.txt"), "two\n");

    let mut undo = sandbox.agent(&mock);
    undo.args(["undo"]);
    let undo = finish(undo).await;
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stdout.starts_with("undid turn 3 of "),
        "{}",
        undo.stdout
    );
    assert_eq!(sandbox.read("a.txt"), "one\n");
}

#[tokio::test]
async fn nothing_to_continue_is_a_clear_error() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--continue", "and now?"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no session was started in"),
        "{}",
        run.stderr
    );

    let mut command = sandbox.agent(&mock);
    command.args(["run", "--isolate", "--continue", "and now?"]);
    let run = finish(command).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test]
async fn sessions_lists_this_workspaces_sessions_newest_first() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn().content("one").reply(),
        turn().content("two").reply(),
        turn().content("three").reply(),
    ])
    .await;
    for task in ["first task", "second task\nwith details"] {
        let mut run = sandbox.agent(&mock);
        run.args(["run", task]);
        assert_eq!(finish(run).await.code, 0);
    }
    let mut follow_up = sandbox.agent(&mock);
    follow_up.args(["run", "-c", "more"]);
    assert_eq!(finish(follow_up).await.code, 0);

    let mut list = sandbox.agent(&mock);
    list.args(["sessions"]);
    let list = finish(list).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let id_of = |task: &str| {
        sandbox
            .transcript_events()
            .into_iter()
            .find(|event| event["type"] == "session_started" && event["task"] == task)
            .map(|event| event["session_id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let ids = [id_of("first task"), id_of("second task\nwith details")];
    assert_eq!(
        list.stdout,
        format!(
            "{}  completed     2 runs  second task…\n{}  completed     1 run   first task\n",
            ids[1], ids[0]
        )
    );
}

/// Runs a session that reads `a.txt`, then a follow-up; returns the mock's requests.
async fn read_then_follow_up(sandbox: &Sandbox, key: &str) -> Vec<support::Recorded> {
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("x marks the spot: read it")
            .call("call_x_1", "read_file", r#"{"path":"a.txt"}"#)
            .reply(),
        turn().content("It says what x is.").reply(),
        turn().content("Still x.").reply(),
    ])
    .await;
    let mut first = sandbox.agent(&mock);
    first.env("AGENT_API_KEY", key).args(["run", "what is x?"]);
    let first = finish(first).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut follow_up = sandbox.agent(&mock);
    follow_up
        .env("AGENT_API_KEY", key)
        .args(["run", "--continue", "and now?"]);
    let follow_up = finish(follow_up).await;
    assert_eq!(follow_up.code, 0, "{}", follow_up.stderr);
    mock.requests()
}

fn transcript_text(sandbox: &Sandbox) -> String {
    sandbox
        .transcript_events()
        .iter()
        .map(Value::to_string)
        .collect()
}

#[tokio::test]
async fn a_one_letter_key_changes_nothing_in_the_transcript() {
    let sandbox = Sandbox::new(&[("a.txt", "x = max(x, 1)\n")]);
    let requests = read_then_follow_up(&sandbox, "x").await;
    let text = transcript_text(&sandbox);
    assert!(!text.contains("[redacted]"), "{text}");
    assert!(text.contains("call_x_1") && text.contains("x = max(x, 1)"));
    let before = messages(&requests[1]);
    assert_eq!(messages(&requests[2])[..before.len()], before[..]);
}

#[tokio::test]
async fn a_key_a_tool_printed_stays_off_the_disk_and_resumes_exactly() {
    let key = "sk-live-0123456789abcdef";
    let sandbox = Sandbox::new(&[(
        "a.txt",
        &format!("API_KEY={key}\n[redacted] is a word here\n"),
    )]);
    let requests = read_then_follow_up(&sandbox, key).await;
    let text = transcript_text(&sandbox);
    assert!(!text.contains(key), "{text}");
    let before = messages(&requests[1]);
    assert!(
        before
            .iter()
            .any(|message| message.to_string().contains(key))
    );
    assert_eq!(messages(&requests[2])[..before.len()], before[..]);
}
