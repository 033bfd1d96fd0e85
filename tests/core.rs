//! One session core under every front end: what happens while a session opens reaches the user
//! of `agent run --json`, of `agent batch` and of `agent serve` alike (an editor's is in
//! tests/acp.rs), and the daemon's dry run shows its edits to its client, not on its stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::daemon::{Daemon, write_then_answer};
use support::{MockGlm, Sandbox, finish, turn};

const BROKEN_SERVER: &str = "[mcp_servers.broken]\ncommand = \"/nonexistent/mcp-server\"\n";

fn notice_of(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event["type"] == "notice")
        .cloned()
        .collect()
}

fn broken_server_notice(events: &[Value]) -> Value {
    let notices = notice_of(events);
    assert_eq!(notices.len(), 1, "{events:?}");
    let message = notices[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("MCP server `broken` left out"),
        "{message}"
    );
    json!({"type": notices[0]["type"], "about": notices[0]["about"]})
}

#[tokio::test]
async fn run_json_prints_the_notice_after_the_session_starts() {
    let sandbox = Sandbox::new(&[(".agent/config.toml", BROKEN_SERVER)]);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--json", "hello"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "session_started");
    assert_eq!(
        broken_server_notice(&events),
        json!({"type": "notice", "about": "mcp_server"})
    );
    assert_eq!(events[1]["type"], "notice");
    assert_eq!(
        broken_server_notice(&sandbox.transcript_events()),
        json!({"type": "notice", "about": "mcp_server"})
    );
}

#[tokio::test]
async fn a_batch_task_says_which_task_lost_its_server() {
    let sandbox = Sandbox::new(&[(".agent/config.toml", BROKEN_SERVER)]);
    std::fs::write(
        sandbox.path("tasks.jsonl"),
        format!("{}\n", json!({"id": "t1", "task": "hello"})),
    )
    .unwrap();
    support::init_repository(&sandbox.workspace);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["batch", "tasks.jsonl", "--out", "out"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("t1: MCP server `broken` left out"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_daemon_streams_the_notice_to_its_client() {
    let sandbox = Sandbox::new(&[(".agent/config.toml", BROKEN_SERVER)]);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "hello").await;
    let events: Vec<Value> = daemon
        .events(&session, None)
        .await
        .until("finished")
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(
        broken_server_notice(&events),
        json!({"type": "notice", "about": "mcp_server"})
    );
}

#[tokio::test]
async fn a_dry_run_session_of_the_daemon_shows_its_edit_to_the_client() {
    let sandbox = Sandbox::new(&[("a.txt", "old\n")]);
    let mock = MockGlm::start(write_then_answer()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let created = daemon
        .create_with(json!({
            "workspace": sandbox.workspace,
            "task": "rewrite a.txt",
            "approval": "none",
        }))
        .await;
    let session = created["id"].as_str().unwrap();
    let events = daemon.events(session, None).await.until("finished").await;
    let asked: Vec<&Value> = events
        .iter()
        .map(|(_, event)| event)
        .filter(|event| event["type"] == "approval_requested")
        .collect();
    assert_eq!(asked[0]["action"]["kind"], "edit");
    assert!(
        asked[0]["action"]["diff"]
            .as_str()
            .unwrap()
            .contains("+new"),
        "{asked:?}"
    );
    let decided: Vec<&Value> = events
        .iter()
        .map(|(_, event)| event)
        .filter(|event| event["type"] == "approval_decided")
        .collect();
    assert_eq!(
        json!({"approved": decided[0]["approved"], "by": decided[0]["by"]}),
        json!({"approved": false, "by": "settings"})
    );
    assert_eq!(sandbox.read("a.txt"), "old\n");
}

/// A plan sent, a broken one refused, then the answer.
fn planning() -> Vec<support::Reply> {
    let plan = r#"{"explanation":"Two steps.","plan":[{"step":"Find the cause","status":"completed"},{"step":"Fix it","status":"in_progress"}]}"#;
    let broken = r#"{"plan":[{"step":"Find the cause","status":"in_progress"},{"step":"Fix it","status":"in_progress"}]}"#;
    vec![
        turn().call("p1", "update_plan", plan).reply(),
        turn().call("p2", "update_plan", broken).reply(),
        turn().content("planned").reply(),
    ]
}

fn the_plan() -> Value {
    json!([
        {"step": "Find the cause", "status": "completed"},
        {"step": "Fix it", "status": "in_progress"},
    ])
}

#[tokio::test]
async fn a_plan_is_an_event_a_broken_one_is_refused_and_the_terminal_shows_it() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(planning()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--json", "plan it"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plans: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["type"] == "plan")
        .collect();
    assert_eq!(
        plans,
        vec![json!({"type": "plan", "explanation": "Two steps.", "plan": the_plan()})]
    );
    assert_eq!(
        support::tool_result(&mock.requests(), "p2"),
        "the plan was not changed: steps 1, 2 are all in_progress; at most one step is in_progress at a time"
    );

    let mock = MockGlm::start(planning()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "plan it again"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plan:\n  ✔ Find the cause\n  ▶ Fix it\n"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_daemon_gives_the_plan_with_the_session_and_a_batch_with_its_result() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(planning()).await;
    let daemon = Daemon::start(&sandbox, &mock).await;
    let session = daemon.create(&sandbox, "plan it").await;
    daemon.events(&session, None).await.until("finished").await;
    assert_eq!(daemon.session(&session).await["plan"], the_plan());
    let listed = daemon.get_json("/v1/sessions").await;
    assert_eq!(listed[0].get("plan"), None);

    std::fs::write(
        sandbox.path("tasks.jsonl"),
        format!("{}\n", json!({"id": "t1", "task": "plan it"})),
    )
    .unwrap();
    support::init_repository(&sandbox.workspace);
    let mock = MockGlm::start(planning()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["batch", "tasks.jsonl", "--out", "out"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result: Value = serde_json::from_str(
        std::fs::read_to_string(sandbox.path("out/results.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(result["plan"], the_plan());
}
