//! Agent overhead per turn: a 200-turn session (each turn one small `read_file`) against a mock
//! GLM server that answers instantly, compared with the same 200 HTTP round trips (same request
//! bodies, same streamed answers) made by a bare reqwest client in the same run. Also the wall
//! Consecutive calls alternate their offset so the repeated-call guard stays quiet. Also the wall
//! time of `agent --version` and the peak RSS of the session. Prints ratios; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{MockGlm, Reply, Sandbox, turn};

const TURNS: usize = 200;

fn script() -> Vec<Reply> {
    let mut replies: Vec<Reply> = (0..TURNS)
        .map(|i| {
            turn()
                .reasoning("Reading.")
                .call(
                    &format!("call_{i}"),
                    "read_file",
                    &format!(r#"{{"path":"small.txt","offset":{}}}"#, i % 2 + 1),
                )
                .reply()
        })
        .collect();
    replies.push(turn().content("done").reply());
    replies
}

#[tokio::main]
async fn main() {
    let sandbox = Sandbox::new(&[("small.txt", "one\ntwo\nthree\n")]);

    let mock = MockGlm::start(script()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "--max-turns", "1000", "read it many times"]);
    let started = Instant::now();
    let output = command.output().await.unwrap();
    let agent_time = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak_rss_kb = children_peak_rss_kb();

    // The bare client replays exactly the bodies the agent sent, against a fresh mock.
    let bodies: Vec<String> = mock
        .requests()
        .into_iter()
        .map(|request| request.raw)
        .collect();
    let bare_mock = MockGlm::start(script()).await;
    // reqwest is built without a default TLS crypto provider (as in the agent).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", bare_mock.url);
    let started = Instant::now();
    for body in &bodies {
        let response = client
            .post(&url)
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
    }
    let bare_time = started.elapsed();

    let round_trips = bodies.len() as f64;
    let overhead_ms = (agent_time.as_secs_f64() - bare_time.as_secs_f64()) * 1000.0 / round_trips;
    println!("turn_overhead: {} turns", bodies.len());
    println!(
        "  agent session      {:>9.1} ms",
        agent_time.as_secs_f64() * 1000.0
    );
    println!(
        "  bare round trips   {:>9.1} ms",
        bare_time.as_secs_f64() * 1000.0
    );
    println!("  overhead per turn  {overhead_ms:>9.3} ms   (goal < 1 ms)");
    println!(
        "  ratio agent/bare   {:>9.2}",
        agent_time.as_secs_f64() / bare_time.as_secs_f64()
    );
    println!(
        "  peak RSS (session) {:>9.1} MB",
        peak_rss_kb as f64 / 1024.0
    );
    println!(
        "  agent --version    {:>9.2} ms (mean of 20)",
        version_time().as_secs_f64() * 1000.0
    );
}

fn version_time() -> Duration {
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_agent"))
            .arg("--version")
            .output()
            .unwrap()
            .status;
        assert!(status.success());
    }
    started.elapsed() / runs
}

/// Peak resident set of the largest child waited for so far (the agent session).
fn children_peak_rss_kb() -> i64 {
    // SAFETY: getrusage fills the struct we pass; a zeroed rusage is a valid initial value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}
