//! The OS sandbox of run_command, with each mechanism on its own (bubblewrap, and Landlock +
//! seccomp forced by the config): writes outside the workspace fail and leave nothing, /tmp is
//! private, secrets cannot be read, the network is off unless allowed; `--sandbox off` runs
//! unconfined; a blocked command's result says so; leaving the sandbox needs a person.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use expectrl::Expect;
use serde_json::json;
use support::terminal::in_terminal;
use support::{MockGlm, Sandbox, finish, tool_result, turn};

#[derive(Debug, Clone, Copy)]
enum Mechanism {
    Bubblewrap,
    Landlock,
}

/// A workspace whose home holds `~/.ssh/id_test`, confined by `mechanism`.
fn confined(mechanism: Mechanism) -> Sandbox {
    let name = match mechanism {
        Mechanism::Bubblewrap => "bubblewrap",
        Mechanism::Landlock => "landlock",
    };
    let sandbox = Sandbox::new(&[(
        ".agent/config.toml",
        &format!("sandbox_mechanism = \"{name}\"\n"),
    )]);
    std::fs::create_dir_all(sandbox.home.join(".ssh")).unwrap();
    std::fs::write(sandbox.home.join(".ssh/id_test"), "PRIVATE KEY\n").unwrap();
    sandbox
}

/// `agent tools call run_command` with `command`; returns the result text.
async fn run_command(sandbox: &Sandbox, command: &str, extra: &[&str]) -> String {
    let mock = MockGlm::start(vec![]).await;
    let mut agent = sandbox.agent(&mock);
    agent
        .args(["tools", "call", "--yes", "run_command"])
        .arg(json!({ "command": command }).to_string())
        .args(extra);
    let run = finish(agent).await;
    format!("{}{}", run.stdout, run.stderr)
}

async fn writes_only_inside_the_workspace(mechanism: Mechanism) {
    let sandbox = confined(mechanism);
    let sibling = sandbox.dir.path().join("sibling.txt");
    let in_home = sandbox.home.join("dotfile");
    let command = format!(
        "echo inside > inside.txt; echo x > {}; echo x > {}; echo x > /etc/agent-sandbox-test",
        sibling.display(),
        in_home.display()
    );
    let output = run_command(&sandbox, &command, &[]).await;
    assert!(!sibling.exists(), "{mechanism:?}: {output}");
    assert!(!in_home.exists(), "{mechanism:?}: {output}");
    assert!(!std::path::Path::new("/etc/agent-sandbox-test").exists());
    assert_eq!(sandbox.read("inside.txt"), "inside\n", "{output}");
    // The first path the sandbox stopped is named, with the way on (under bubblewrap the
    // sibling, in /tmp, went to the command's own /tmp: /etc is the first refusal).
    let note = match mechanism {
        Mechanism::Bubblewrap => {
            "[sandbox] `/etc/agent-sandbox-test` is outside where commands may write".to_string()
        }
        Mechanism::Landlock => format!(
            "[sandbox] `{}` is outside where commands may write",
            sibling.display()
        ),
    };
    assert!(output.contains(&note), "{output}");
}

/// Regression: a write the sandbox refused in a command that still exited 0 said nothing of
/// the sandbox. (Landlock: under bubblewrap the test's home, in /tmp, is not there at all.)
#[tokio::test]
async fn a_refused_write_is_named_even_when_the_command_succeeds() {
    let sandbox = confined(Mechanism::Landlock);
    let in_home = sandbox.home.join("f");
    let command = format!("echo x > {}; echo done", in_home.display());
    let output = run_command(&sandbox, &command, &[]).await;
    assert!(output.contains("exit code: 0"), "{output}");
    assert!(
        output.contains(&format!(
            "[sandbox] `{}` is outside where commands may write (the workspace and the command's own /tmp): write inside the workspace, or, if it must, call run_command again with \"outside_sandbox\": true (the user will be asked).",
            in_home.display()
        )),
        "{output}"
    );
}

