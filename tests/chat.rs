//! The conversation (`agent` with no command) in a real pseudo-terminal against the mock: two
//! turns in one session, Ctrl-C during a long command, slash commands, `@file`, `!command`,
//! inline review, resuming with `-c`, and a non-terminal refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use expectrl::Expect;
use serde_json::Value;
use support::terminal::in_terminal;
use support::{MockGlm, Recorded, Sandbox, finish, turn};

/// The messages of a request.
fn messages(request: &Recorded) -> Vec<Value> {
    request.body["messages"].as_array().unwrap().clone()
}

/// The text of the last user message of a request.
fn last_user_message(request: &Recorded) -> String {
    messages(request)
        .iter()
        .rev()
        .find(|message| message["role"] == "user")
        .map(|message| message["content"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn two_messages_are_two_turns_of_one_session() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("They greet me.\nI answer briefly.")
            .content("first answer")
            .reply(),
        turn().content("second answer").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &[], &[], |session| {
        session.expect("›").unwrap();
        session.send("hello there\r").unwrap();
        // The thinking, once over, folded to one line.
        session.expect("thought (2 lines): They greet me.").unwrap();
        session.expect("first answer").unwrap();
        session.expect("›").unwrap();
        session.send("and then?\r").unwrap();
        session.expect("second answer").unwrap();
        session.expect("›").unwrap();
        session.send("\x04").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let (first, second) = (messages(&requests[0]), messages(&requests[1]));
    assert_eq!(
        second[..first.len()],
        first[..],
        "the second request extends the first"
    );
    assert_eq!(last_user_message(&requests[1]), "and then?");
    let started: Vec<Value> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "session_started")
        .collect();
    assert_eq!(started.len(), 2);
    assert_eq!(started[0]["session_id"], started[1]["session_id"]);
}

#[tokio::test]
async fn ctrl_c_cancels_a_long_command_and_the_conversation_goes_on() {
    let marker = format!("sleep 3{}", std::process::id() % 1000);
    let sandbox = Sandbox::new(&[]);
    let command = format!(r#"{{"command":"{marker}; echo never"}}"#);
    let mock = MockGlm::start(vec![
        turn().call("c1", "run_command", &command).reply(),
        turn().content("back again").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["-y"], &[], |session| {
        session.expect("›").unwrap();
        session.send("wait a long time\r").unwrap();
        session.expect("run_command").unwrap();
        session.send("\x03").unwrap();
        session.expect("interrupted").unwrap();
        session.expect("›").unwrap();
        session.send("are you there?\r").unwrap();
        session.expect("back again").unwrap();
        session.expect("›").unwrap();
        session.send("/exit\r").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    support::assert_no_process(&marker);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "the cancelled turn asked nothing more");
    assert_eq!(last_user_message(&requests[1]), "are you there?");
    let finished: Vec<Value> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "finished")
        .map(|event| event["outcome"]["kind"].clone())
        .collect();
    assert_eq!(finished[0], "interrupted", "{finished:?}");
}

#[tokio::test]
async fn diff_and_undo_act_on_the_last_turn() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"new\n"}"#)
            .reply(),
        turn().content("Rewritten.").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["--approval", "edits"], &[], |session| {
        session.expect("›").unwrap();
        session.send("rewrite a.txt\r").unwrap();
        session.expect("Rewritten.").unwrap();
        session.expect("›").unwrap();
        session.send("/diff\r").unwrap();
        session.expect("+new").unwrap();
        session.expect("›").unwrap();
        session.send("/undo\r").unwrap();
        session.expect("undid").unwrap();
        session.expect("›").unwrap();
        session.send("/bogus\r").unwrap();
        session.expect("unknown command /bogus").unwrap();
        session.expect("›").unwrap();
        session.send("/exit\r").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

#[tokio::test]
async fn a_mentioned_file_and_a_shell_commands_output_reach_the_model() {
    let sandbox = Sandbox::new(&[("notes.txt", "alpha\nbeta\ngamma\n")]);
    let mock = MockGlm::start(vec![turn().content("seen").reply()]).await;
    let code = in_terminal(&sandbox, &mock, &[], &[], |session| {
        session.expect("›").unwrap();
        session.send("!echo shell-said-hi\r").unwrap();
        session.expect("exit code 0").unwrap();
        session.expect("›").unwrap();
        session.send("@missing.txt please\r").unwrap();
        session.expect("cannot read it").unwrap();
        session.expect("›").unwrap();
        // The message came back for correcting: clear it, then send the right one.
        session.send("\x15look at @notes.txt:2-3\r").unwrap();
        session.expect("seen").unwrap();
        session.expect("›").unwrap();
        session.send("\x04").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        mock.tasks_asked(),
        [
            "[I ran `echo shell-said-hi` (exit code 0):]\n```\nshell-said-hi\n```\n\nlook at @notes.txt:2-3\n\n<file path=\"notes.txt lines 2-3\">\nbeta\ngamma\n</file>"
        ]
    );
}

#[tokio::test]
async fn an_edit_is_reviewed_inline() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"new\n"}"#)
            .reply(),
        turn().content("Asked.").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &[], &[], |session| {
        session.expect("›").unwrap();
        session.send("rewrite a.txt\r").unwrap();
        session.expect("Apply?").unwrap();
        session.send("n").unwrap();
        session.expect("Asked.").unwrap();
        session.expect("›").unwrap();
        session.send("\x04").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

#[tokio::test]
async fn continue_shows_the_last_turns_and_goes_on_with_them() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn().content("the first answer").reply(),
        turn().content("the follow-up answer").reply(),
    ])
    .await;
    let mut first = sandbox.agent(&mock);
    first.args(["run", "the first question"]);
    assert_eq!(finish(first).await.code, 0);
    let code = in_terminal(&sandbox, &mock, &["-c"], &[], |session| {
        session.expect("the first question").unwrap();
        session.expect("the first answer").unwrap();
        session.expect("›").unwrap();
        session.send("and now?\r").unwrap();
        session.expect("the follow-up answer").unwrap();
        session.expect("›").unwrap();
        session.send("\x04").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    let requests = mock.requests();
    let (first, second) = (messages(&requests[0]), messages(&requests[1]));
    assert_eq!(second[..first.len()], first[..]);
}

#[tokio::test]
async fn without_a_terminal_it_says_to_use_run() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let run = finish(sandbox.agent(&mock)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("agent run"), "{}", run.stderr);
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn the_users_hooks_run_in_the_conversation() {
    let sandbox = Sandbox::new(&[]);
    sandbox.user_config(support::BLOCKING_HOOK);
    let mock = MockGlm::start(support::command_then_answer()).await;
    let code = in_terminal(&sandbox, &mock, &["-y"], &[], |session| {
        session.expect("›").unwrap();
        session.send("make a file\r").unwrap();
        session.expect("blocked it: no commands here").unwrap();
        session.expect("done").unwrap();
        session.expect("›").unwrap();
        session.send("/exit\r").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert!(!sandbox.path("made.txt").exists());
    assert_eq!(
        support::tool_result(&mock.requests(), "c1"),
        support::NO_COMMANDS
    );
}
