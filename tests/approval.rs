//! Approval modes, the read-only allowlist, settings rules, and checkpoints: `agent undo` and
//! `agent diff` over the edit journal. All unattended (no terminal).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::{MockGlm, Sandbox, finish, tool_result, turn};

fn edit_and_commands() -> Vec<support::Reply> {
    vec![
        turn()
            .call(
                "w1",
                "write_file",
                r#"{"path":"new.txt","content":"hello\n"}"#,
            )
            .call(
                "c1",
                "run_command",
                r#"{"command":"cat new.txt 2>&1 | wc -l"}"#,
            )
            .call(
                "c2",
                "run_command",
                r#"{"command":"touch side-effect.txt"}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ]
}

#[tokio::test]
async fn edits_mode_applies_edits_and_runs_only_read_only_commands() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(edit_and_commands()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--approval", "edits", "go"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(sandbox.read("new.txt"), "hello\n");
    let requests = mock.requests();
    assert_eq!(tool_result(&requests, "c1"), "exit code: 0\n1\n");
    assert!(tool_result(&requests, "c2").contains("no one is at a terminal to approve it"));
    assert!(!sandbox.path("side-effect.txt").exists());
}

#[tokio::test]
async fn none_mode_is_a_dry_run_that_shows_the_diff() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(edit_and_commands()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--approval", "none", "go"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(!sandbox.path("new.txt").exists());
    assert!(run.stderr.contains("+hello"), "{}", run.stderr);
    let requests = mock.requests();
    assert!(tool_result(&requests, "w1").contains("dry run (--approval none)"));
    assert!(tool_result(&requests, "c1").contains("dry run (--approval none)"));
}

#[tokio::test]
async fn settings_rules_allow_and_deny_commands() {
    let sandbox = Sandbox::new(&[(
        ".agent/config.toml",
        "allow_commands = [\"touch allowed\"]\ndeny_commands = [\"git push\"]\n",
    )]);
    let mock = MockGlm::start(vec![
        turn()
            .call("a1", "run_command", r#"{"command":"touch allowed.txt"}"#)
            .call(
                "a2",
                "run_command",
                r#"{"command":"touch allowed.txt; touch sneaky.txt"}"#,
            )
            .call("a3", "run_command", r#"{"command":"git push origin main"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    // A rule is a word prefix: "touch allowed" does not cover "touch allowed.txt".
    command.args(["run", "--yes", "go"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let requests = mock.requests();
    assert!(
        tool_result(&requests, "a3")
            .contains("commands starting with `git push` are denied by the settings")
    );
    assert!(
        sandbox.path("sneaky.txt").exists(),
        "--yes runs everything not denied"
    );

    let sandbox = Sandbox::new(&[(
        ".agent/config.toml",
        "allow_commands = [\"touch allowed.txt\"]\n",
    )]);
    let mock = MockGlm::start(vec![
        turn()
            .call("b1", "run_command", r#"{"command":"touch allowed.txt"}"#)
            .call(
                "b2",
                "run_command",
                r#"{"command":"touch allowed.txt; touch sneaky.txt"}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "go"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(sandbox.path("allowed.txt").exists());
    assert!(
        !sandbox.path("sneaky.txt").exists(),
        "an allow rule covers one plain command, not a list"
    );
}

/// Two turns of edits with --yes, returning the sandbox after the session.
async fn two_turn_session() -> Sandbox {
    let sandbox = Sandbox::new(&[("a.txt", "one\n"), ("b.txt", "bee\n")]);
    let first = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+ONE\n";
    let second = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-ONE\n+ONE!\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bee\n";
    let mock = MockGlm::start(vec![
        turn()
            .call("t1", "apply_diff", &json!({"diff": first}).to_string())
            .reply(),
        turn()
            .call("t2", "apply_diff", &json!({"diff": second}).to_string())
            .call("t3", "write_file", r#"{"path":"c.txt","content":"sea\n"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "edit"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    sandbox
}

async fn agent_history(sandbox: &Sandbox, args: &[&str]) -> support::Finished {
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(args);
    finish(command).await
}

#[tokio::test]
async fn undo_reverts_one_turn_at_a_time_and_diff_shows_the_session() {
    let sandbox = two_turn_session().await;
    assert_eq!(
        (
            sandbox.read("a.txt").as_str(),
            sandbox.path("b.txt").exists(),
            sandbox.read("c.txt").as_str()
        ),
        ("ONE!\n", false, "sea\n")
    );

    let diff = agent_history(&sandbox, &["diff"]).await;
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert_eq!(
        diff.stdout,
        "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+ONE!\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bee\n--- /dev/null\n+++ b/c.txt\n@@ -0,0 +1 @@\n+sea\n"
    );

    let undo = agent_history(&sandbox, &["undo"]).await;
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stdout.starts_with("undid turn 2 of "),
        "{}",
        undo.stdout
    );
    assert_eq!(
        (
            sandbox.read("a.txt").as_str(),
            sandbox.read("b.txt").as_str(),
            sandbox.path("c.txt").exists()
        ),
        ("ONE\n", "bee\n", false)
    );

    let undo = agent_history(&sandbox, &["undo"]).await;
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stdout.starts_with("undid turn 1 of "),
        "{}",
        undo.stdout
    );
    assert_eq!(sandbox.read("a.txt"), "one\n");

    let nothing = agent_history(&sandbox, &["undo"]).await;
    assert_eq!(nothing.code, 1);
    assert_eq!(
        nothing.stderr,
        "error: nothing to undo: every edit of this session was already undone\n"
    );
}

#[tokio::test]
async fn undo_refuses_after_an_outside_edit_and_undoes_a_whole_session() {
    let sandbox = two_turn_session().await;
    std::fs::write(sandbox.path("c.txt"), "changed by hand\n").unwrap();
    let refused = agent_history(&sandbox, &["undo"]).await;
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        "error: `c.txt` was changed by someone else since the agent edited it; refusing to undo (nothing was changed)\n"
    );
    assert_eq!(sandbox.read("a.txt"), "ONE!\n");

    std::fs::write(sandbox.path("c.txt"), "sea\n").unwrap();
    let session = sandbox.transcript_events()[0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let undo = agent_history(&sandbox, &["undo", "--session", &session]).await;
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stdout
            .starts_with(&format!("undid the whole session of {session}:")),
        "{}",
        undo.stdout
    );
    assert_eq!(
        (
            sandbox.read("a.txt").as_str(),
            sandbox.read("b.txt").as_str(),
            sandbox.path("c.txt").exists()
        ),
        ("one\n", "bee\n", false)
    );
}