async fn tmp_is_private_and_secrets_unreadable(mechanism: Mechanism) {
    let sandbox = confined(mechanism);
    let marker = format!("agent-sandbox-{}", std::process::id());
    let command = format!(
        "echo private > \"$TMPDIR/{marker}\" && cat \"$TMPDIR/{marker}\"; echo x > /tmp/{marker}; cat ~/.ssh/id_test"
    );
    let output = run_command(&sandbox, &command, &[]).await;
    assert!(output.contains("private"), "{mechanism:?}: {output}");
    assert!(
        !std::path::Path::new("/tmp").join(&marker).exists(),
        "{output}"
    );
    assert!(!output.contains("PRIVATE KEY"), "{mechanism:?}: {output}");
}

async fn network_only_when_allowed(mechanism: Mechanism) {
    let sandbox = confined(mechanism);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let command = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let off = run_command(&sandbox, &command, &[]).await;
    assert!(!off.contains("connected"), "{mechanism:?}: {off}");
    let on = run_command(&sandbox, &command, &["--network"]).await;
    assert!(on.contains("connected"), "{mechanism:?}: {on}");
}

#[tokio::test]
async fn bubblewrap_confines_writes() {
    writes_only_inside_the_workspace(Mechanism::Bubblewrap).await;
}

#[tokio::test]
async fn landlock_confines_writes() {
    writes_only_inside_the_workspace(Mechanism::Landlock).await;
}

#[tokio::test]
async fn bubblewrap_keeps_tmp_and_secrets() {
    tmp_is_private_and_secrets_unreadable(Mechanism::Bubblewrap).await;
}

#[tokio::test]
async fn landlock_keeps_tmp_and_secrets() {
    tmp_is_private_and_secrets_unreadable(Mechanism::Landlock).await;
}

#[tokio::test]
async fn bubblewrap_cuts_the_network() {
    network_only_when_allowed(Mechanism::Bubblewrap).await;
}

#[tokio::test]
async fn landlock_and_seccomp_cut_the_network() {
    network_only_when_allowed(Mechanism::Landlock).await;
}

#[tokio::test]
async fn git_commits_work_but_hooks_stay_read_only() {
    let sandbox = confined(Mechanism::Bubblewrap);
    let output = run_command(
        &sandbox,
        "echo new > new.txt && git add new.txt && git -c user.name=t -c user.email=t@t commit -qm new && echo committed; echo 'echo pwned' > .git/hooks/pre-commit",
        &[],
    )
    .await;
    assert!(output.contains("committed"), "{output}");
    assert!(!sandbox.path(".git/hooks/pre-commit").exists(), "{output}");
}

#[tokio::test]
async fn sandbox_off_runs_unconfined() {
    let sandbox = confined(Mechanism::Bubblewrap);
    let outside = sandbox.dir.path().join("outside.txt");
    let command = format!("echo x > {}", outside.display());
    let output = run_command(&sandbox, &command, &["--sandbox", "off"]).await;
    assert!(outside.exists(), "{output}");
}

#[tokio::test]
async fn leaving_the_sandbox_is_denied_unattended() {
    let sandbox = confined(Mechanism::Bubblewrap);
    let outside = sandbox.dir.path().join("outside.txt");
    let escape =
        json!({"command": format!("echo x > {}", outside.display()), "outside_sandbox": true});
    let mock = MockGlm::start(vec![
        turn()
            .call("c1", "run_command", &escape.to_string())
            .reply(),
        turn().content("could not").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "write outside"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "a denial: {}", run.stderr);
    assert!(!outside.exists());
    let result = tool_result(&mock.requests(), "c1");
    assert!(
        result.contains("OUTSIDE the sandbox") && result.contains("no one is at a terminal"),
        "{result}"
    );
}

#[tokio::test]
async fn leaving_the_sandbox_is_asked_at_the_terminal() {
    let sandbox = confined(Mechanism::Bubblewrap);
    let outside = sandbox.dir.path().join("outside.txt");
    let escape =
        json!({"command": format!("echo x > {}", outside.display()), "outside_sandbox": true});
    let mock = MockGlm::start(vec![
        turn()
            .call("c1", "run_command", &escape.to_string())
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(
        &sandbox,
        &mock,
        &["run", "--yes", "write outside"],
        &[],
        |session| {
            session.expect("OUTSIDE the sandbox").unwrap();
            session.send("y").unwrap();
        },
    )
    .await;
    assert_eq!(code, 0);
    assert!(outside.exists());
}
