/*!
`run_command`: a shell command run by `bash -c` in the workspace, in its own process group.

The group is killed as a whole at the timeout, on cancel, and once the command has exited (so a
stray background process cannot keep the output pipe open and hang the agent). Output (stdout and
stderr interleaved, as a terminal would show them) is captured through one pipe, keeping only the
head and the tail, so a command printing gigabytes costs constant memory.
*/

use std::collections::VecDeque;
use std::future::Future;
use std::io::Read;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::sandbox::{Network, Sandbox, SandboxMode, looks_blocked};
use crate::walls::wall_in;
use crate::{ToolOutput, Workspace};

pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// Output kept for the model: this many bytes in all, half from the head and half from the tail.
pub const OUTPUT_LIMIT: usize = 30 * 1024;
/// How long to wait for the output pipe to close after the group was killed.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCommandArgs {
    /// The command, run with `bash -c` in the workspace root. Non-interactive: stdin is empty.
    pub command: String,
    /// Seconds before the command and everything it started are killed (default 120).
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<u64>,
    /// Run outside the sandbox. Only when a run in the sandbox failed because of it (a write
    /// outside the workspace, the network); the user is always asked.
    pub outside_sandbox: Option<bool>,
}

impl RunCommandArgs {
    /// Whether the call asks to leave the sandbox.
    pub fn leaves_sandbox(&self) -> bool {
        self.outside_sandbox == Some(true)
    }
}

/// Process groups of commands now running, so a second Ctrl-C can kill them all at once.
static RUNNING_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills every command this process is running (used when the user insists on exiting).
pub fn kill_running_commands() {
    let groups = RUNNING_GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for &group in groups.iter() {
        kill_group(group);
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(std::process::ExitStatus),
    TimedOut(u64),
    Cancelled,
}

/// A finished command: how it ended and its (head+tail) output.
#[derive(Debug)]
pub struct Finished {
    pub ending: Ending,
    captured: Captured,
}

impl Finished {
    /// The exit code, when the command exited by itself.
    pub fn exit_code(&self) -> Option<i32> {
        match self.ending {
            Ending::Exited(status) => status.code(),
            Ending::TimedOut(_) | Ending::Cancelled => None,
        }
    }

    pub fn output(&self) -> String {
        self.captured.text()
    }
}

/// Runs the command until it exits, times out, or `cancel` completes; the result for the model.
pub async fn run(
    workspace: &Workspace,
    args: &RunCommandArgs,
    cancel: impl Future<Output = ()>,
) -> ToolOutput {
    let confined = workspace.sandbox().mode != SandboxMode::Off && !args.leaves_sandbox();
    match execute(workspace, args, cancel).await {
        Ok(finished) => {
            let text = finished.captured.text();
            // A path the sandbox walls off is named whatever the exit code; other signs of it
            // (the network) only explain a failure.
            let mechanism = workspace.sandbox().mechanism().ok().flatten();
            let note = match (confined, mechanism) {
                (true, Some(mechanism)) => {
                    match wall_in(&text, workspace.sandbox(), mechanism, workspace.root()) {
                        Some(wall) => format!("\n{}", wall.note()),
                        None if finished.exit_code() != Some(0) && looks_blocked(&text) => {
                            sandbox_note(workspace.sandbox())
                        }
                        None => String::new(),
                    }
                }
                (true, None) | (false, _) => String::new(),
            };
            let mut output = render(finished.ending, finished.captured);
            output.content.push_str(&note);
            output
        }
        Err(error) => ToolOutput::error(format!("could not run `{}`: {error}", args.command)),
    }
}

/// What the model is told when a sandboxed command seems to have hit the sandbox's walls.
fn sandbox_note(sandbox: &Sandbox) -> String {
    let writes = match sandbox.mode {
        SandboxMode::WorkspaceWrite => "write only inside the workspace and /tmp",
        SandboxMode::ReadOnly | SandboxMode::Off => "write only in /tmp",
    };
    let network = match sandbox.network {
        Network::Off => ", and has no network",
        Network::On => "",
    };
    format!(
        "\n[sandbox] This command ran in a sandbox: it may {writes}{network}; secret directories such as ~/.ssh cannot be read. If it failed because of that, change the approach (write inside the workspace), or, if it must, call run_command again with \"outside_sandbox\": true: the user will be asked."
    )
}

/// Runs the command as [`run`] does, returning how it ended.
pub async fn execute(
    workspace: &Workspace,
    args: &RunCommandArgs,
    cancel: impl Future<Output = ()>,
) -> std::io::Result<Finished> {
    let (reader, writer) = std::io::pipe()?;
    // The command's own temporary directory, removed when it ends.
    let private_tmp = tempfile::Builder::new().prefix("agent-cmd-").tempdir()?;
    let launch = match args.leaves_sandbox() {
        true => Sandbox::off().launch(workspace.root(), &args.command, private_tmp.path()),
        false => workspace
            .sandbox()
            .launch(workspace.root(), &args.command, private_tmp.path()),
    };
    let mut command = tokio::process::Command::new(&launch.program);
    command
        .args(&launch.args)
        .env("TMPDIR", &launch.tmpdir)
        .current_dir(workspace.root())
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0)
        .kill_on_drop(true);
    for name in workspace.scrubbed_env() {
        command.env_remove(name);
    }
    let mut child = command.spawn()?;
    // The command object holds our copies of the pipe's write end: drop them, or EOF never comes.
    drop(command);
    let group = child.id().map(|id| id as i32);
    let _registration = group.map(Registration::new);
    let capture = tokio::task::spawn_blocking(move || capture_head_tail(reader));

    let timeout_secs = args.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1);
    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status?),
        () = tokio::time::sleep(Duration::from_secs(timeout_secs)) => Ending::TimedOut(timeout_secs),
        () = cancel => Ending::Cancelled,
    };
    if let Some(group) = group {
        kill_group(group);
    }
    if !matches!(ending, Ending::Exited(_)) {
        child.wait().await?;
    }
    let captured = match tokio::time::timeout(DRAIN_GRACE, capture).await {
        Ok(Ok(captured)) => captured,
        Ok(Err(join_error)) => return Err(std::io::Error::other(join_error)),
        Err(_) => Captured::incomplete(),
    };
    Ok(Finished { ending, captured })
}

