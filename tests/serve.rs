//! `agent serve` over real HTTP against the mock GLM: the token and the Origin check, a session
//! whose edit is approved or denied over HTTP while its events stream over SSE, reconnecting with
//! `Last-Event-ID` without a gap or a duplicate, a busy session answering 409, a repeated
//! request id running once, and the first answer to an approval winning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::daemon::{Daemon, write_then_answer};
use support::{MockGlm, Sandbox, turn};

#[tokio::test]
async fn the_token_and_the_origin_guard_every_route_but_health() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let url = |path: &str| format!("{}{path}", daemon.url);
    let status = |response: reqwest::Response| response.status().as_u16();
    let http = &daemon.http;
    assert_eq!(status(http.get(url("/health")).send().await.unwrap()), 200);
    assert_eq!(
        status(http.get(url("/v1/sessions")).send().await.unwrap()),
        401
    );
    let wrong = http.get(url("/v1/sessions")).bearer_auth("wrong");
    assert_eq!(status(wrong.send().await.unwrap()), 401);
    let foreign = daemon
        .get("/v1/sessions")
        .header("Origin", "https://evil.example");
    assert_eq!(status(foreign.send().await.unwrap()), 403);
    let own = daemon
        .get("/v1/sessions")
        .header("Origin", daemon.url.clone());
    assert_eq!(status(own.send().await.unwrap()), 200);
}

#[tokio::test]
async fn a_public_address_needs_a_configured_token() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(sandbox.dir.path().join("daemon"));
    let run = support::finish(command).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("AGENT_SERVE_TOKEN"), "{}", run.stderr);
}

