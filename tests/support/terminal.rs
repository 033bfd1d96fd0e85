/*!
Driving the real binary in a pseudo-terminal, as a user at the keyboard would.
*/

use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect, Session};

use super::{MockGlm, Sandbox};

/// Runs the agent in a pseudo-terminal, lets `interact` answer its prompts, returns the exit code.
pub async fn in_terminal(
    sandbox: &Sandbox,
    mock: &MockGlm,
    args: &[&str],
    env: &[(&str, &str)],
    interact: fn(&mut OsSession),
) -> i32 {
    let mut command = without_stdio(sandbox.agent(mock).into_std());
    command.args(args).env("TERM", "xterm-256color");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || {
        let mut session = Session::spawn(command).unwrap();
        session.set_expect_timeout(Some(Duration::from_secs(60)));
        interact(&mut session);
        session.expect(Eof).unwrap();
        match session.get_process().wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("agent ended with {other:?}"),
        }
    })
    .await
    .unwrap()
}

/// The same program, arguments, environment and directory, with stdio left for the pseudo-
/// terminal to set (Command cannot unset stdio once configured).
pub fn without_stdio(configured: std::process::Command) -> std::process::Command {
    let mut command = std::process::Command::new(configured.get_program());
    command.args(configured.get_args()).env_clear();
    for (name, value) in configured.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    if let Some(dir) = configured.get_current_dir() {
        command.current_dir(dir);
    }
    command
}
