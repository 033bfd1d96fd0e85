//! `agent serve`'s approvals beyond yes and no, and its scheduling: an approval left pending by
//! `kill -9` or SIGTERM continues the turn when answered after the restart; a denial's reason
//! and a choice of hunks reach the model; answers that do not fit the question are refused; two
//! sessions never edit one directory at once; an isolated session works in a worktree (deleted
//! when the session is forgotten, the patch kept); a waiting session is not forgotten; work
//! queued at a kill runs after the restart; the settings' `snapshot = false` is followed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::daemon::{Daemon, write_then_answer};
use support::{MockGlm, Sandbox, numbered, tool_result, turn};

#[tokio::test]
async fn after_kill_9_answering_the_pending_approval_continues_the_turn() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "rewrite a.txt").await;
    let seen = daemon
        .events(&session, None)
        .await
        .until("approval_requested")
        .await;
    daemon.kill().await;

    let daemon = Daemon::start(&sandbox, &mock).await;
    let pending = daemon.approvals(&session).await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["call_id"], "w1");
    let approved = daemon
        .answer(&session, "w1", json!({"decision": "approve"}))
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(
        approved.json::<Value>().await.unwrap(),
        json!({"answered": "approve", "continued": true})
    );
    let last_seen = seen.last().unwrap().0;
    let after = daemon
        .events(&session, Some(last_seen))
        .await
        .until("finished")
        .await;
    let kinds: Vec<&str> = after
        .iter()
        .map(|(_, event)| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "calls_resumed", "{kinds:?}");
    assert!(kinds.contains(&"tool_result"), "{kinds:?}");
    assert_eq!(sandbox.read("a.txt"), "new\n");
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        daemon
            .answer(&session, "w1", json!({"decision": "deny"}))
            .await
            .status(),
        409
    );
    daemon.wait_for_state(&session, "idle").await;
}

#[tokio::test]
async fn sigterm_keeps_a_pending_approval_for_after_the_restart() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, _events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    assert_eq!(daemon.terminate().await, Some(0));

    let daemon = Daemon::start(&sandbox, &mock).await;
    assert_eq!(daemon.session(&session).await["state"], "interrupted");
    assert_eq!(sandbox.read("a.txt"), "old\n");
    assert_eq!(daemon.approvals(&session).await[0]["call_id"], "w1");
    let approved = daemon.answer_w1(&session, "approve").await;
    assert_eq!(approved.status(), 200);
    daemon.events(&session, None).await.until("finished").await;
    assert_eq!(sandbox.read("a.txt"), "new\n");
}

#[tokio::test]
async fn a_denial_s_reason_reaches_the_model() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let misfit = daemon
        .answer(
            &session,
            "w1",
            json!({"decision": "approve", "reason": "why not"}),
        )
        .await;
    assert_eq!(misfit.status(), 400);
    assert_eq!(
        misfit.json::<Value>().await.unwrap(),
        json!({"error": "`reason` goes with `deny` only"})
    );
    let denied = daemon
        .answer(
            &session,
            "w1",
            json!({"decision": "deny", "reason": "keep the old wording"}),
        )
        .await;
    assert_eq!(denied.status(), 200);
    events.until("finished").await;
    assert_eq!(sandbox.read("a.txt"), "old\n");
    let told = tool_result(&mock.requests(), "w1");
    assert!(told.contains("keep the old wording"), "{told}");
}

