/*!
Running one hook command: `bash -c` in the workspace, in a process group of its own, with the
event on stdin and the API key's variables removed from its environment. A hook that outlives its
timeout is killed with everything it started.
*/

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agent_tools::run_command::kill_group;
use tokio::io::AsyncWriteExt;

/// The most of a hook's stdout or stderr kept (its head and tail).
const KEPT_OUTPUT: usize = 16 * 1024;

/// How a hook's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal (not ours).
    Signalled,
    TimedOut(Duration),
    NotStarted(String),
}

/// What a hook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

/// Where and how a hook runs.
pub struct Launch<'a> {
    pub command: &'a str,
    pub cwd: &'a Path,
    /// Variables not passed on (the model's API key, wherever it is).
    pub hidden_env: &'a [String],
    pub timeout: Duration,
}

/// Runs `launch.command` with `input` on its stdin.
pub async fn run(launch: &Launch<'_>, input: &str) -> Ran {
    let started = Instant::now();
    let mut command = tokio::process::Command::new("bash");
    command
        .arg("-c")
        .arg(launch.command)
        .current_dir(launch.cwd)
        .env("AGENT_PROJECT_DIR", launch.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in launch.hidden_env {
        command.env_remove(name);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return Ran {
                ending: Ending::NotStarted(error.to_string()),
                stdout: String::new(),
                stderr: String::new(),
                duration: started.elapsed(),
            };
        }
    };
    let group = child.id().map(|id| id as i32);
    let stdin = child.stdin.take();
    let input = input.to_string();
    let feeding = async move {
        if let Some(mut stdin) = stdin {
            // A hook that does not read its input closes the pipe: that is its right.
            let _ = stdin.write_all(input.as_bytes()).await;
        }
    };
    let finishing = async {
        let ((), output) = tokio::join!(feeding, child.wait_with_output());
        output
    };
    let ran = tokio::time::timeout(launch.timeout, finishing).await;
    // Whatever the hook left running in its group goes with it.
    if let Some(group) = group {
        kill_group(group);
    }
    let (ending, stdout, stderr) = match ran {
        Ok(Ok(output)) => (
            match output.status.code() {
                Some(code) => Ending::Exited(code),
                None => Ending::Signalled,
            },
            kept(&output.stdout),
            kept(&output.stderr),
        ),
        Ok(Err(error)) => (
            Ending::NotStarted(error.to_string()),
            String::new(),
            String::new(),
        ),
        Err(_) => (
            Ending::TimedOut(launch.timeout),
            String::new(),
            String::new(),
        ),
    };
    Ran {
        ending,
        stdout,
        stderr,
        duration: started.elapsed(),
    }
}

fn kept(bytes: &[u8]) -> String {
    agent_tools::truncate_head_tail(&String::from_utf8_lossy(bytes), KEPT_OUTPUT)
}
