//! The daemon under load: 50 sessions at once, each a task and 4 follow-ups (5 model turns),
//! against a mock model that takes 200 ms per answer, while every session's SSE client drops its
//! connection at random and comes back with `Last-Event-ID`. Prints sessions per second, the
//! delay from the mock's last byte to the SSE client (p50, p99; events a client read live), the
//! events lost (gaps or repeats in any client's ids), and the daemon's peak RSS; then the same
//! for one session alone, as the baseline the delay ratio is taken against.
//! Goals: 0 lost, p99 < 50 ms, RSS < 100 MB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::daemon::{Daemon, Events};
use support::{MockGlm, Reply, Sandbox, turn};

const TURNS: usize = 5;
const LATENCY: Duration = Duration::from_millis(200);
/// The chance that a client drops its connection after an event.
const DROP_CHANCE: f64 = 0.1;

/// What one session's client saw.
struct Seen {
    /// For each model answer, in order: when the client read it, and when the connection it
    /// came on was opened (an answer sent before that was read from the backlog, not live).
    answers: Vec<(Instant, Instant)>,
    /// Event ids missing or repeated.
    lost: usize,
}

struct Measured {
    wall: Duration,
    delays: Vec<Duration>,
    lost: usize,
    peak_rss_kb: u64,
}

#[tokio::main]
async fn main() {
    let baseline = measure(1).await;
    let loaded = measure(50).await;
    report("1 session (baseline)", 1, &baseline);
    report("50 sessions", 50, &loaded);
    let ratio = percentile(&loaded.delays, 0.99).as_secs_f64()
        / percentile(&baseline.delays, 0.99).as_secs_f64().max(1e-6);
    println!("p99 delay, 50 sessions against 1: {ratio:.2}x");
}

fn report(name: &str, sessions: usize, measured: &Measured) {
    println!(
        "{name}: {sessions} sessions x {TURNS} turns in {:.2} s ({:.1} sessions/s); delay p50 {:.1} ms, p99 {:.1} ms; events lost {}; daemon peak RSS {:.1} MB",
        measured.wall.as_secs_f64(),
        sessions as f64 / measured.wall.as_secs_f64(),
        percentile(&measured.delays, 0.5).as_secs_f64() * 1000.0,
        percentile(&measured.delays, 0.99).as_secs_f64() * 1000.0,
        measured.lost,
        measured.peak_rss_kb as f64 / 1024.0,
    );
}

async fn measure(sessions: usize) -> Measured {
    let sandbox = Sandbox::new(&[("README.md", "bench\n")]);
    let routes: Vec<(String, Vec<Reply>)> = (0..sessions)
        .map(|index| {
            let replies = (0..TURNS)
                .map(|turn_number| turn().content(&format!("answer {turn_number}")).reply())
                .collect();
            (marker(index), replies)
        })
        .collect();
    let mock = MockGlm::routed(routes, LATENCY).await;
    let max_running = sessions.to_string();
    let daemon = Daemon::start_with(&sandbox, &mock, &["--max-running", &max_running]).await;
    let pid = daemon.child.id().unwrap();
    let daemon = std::sync::Arc::new(daemon);
    let started = Instant::now();
    let clients: Vec<_> = (0..sessions)
        .map(|index| {
            // Each session in a directory of its own: one directory is edited by one at a time.
            let workspace = sandbox.dir.path().join(format!("work-{index}"));
            std::fs::create_dir_all(&workspace).unwrap();
            let daemon = std::sync::Arc::clone(&daemon);
            tokio::spawn(async move { drive(&daemon, &workspace, index).await })
        })
        .collect();
    let mut seen = Vec::new();
    for client in clients {
        seen.push(client.await.unwrap());
    }
    let wall = started.elapsed();
    let peak_rss_kb = peak_rss_kb(pid);
    let answered = mock.answered();
    let mut delays = Vec::new();
    let mut lost = 0;
    for (index, seen) in seen.into_iter().enumerate() {
        lost += seen.lost;
        let sent = answered
            .iter()
            .filter(|(task, _)| task.contains(&marker(index)))
            .map(|(_, at)| *at);
        for (sent, (read, connected)) in sent.zip(seen.answers) {
            if sent >= connected {
                delays.push(read.saturating_duration_since(sent));
            }
        }
    }
    assert_eq!(mock.requests().len(), sessions * TURNS);
    Measured {
        wall,
        delays,
        lost,
        peak_rss_kb,
    }
}

fn marker(index: usize) -> String {
    format!("[session-{index:02}]")
}

/// Runs one session's task and follow-ups, following its events with a client that drops at
/// random.
async fn drive(daemon: &Daemon, workspace: &std::path::Path, index: usize) -> Seen {
    let created = daemon
        .create_with(json!({"workspace": workspace, "task": format!("{} hello", marker(index)), "approval": "all"}))
        .await;
    let session = created["id"].as_str().unwrap().to_string();
    let mut seen = Seen {
        answers: Vec::new(),
        lost: 0,
    };
    let mut last_id = 0;
    let mut events: Events = daemon.events(&session, None).await;
    let mut connected_at = Instant::now();
    let mut finished = 0;
    while finished < TURNS {
        let (id, event) = events.next().await;
        if id != last_id + 1 {
            seen.lost += 1;
        }
        last_id = id;
        match event["type"].as_str() {
            Some("assistant_turn") => seen.answers.push((Instant::now(), connected_at)),
            Some("finished") => {
                finished += 1;
                if finished < TURNS {
                    let sent = daemon
                        .post(
                            &format!("/v1/sessions/{session}/messages"),
                            json!({"text": "and then?", "request_id": format!("m{finished}")}),
                        )
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(sent.status(), 202);
                }
            }
            _ => {}
        }
        if fastrand::f64() < DROP_CHANCE {
            drop(events);
            events = daemon.events(&session, Some(last_id)).await;
            connected_at = Instant::now();
        }
    }
    seen
}

fn percentile(values: &[Duration], at: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        len => sorted[((len - 1) as f64 * at).round() as usize],
    }
}

/// The process's peak resident memory (VmHWM), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}