#[tokio::test]
async fn approving_some_hunks_applies_only_those_and_tells_the_model() {
    let sandbox = Sandbox::new(&[("a.txt", &numbered(false))]);
    let arguments = json!({"path": "a.txt", "content": numbered(true)}).to_string();
    let mock = MockGlm::start(vec![
        turn().call("w1", "write_file", &arguments).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "renumber").await;
    let question = &daemon.approvals(&session).await[0]["question"];
    let hunks = question["files"][0]["hunks"].as_array().unwrap().clone();
    assert_eq!(hunks.len(), 2, "{question}");
    assert_eq!(hunks[0]["header"], "@@ -1,5 +1,5 @@");
    assert_eq!(
        hunks[0]["diff"],
        "@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n"
    );
    let beyond = daemon
        .answer(
            &session,
            "w1",
            json!({"decision": "approve", "hunks": {"a.txt": [2]}}),
        )
        .await;
    assert_eq!(beyond.status(), 400);
    let first_only = daemon
        .answer(
            &session,
            "w1",
            json!({"decision": "approve", "hunks": {"a.txt": [0]}}),
        )
        .await;
    assert_eq!(first_only.status(), 200);
    events.until("finished").await;
    assert_eq!(
        sandbox.read("a.txt"),
        numbered(false).replace("line 2\n", "line two\n")
    );
    let told = tool_result(&mock.requests(), "w1");
    assert!(
        told.contains("applied 1 of 2 hunks; rejected: @@ -22,7 +22,7 @@"),
        "{told}"
    );
}

#[tokio::test]
async fn two_sessions_never_edit_one_directory_at_once() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = write_then_answer();
    replies.push(turn().content("second done").reply());
    let mock = MockGlm::start(replies).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (first, _events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let second = daemon.create(&sandbox, "something else").await;
    assert_eq!(daemon.session(&second).await["state"], "queued");
    assert_eq!(mock.requests().len(), 1, "the second did not start");
    daemon.answer_w1(&first, "approve").await;
    daemon.events(&second, None).await.until("finished").await;
    let tasks = mock.tasks_asked();
    assert_eq!(
        tasks,
        vec!["rewrite a.txt", "rewrite a.txt", "something else"]
    );
}

#[tokio::test]
async fn an_isolated_session_works_in_a_worktree_and_leaves_its_change_for_agent_apply() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    support::init_repository(&sandbox.workspace);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let workspace = sandbox.workspace.canonicalize().unwrap();
    let created = daemon
        .create_with(json!({"workspace": workspace, "task": "rewrite a.txt", "approval": "edits", "isolate": true}))
        .await;
    let session = created["id"].as_str().unwrap();
    let worktree = std::path::PathBuf::from(created["worktree"].as_str().unwrap());
    daemon.events(session, None).await.until("finished").await;
    assert_eq!(sandbox.read("a.txt"), "old\n", "the workspace is untouched");
    assert_eq!(
        std::fs::read_to_string(worktree.join("a.txt")).unwrap(),
        "new\n"
    );
    let diff = daemon
        .get(&format!("/v1/sessions/{session}/diff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(diff.contains("-old\n+new\n"), "{diff}");
    daemon.wait_for_state(session, "idle").await;

    let forgotten = daemon
        .delete(&format!("/v1/sessions/{session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forgotten.status(), 200);
    assert!(
        !worktree.exists(),
        "forgetting the session deletes its worktree"
    );
    let gone = daemon
        .get(&format!("/v1/sessions/{session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    let mut apply = sandbox.agent(&mock);
    apply.args(["apply", session, "--yes"]);
    let applied = support::finish(apply).await;
    assert_eq!(
        applied.code, 0,
        "the saved patch outlives the session: {}",
        applied.stderr
    );
    assert_eq!(sandbox.read("a.txt"), "new\n");
}

#[tokio::test]
async fn a_session_waiting_for_approval_is_not_forgotten() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, _events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let refused = daemon
        .delete(&format!("/v1/sessions/{session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert_eq!(daemon.session(&session).await["id"], session.as_str());
    let unknown = daemon.delete("/v1/sessions/nope").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn work_queued_at_a_kill_9_runs_after_the_restart() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = write_then_answer();
    replies.push(turn().content("second done").reply());
    let mock = MockGlm::start(replies[..1].to_vec()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let first = daemon.create(&sandbox, "rewrite a.txt").await;
    daemon
        .events(&first, None)
        .await
        .until("approval_requested")
        .await;
    let second = daemon.create(&sandbox, "something else").await;
    assert_eq!(daemon.session(&second).await["state"], "queued");
    daemon.kill().await;

    let mock = MockGlm::start(vec![replies[2].clone()]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let events = daemon.events(&second, None).await.until("finished").await;
    assert_eq!(events[0].1["task"], "something else");
    assert_eq!(mock.tasks_asked(), vec!["something else"]);
    daemon.wait_for_state(&second, "idle").await;
    assert_eq!(daemon.session(&first).await["state"], "interrupted");
}

/// Regression: sessions of the daemon (and of editors) left the snapshot in whatever the
/// settings said.
#[tokio::test]
async fn a_daemon_session_follows_snapshot_false_in_the_settings() {
    let sandbox = Sandbox::new(&[(".agent/config.toml", "snapshot = false\n")]);
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let workspace = sandbox.workspace.canonicalize().unwrap();
    let created = daemon
        .create_with(json!({"workspace": workspace, "task": "hi"}))
        .await;
    let session = created["id"].as_str().unwrap();
    daemon.events(session, None).await.until("finished").await;
    let context = support::context_of(&mock.requests()[0].body);
    assert!(context.starts_with("The workspace is"), "{context}");
    assert!(!context.contains("# Workspace snapshot"), "{context}");
}

#[tokio::test]
async fn an_edit_file_call_is_approved_hunk_by_hunk_like_any_edit() {
    let sandbox = Sandbox::new(&[("a.txt", &numbered(false))]);
    let arguments = json!({"path": "a.txt", "edits": [
        {"old_string": "line 2\n", "new_string": "line two\n"},
        {"old_string": "line 25\n", "new_string": "line twenty-five\n"}
    ]})
    .to_string();
    let mock = MockGlm::start(vec![
        turn().call("e1", "edit_file", &arguments).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "renumber").await;
    let question = &daemon.approvals(&session).await[0]["question"];
    let headers: Vec<&str> = question["files"][0]["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hunk| hunk["header"].as_str().unwrap())
        .collect();
    assert_eq!(headers, ["@@ -1,5 +1,5 @@", "@@ -22,7 +22,7 @@"]);
    let second_only = daemon
        .answer(
            &session,
            "e1",
            json!({"decision": "approve", "hunks": {"a.txt": [1]}}),
        )
        .await;
    assert_eq!(second_only.status(), 200);
    events.until("finished").await;
    assert_eq!(
        sandbox.read("a.txt"),
        numbered(false).replace("line 25\n", "line twenty-five\n")
    );
}
