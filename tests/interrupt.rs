//! Ctrl-C: the first stops after the running tool and keeps the transcript; the second exits at
//! once and kills running commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::{MockGlm, Sandbox, turn};

/// Polls until `path` exists (the command under test signals that it started).
async fn wait_for(path: &Path) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !path.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("file never appeared");
}

fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn first_ctrl_c_stops_after_the_running_tool() {
    let sandbox = Sandbox::new(&[]);
    let script = "touch started; while [ ! -f release ]; do sleep 0.02; done; echo finished";
    let mock = MockGlm::start(vec![
        turn()
            .call("i1", "run_command", &json!({"command": script}).to_string())
            .call("i2", "list_files", "{}")
            .reply(),
        turn().content("never asked").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "--json", "wait"]);
    let child = command.spawn().unwrap();
    wait_for(&sandbox.path("started")).await;
    interrupt(child.id().unwrap());
    // The stop request must not kill the running command: it finishes once released.
    std::fs::write(sandbox.path("release"), "").unwrap();
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(mock.requests().len(), 1);
    let events = sandbox.transcript_events();
    let results: Vec<_> = events
        .iter()
        .filter(|event| event["type"] == "tool_result")
        .map(|event| event["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        results,
        [
            "exit code: 0\nfinished\n",
            "not run: the user interrupted the session"
        ]
    );
    assert_eq!(
        events.last().unwrap()["outcome"],
        json!({"kind": "interrupted"})
    );
}

#[tokio::test]
async fn second_ctrl_c_exits_at_once_and_kills_the_command() {
    let sandbox = Sandbox::new(&[]);
    let marker = format!("sleep 8{}", std::process::id());
    let script = format!("touch started; {marker}");
    let mock = MockGlm::start(vec![
        turn()
            .call("k1", "run_command", &json!({"command": script}).to_string())
            .reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "wait"]);
    let child = command.spawn().unwrap();
    wait_for(&sandbox.path("started")).await;
    let pid = child.id().unwrap();
    interrupt(pid);
    // The first signal is handled before the second is sent: the agent says so on stderr.
    let mut child = child;
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        while !seen.contains("Ctrl-C again") {
            let read = stderr.read(&mut buffer).await.unwrap();
            assert!(read > 0, "stderr closed: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    })
    .await
    .unwrap();
    interrupt(pid);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(130));
    support::assert_no_process(&marker);
}
