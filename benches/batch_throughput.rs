//! Batch throughput: 100 tasks × 3 turns against a mock model that takes 200 ms per answer, at
//! `-j 16`, one repository (so every task makes and removes a worktree of it). Prints the wall
//! time against the ideal (tasks × turns × latency / jobs) as a ratio; goal ≤ 1.15.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{MockGlm, Reply, Sandbox, turn};

const TASKS: usize = 100;
const TURNS: usize = 3;
const JOBS: usize = 16;
const LATENCY: Duration = Duration::from_millis(200);

#[tokio::main]
async fn main() {
    let sandbox = Sandbox::new(&[
        ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n"),
        ("README.md", "bench\n"),
    ]);
    let routes: Vec<(String, Vec<Reply>)> = (0..TASKS)
        .map(|index| {
            let replies = vec![
                turn()
                    .call("r", "read_file", r#"{"path":"src/lib.rs"}"#)
                    .reply(),
                turn().call("l", "list_files", "{}").reply(),
                turn().content("done").reply(),
            ];
            (format!("[task-{index:03}]"), replies)
        })
        .collect();
    let lines: Vec<String> = (0..TASKS)
        .map(|index| {
            json!({"id": format!("task-{index:03}"), "task": format!("[task-{index:03}] look")})
                .to_string()
        })
        .collect();
    let file = sandbox.dir.path().join("bench.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = sandbox.dir.path().join("out");
    let mock = MockGlm::routed(routes, LATENCY).await;

    let mut command = sandbox.agent(&mock).into_std();
    command.args([
        "batch",
        file.to_str().unwrap(),
        "-j",
        &JOBS.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mock.requests().len(), TASKS * TURNS);

    let ideal = LATENCY * (TASKS * TURNS) as u32 / JOBS as u32;
    // Whole tasks cannot be split across slots: ceil(tasks / jobs) rounds of one task each.
    let floor = LATENCY * (TASKS.div_ceil(JOBS) * TURNS) as u32;
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let seconds: Vec<f64> = results
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["seconds"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mean_task = seconds.iter().sum::<f64>() / seconds.len() as f64;
    println!(
        "batch_throughput: {TASKS} tasks x {TURNS} turns, {} ms model latency, -j {JOBS}",
        LATENCY.as_millis()
    );
    println!("  wall time   {:>8.2} s", wall.as_secs_f64());
    println!("  ideal       {:>8.2} s", ideal.as_secs_f64());
    println!(
        "  ratio       {:>8.3}   (goal <= 1.15)",
        wall.as_secs_f64() / ideal.as_secs_f64()
    );
    println!(
        "  whole-task floor {:>5.2} s, ratio to it {:.3}",
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  mean task time   {mean_task:>5.2} s (model alone: {:.2} s)",
        (LATENCY * TURNS as u32).as_secs_f64()
    );
    let worktrees = Command::new("git")
        .args(["worktree", "list"])
        .current_dir(&sandbox.workspace)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&worktrees.stdout).lines().count(),
        1,
        "worktrees left behind"
    );
}
