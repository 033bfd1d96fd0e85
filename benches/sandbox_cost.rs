//! The cost of the sandbox per command: `true` run 200 times through run_command unconfined, in
//! bubblewrap and under Landlock + seccomp (the `agent sandbox-exec` helper), each in the same
//! run; prints the mean per command and the extra time the sandbox adds (goal: under 10 ms).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agent_tools::Workspace;
use agent_tools::run_command::{RunCommandArgs, execute};
use agent_tools::sandbox::{MechanismChoice, Network, Sandbox, SandboxMode};

const RUNS: u32 = 200;

async fn mean_per_command(workspace: &Workspace) -> Duration {
    let args = RunCommandArgs {
        command: "true".into(),
        timeout_secs: Some(30),
        outside_sandbox: None,
    };
    let started = Instant::now();
    for _ in 0..RUNS {
        let finished = execute(workspace, &args, std::future::pending())
            .await
            .unwrap();
        assert_eq!(finished.exit_code(), Some(0), "{}", finished.output());
    }
    started.elapsed() / RUNS
}

fn confined(choice: MechanismChoice) -> Sandbox {
    Sandbox {
        mode: SandboxMode::WorkspaceWrite,
        network: Network::Off,
        writable_roots: Vec::new(),
        hidden: vec![PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".ssh")],
        helper: PathBuf::from(env!("CARGO_BIN_EXE_agent")),
        choice,
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Workspace::new(dir.path()).unwrap();
    let baseline = mean_per_command(&plain).await;
    println!("sandbox_cost: `true` x {RUNS}");
    println!("  unconfined             {:>7.2} ms/command", ms(baseline));
    for (label, choice) in [
        ("bubblewrap", MechanismChoice::Bubblewrap),
        ("landlock + seccomp", MechanismChoice::Landlock),
    ] {
        let sandbox = confined(choice);
        if sandbox.mechanism().is_err() {
            println!("  {label:<22} not available here");
            continue;
        }
        let workspace = Workspace::new(dir.path()).unwrap().with_sandbox(sandbox);
        let mean = mean_per_command(&workspace).await;
        println!(
            "  {label:<22} {:>7.2} ms/command, +{:.2} ms over unconfined (goal < 10 ms), ratio {:.2}",
            ms(mean),
            ms(mean.saturating_sub(baseline)),
            mean.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
