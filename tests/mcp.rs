//! Tools of MCP servers: a real server from the npm registry (`@modelcontextprotocol/server-everything`,
//! installed by the tests from `tests/mcp/package-lock.json`) started from the workspace's config, its
//! tools offered to the model as `server__tool`, calls approved like commands unless the server
//! marks the tool read-only, and the server ended with the session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use expectrl::Expect;
use serde_json::Value;
use support::terminal::in_terminal;
use support::{MockGlm, Sandbox, finish, tool_result, turn};

fn everything_server() -> PathBuf {
    let path = support::npm::npm_packages("mcp")
        .join("@modelcontextprotocol/server-everything/dist/index.js");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A workspace whose config starts the everything server under a name of its own, which the
/// server's command line then carries (to find its processes).
fn sandbox_with_server(marker: &str) -> Sandbox {
    let sandbox = Sandbox::new(&[]);
    let script = sandbox.path(&format!("{marker}.js"));
    std::os::unix::fs::symlink(everything_server(), &script).unwrap();
    let config = format!(
        "[mcp_servers.everything]\ncommand = \"node\"\nargs = [\"{}\"]\nenv = {{ MCP_TEST_TOKEN = \"token:${{MCP_TEST_SOURCE}}\" }}\n\n[mcp_servers.broken]\ncommand = \"/nonexistent/mcp-server\"\n",
        script.display()
    );
    std::fs::create_dir_all(sandbox.path(".agent")).unwrap();
    std::fs::write(sandbox.path(".agent/config.toml"), config).unwrap();
    sandbox
}

/// Waits until no process has `marker` on its command line.
fn wait_for_no_process(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", marker])
            .output()
            .unwrap();
        if found.stdout.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the MCP server outlived the session"
        );
        std::thread::yield_now();
    }
}

#[tokio::test]
async fn a_read_only_tool_runs_and_its_text_comes_back() {
    let marker = format!("mcp-everything-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    let mock = MockGlm::start(vec![
        turn()
            .call("m1", "everything__echo", r#"{"message":"hello over MCP"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "echo something"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("MCP server `broken` left out"),
        "{}",
        run.stderr
    );

    let requests = mock.requests();
    let echo: Vec<&Value> = requests[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tool| tool["function"]["name"] == "everything__echo")
        .collect();
    assert_eq!(echo.len(), 1);
    assert_eq!(
        echo[0]["function"]["parameters"]["properties"]["message"]["type"],
        "string"
    );
    assert_eq!(
        requests[0].body["tools"][0]["function"]["name"], "read_file",
        "our tools come first"
    );
    assert_eq!(tool_result(&requests, "m1"), "Echo: hello over MCP");
    wait_for_no_process(&marker);
}

#[tokio::test]
async fn other_tools_need_approval() {
    let marker = format!("mcp-approval-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    let call = turn()
        .call("t1", "everything__toggle-simulated-logging", "{}")
        .reply();
    let mock = MockGlm::start(vec![
        call.clone(),
        turn().content("not allowed").reply(),
        call,
        turn().content("done").reply(),
    ])
    .await;
    let mut unattended = sandbox.agent(&mock);
    unattended.args(["run", "toggle logging"]);
    let unattended = finish(unattended).await;
    assert_eq!(unattended.code, 5, "{}", unattended.stderr);
    assert_eq!(
        tool_result(&mock.requests()[..2], "t1"),
        "the user did not approve this call; it was not made. Reason: no one is at a terminal to approve it (use --yes or --approval)"
    );

    // Allowed in the settings: called without a question, even with no one at the terminal.
    let config = std::fs::read_to_string(sandbox.path(".agent/config.toml")).unwrap();
    std::fs::write(
        sandbox.path(".agent/config.toml"),
        format!("allow_tools = [\"everything__toggle-simulated-logging\"]\n{config}"),
    )
    .unwrap();
    let mut approved = sandbox.agent(&mock);
    approved.args(["run", "toggle logging"]);
    let approved = finish(approved).await;
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let result = tool_result(&mock.requests()[2..], "t1");
    assert!(result.to_lowercase().contains("logging"), "{result}");
    wait_for_no_process(&marker);
}

#[tokio::test]
async fn at_the_terminal_a_tool_can_be_allowed_for_the_session() {
    let marker = format!("mcp-terminal-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    let toggle = |id: &str| {
        turn()
            .call(id, "everything__toggle-simulated-logging", "{}")
            .reply()
    };
    let mock = MockGlm::start(vec![
        toggle("t1"),
        toggle("t2"),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "toggle twice"], &[], |session| {
        session
            .expect("everything__toggle-simulated-logging {}")
            .unwrap();
        session
            .expect("Call? [y]es [n]o [a]lways allow this tool")
            .unwrap();
        session.send("a").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    let requests = mock.requests();
    // Asked once: the second call ran without a question.
    assert!(!tool_result(&requests, "t1").starts_with("the user"));
    assert!(!tool_result(&requests, "t2").starts_with("the user"));
    wait_for_no_process(&marker);
}

#[tokio::test]
async fn agent_tools_lists_and_calls_mcp_tools_too() {
    let marker = format!("mcp-tools-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    let mock = MockGlm::start(vec![]).await;
    let mut list = sandbox.agent(&mock);
    list.args(["tools", "--json"]);
    let list = finish(list).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let tools: Value = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "read_file");
    assert!(names.contains(&"everything__echo"), "{names:?}");

    let mut call = sandbox.agent(&mock);
    call.args([
        "tools",
        "call",
        "everything__echo",
        r#"{"message":"local"}"#,
    ]);
    let call = finish(call).await;
    assert_eq!(
        (call.code, call.stdout.as_str()),
        (0, "Echo: local\n"),
        "{}",
        call.stderr
    );
    wait_for_no_process(&marker);
}

#[tokio::test]
async fn each_batch_task_gets_the_servers_in_its_own_tree() {
    let marker = format!("mcp-batch-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    support::init_repository(&sandbox.workspace);
    let tasks = sandbox.dir.path().join("tasks.jsonl");
    std::fs::write(&tasks, r#"{"id": "t1", "task": "echo through MCP"}"#).unwrap();
    let out = sandbox.dir.path().join("out");
    let mock = MockGlm::start(vec![
        turn()
            .call("b1", "everything__echo", r#"{"message":"from a batch"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut batch = sandbox.agent(&mock);
    batch.args([
        "batch",
        tasks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let batch = finish(batch).await;
    assert_eq!(batch.code, 0, "{}", batch.stderr);
    let requests = mock.requests();
    assert_eq!(tool_result(&requests, "b1"), "Echo: from a batch");
    let offered = requests[0].body["tools"].to_string();
    assert!(offered.contains("everything__echo"));
    wait_for_no_process(&marker);
}

#[tokio::test]
async fn servers_get_config_variables_expanded_and_never_the_api_key() {
    let marker = format!("mcp-env-{}", std::process::id());
    let sandbox = sandbox_with_server(&marker);
    let mock = MockGlm::start(vec![
        turn().call("e1", "everything__get-env", "{}").reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command
        .args(["run", "show the environment"])
        .env("MCP_TEST_SOURCE", "from-the-shell");
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let environment = tool_result(&mock.requests(), "e1");
    assert!(
        environment.contains("token:from-the-shell"),
        "{environment}"
    );
    assert!(!environment.contains(support::API_KEY), "{environment}");
    assert!(!environment.contains("AGENT_API_KEY"), "{environment}");
    wait_for_no_process(&marker);
}