fn render(ending: Ending, captured: Captured) -> ToolOutput {
    let output = captured.text();
    let body = if output.is_empty() {
        "(no output)".to_string()
    } else {
        output
    };
    match ending {
        Ending::Exited(status) => match status.code() {
            Some(0) => ToolOutput::success(format!("exit code: 0\n{body}")),
            Some(code) => ToolOutput::error(format!("exit code: {code}\n{body}")),
            None => ToolOutput::error(format!("killed by a signal ({status})\n{body}")),
        },
        Ending::TimedOut(secs) => ToolOutput::error(format!(
            "timed out after {secs}s: the command and its child processes were killed\n{body}"
        )),
        Ending::Cancelled => ToolOutput::error(format!(
            "cancelled by the user: the command and its child processes were killed\n{body}"
        )),
    }
}

/// Keeps the command's group in [`RUNNING_GROUPS`] while it runs.
struct Registration(i32);

impl Registration {
    fn new(group: i32) -> Self {
        RUNNING_GROUPS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(group);
        Self(group)
    }
}

impl Drop for Registration {
    /// Also runs when the command's future is dropped (a batch task timing out): the whole
    /// group is killed, so nothing it started outlives it.
    fn drop(&mut self) {
        kill_group(self.0);
        let mut groups = RUNNING_GROUPS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        groups.retain(|&group| group != self.0);
    }
}

/// Kills process group `group` (SIGKILL), whatever is left of it.
pub fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory of ours.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// The first and last bytes of a stream, and how many bytes it had in all.
#[derive(Debug)]
struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: usize,
    complete: bool,
}

impl Captured {
    fn incomplete() -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            complete: false,
        }
    }

    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let kept = self.head.len() + self.tail.len();
        if self.total > kept {
            text.push_str(&format!(
                "\n[... {} bytes of output cut, {} in all ...]\n",
                self.total - kept,
                self.total
            ));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        if !self.complete {
            text.push_str(
                "\n(output unavailable: a process outside the command's group kept it open)",
            );
        }
        text
    }
}

fn capture_head_tail(mut reader: std::io::PipeReader) -> Captured {
    let half = OUTPUT_LIMIT / 2;
    let mut captured = Captured {
        head: Vec::new(),
        tail: VecDeque::with_capacity(half),
        total: 0,
        complete: true,
    };
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        captured.total += read;
        let mut chunk = &buffer[..read];
        let head_room = half.saturating_sub(captured.head.len());
        let into_head = head_room.min(chunk.len());
        captured.head.extend_from_slice(&chunk[..into_head]);
        chunk = &chunk[into_head..];
        captured.tail.extend(chunk);
        let excess = captured.tail.len().saturating_sub(half);
        captured.tail.drain(..excess);
    }
    captured
}
