//! Nothing a session does while it opens holds up the daemon: with a `git` that takes 300 ms a
//! call, sessions created in a git repository (their snapshot runs git) leave another session's
//! event stream flowing at its own pace. Alone in its test binary, so no other test competes for
//! the two cores of CI while the gaps are measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::daemon::Daemon;
use support::{MockGlm, Reply, Sandbox, turn};

/// How long the model takes to answer each request: the streaming session's own pace.
const PACE: Duration = Duration::from_millis(20);
/// Turns of the streaming session (each reads a file, so each makes a few events).
const TURNS: usize = 60;
/// Sessions created at once in the slow repository while the other one streams.
const CREATED: usize = 4;

fn streaming_turns() -> Vec<Reply> {
    let mut replies: Vec<Reply> = (1..=TURNS)
        .map(|turn_number| {
            turn()
                .call(
                    &format!("r{turn_number}"),
                    "read_file",
                    &json!({"path": "a.txt", "limit": turn_number}).to_string(),
                )
                .reply()
        })
        .collect();
    replies.push(turn().content("read it all").reply());
    replies
}

/// A `git` that sleeps 300 ms before doing its work, first on the daemon's PATH.
fn slow_git(sandbox: &Sandbox) -> String {
    let bin = sandbox.dir.path().join("slow-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real_git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep 0.3\nexec {} \"$@\"\n", real_git.trim()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

#[tokio::test]
async fn sessions_opening_in_a_slow_repository_do_not_stall_another_sessions_events() {
    let sandbox = Sandbox::new(&[("a.txt", "one\ntwo\nthree\n")]);
    // One repository each: sessions in one directory take turns, and these should not.
    let slow: Vec<Sandbox> = (0..CREATED)
        .map(|_| Sandbox::new(&[("b.txt", "b\n")]))
        .collect();
    for repository in &slow {
        support::init_repository(&repository.workspace);
    }
    let mut routes = vec![("stream-me".to_string(), streaming_turns())];
    for index in 0..CREATED {
        routes.push((format!("slow-{index}"), vec![turn().content("ok").reply()]));
    }
    let mock = MockGlm::routed(routes, PACE).await;
    let mut command = sandbox.agent(&mock);
    command.env("PATH", slow_git(&sandbox));
    let daemon = Daemon::spawn(&sandbox, command, "127.0.0.1:0", &["--max-running", "8"]).await;
    let streaming = daemon
        .create_with(
            json!({"workspace": sandbox.workspace, "task": "stream-me", "approval": "all"}),
        )
        .await;
    let mut events = daemon.events(streaming["id"].as_str().unwrap(), None).await;
    // Under way: its own start (and its snapshot) is behind it.
    events.until("tool_result").await;
    let creating = tokio::spawn({
        let (daemon_url, token) = (daemon.url.clone(), daemon.token.clone());
        let workspaces: Vec<_> = slow
            .iter()
            .map(|sandbox| sandbox.workspace.clone())
            .collect();
        async move {
            let http = reqwest::Client::new();
            let creations = workspaces.iter().enumerate().map(|(index, workspace)| {
                http.post(format!("{daemon_url}/v1/sessions"))
                    .bearer_auth(&token)
                    .json(&json!({"workspace": workspace, "task": format!("slow-{index}")}))
                    .send()
            });
            for created in futures_util::future::join_all(creations).await {
                assert_eq!(created.unwrap().status(), 201);
            }
        }
    });
    let mut last = Instant::now();
    let mut gaps = Vec::new();
    loop {
        let (_, event) = events.next().await;
        let now = Instant::now();
        gaps.push(now - last);
        last = now;
        if event["type"] == "finished" {
            break;
        }
    }
    creating.await.unwrap();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    assert!(
        longest <= PACE + Duration::from_millis(50),
        "the stream stalled for {longest:?} (its pace is {PACE:?}); gaps: {gaps:?}"
    );
}