#[tokio::test]
async fn an_edit_approved_over_http_is_applied_and_the_first_answer_wins() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let pending: Value = daemon
        .get(&format!("/v1/sessions/{session}/approvals"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending[0]["call_id"], "w1");
    assert_eq!(pending[0]["question"]["files"][0]["new"], "new\n");
    let listed: Value = daemon
        .get("/v1/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["state"], "waiting_for_approval");
    assert_eq!(daemon.answer_w1(&session, "approve").await.status(), 200);
    assert_eq!(daemon.answer_w1(&session, "deny").await.status(), 409);
    events.until("finished").await;
    assert_eq!(sandbox.read("a.txt"), "new\n");
    let diff = daemon
        .get(&format!("/v1/sessions/{session}/diff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(diff, "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new\n");
}

#[tokio::test]
async fn a_denied_edit_changes_nothing() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let denied = daemon.answer_w1(&session, "deny").await;
    assert_eq!(denied.status(), 200);
    events.until("finished").await;
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

#[tokio::test]
async fn reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "rewrite a.txt").await;
    let mut first = daemon.events(&session, None).await;
    let before = first.until("approval_requested").await;
    let (dropped_after, _) = *before.first().unwrap();
    drop(first);
    daemon.answer_w1(&session, "approve").await;
    let mut again = daemon.events(&session, Some(dropped_after)).await;
    let after = again.until("finished").await;
    let ids: Vec<u64> = after.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u64> = (dropped_after + 1..=dropped_after + ids.len() as u64).collect();
    assert_eq!(ids, expected, "no gap, no duplicate");
    let mut whole = daemon.events(&session, None).await;
    let all = whole.until("finished").await;
    assert_eq!(all[0].0, 1);
    assert_eq!(all.last().unwrap().0, *ids.last().unwrap());
}

#[tokio::test]
async fn a_busy_session_answers_409_and_a_repeated_request_runs_once() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = write_then_answer();
    replies.push(turn().content("Follow-up done.").reply());
    let mock = MockGlm::start(replies).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let (session, mut events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let message = |request_id: &str| {
        daemon.post(
            &format!("/v1/sessions/{session}/messages"),
            json!({"text": "and then?", "request_id": request_id}),
        )
    };
    assert_eq!(message("m1").send().await.unwrap().status(), 409);
    daemon.answer_w1(&session, "approve").await;
    events.until("finished").await;
    assert_eq!(message("m1").send().await.unwrap().status(), 202);
    let repeated = message("m1").send().await.unwrap();
    assert_eq!(repeated.status(), 200);
    assert_eq!(
        repeated.json::<Value>().await.unwrap(),
        json!({"duplicate": true})
    );
    events.until("finished").await;
    assert_eq!(mock.requests().len(), 3, "the follow-up ran once");
}

#[tokio::test]
async fn after_kill_9_the_events_are_there_and_a_message_continues_the_interrupted_session() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = write_then_answer();
    replies.push(turn().content("Picked up again.").reply());
    let mock = MockGlm::start(replies).await;
    let mut daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "rewrite a.txt").await;
    let mut events = daemon.events(&session, None).await;
    let seen = events.until("approval_requested").await;
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();

    let daemon = Daemon::start(&sandbox, &mock).await;
    assert_eq!(daemon.session(&session).await["state"], "interrupted");
    let mut replayed = daemon.events(&session, None).await;
    let again = replayed.until("approval_requested").await;
    assert_eq!(
        again, seen,
        "every event sent before the kill is still there"
    );
    let continued = daemon
        .post(
            &format!("/v1/sessions/{session}/messages"),
            json!({"text": "go on", "request_id": "after-restart"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(continued.status(), 202);
    replayed.until("finished").await;
    assert_eq!(
        sandbox.read("a.txt"),
        "old\n",
        "the unanswered edit was not applied"
    );
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn beyond_max_running_sessions_wait_queued() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mut replies = write_then_answer();
    replies.push(turn().content("second done").reply());
    let mock = MockGlm::start(replies).await;
    let daemon = Daemon::start_with(&sandbox, &mock, &["--max-running", "1"]).await;
    let (first, _events) = daemon.create_asking(&sandbox, "rewrite a.txt").await;
    let second = daemon.create(&sandbox, "something else").await;
    assert_eq!(daemon.session(&second).await["state"], "queued");
    daemon.answer_w1(&first, "approve").await;
    let mut second_events = daemon.events(&second, None).await;
    second_events.until("finished").await;
    daemon.wait_for_state(&second, "idle").await;
}

#[tokio::test]
async fn a_session_may_ask_for_another_model() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let workspace = sandbox.workspace.canonicalize().unwrap();
    let created: Value = daemon
        .post(
            "/v1/sessions",
            json!({"workspace": workspace, "task": "hi", "model": "glm-4.7"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["id"].as_str().unwrap();
    daemon.events(session, None).await.until("finished").await;
    assert_eq!(mock.requests()[0].body["model"], "glm-4.7");
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let served: Value = daemon
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap();
        std::fs::write(&path, format!("{text}\n")).unwrap();
    }
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        served, committed,
        "openapi.json is out of date: UPDATE_OPENAPI=1 cargo test --test serve openapi"
    );
    let paths: Vec<&String> = served["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 11, "{paths:?}");
}

#[tokio::test]
async fn the_session_list_is_pushed_as_sessions_change() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(support::daemon::write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let mut changes = daemon.changes().await;
    assert_eq!(
        changes.next_named().await,
        ("sessions".to_string(), json!([]))
    );
    let session = daemon.create(&sandbox, "rewrite a.txt").await;
    // Each change is sent as the session is when it is read: a quick one may be seen once.
    let mut states = Vec::new();
    until_state(&mut changes, &session, &mut states, "waiting_for_approval").await;
    daemon.answer_w1(&session, "approve").await;
    until_state(&mut changes, &session, &mut states, "idle").await;
    let order = [
        "queued",
        "running",
        "waiting_for_approval",
        "running",
        "idle",
    ];
    let mut rest = order.iter();
    for state in &states {
        assert!(rest.any(|expected| expected == state), "{states:?}");
    }
    let forgotten = daemon
        .delete(&format!("/v1/sessions/{session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forgotten.status(), 200);
    assert_eq!(
        changes.next_named().await,
        ("forgotten".to_string(), json!({"id": session}))
    );
}

/// Reads pushed changes of `session` until it is in state `wanted`, noting each new state.
async fn until_state(
    changes: &mut support::daemon::Events,
    session: &str,
    states: &mut Vec<String>,
    wanted: &str,
) {
    loop {
        let (name, row) = changes.next_named().await;
        assert_eq!(name, "session");
        assert_eq!(row["id"], session);
        let updated = row["updated"].as_str().unwrap();
        assert_eq!(updated.len(), 20, "{updated}");
        assert!(updated.ends_with('Z'), "{updated}");
        let state = row["state"].as_str().unwrap().to_string();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if state == wanted {
            return;
        }
    }
}
