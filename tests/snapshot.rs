//! The workspace snapshot in the workspace context that opens the first message: files, git,
//! project kind, a small workspace's files; the same bytes in every request of the session;
//! `--no-snapshot` leaves it out; the system prompt the same bytes in every workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{MockGlm, Sandbox, context_of, finish, turn};

fn system_of(request: &support::Recorded) -> String {
    request.body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

fn first_message_of(request: &support::Recorded) -> String {
    request.body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_model_starts_with_the_workspace_in_view() {
    let sandbox = Sandbox::new(&[
        ("calc.py", "def add(a, b):\n    return a - b\n"),
        ("test_calc.py", "from calc import add\n"),
        ("Makefile", "test:\n\tpython -m pytest\n"),
    ]);
    std::fs::write(sandbox.path("notes.txt"), "untracked\n").unwrap();
    let mock = MockGlm::start(vec![
        turn()
            .call("r", "read_file", r#"{"path":"calc.py"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "fix add() in calc.py"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    let context = context_of(&requests[0].body);
    let snapshot = &context[context.find("# Workspace snapshot").unwrap()..];
    let branch = std::process::Command::new("git")
        .args(["branch", "--show-current"])
        .current_dir(&sandbox.workspace)
        .output()
        .unwrap();
    let branch = String::from_utf8_lossy(&branch.stdout).trim().to_string();
    assert_eq!(
        snapshot,
        format!(
            "# Workspace snapshot (taken when the session started)\n\n\
             Project: Python; test with `python3 -m unittest`\n\
             Project: Makefile; test with `make test`\n\
             Git: branch {branch}, 0 changed, 1 untracked\n\n\
             Files (4 in all, nearest levels first):\n\
             Makefile\ncalc.py\nnotes.txt\ntest_calc.py\n\
             \nThe workspace is this small, so here is every file.\n\
             \n## Makefile\n\n```\ntest:\n\tpython -m pytest\n```\n\
             \n## calc.py\n\n```\ndef add(a, b):\n    return a - b\n```\n\
             \n## notes.txt\n\n```\nuntracked\n```\n\
             \n## test_calc.py\n\n```\nfrom calc import add\n```"
        )
    );
    assert_eq!(
        first_message_of(&requests[1]),
        first_message_of(&requests[0]),
        "the same bytes every turn"
    );
    assert!(!system_of(&requests[0]).contains("Workspace snapshot"));
}

#[tokio::test]
async fn no_snapshot_leaves_it_out() {
    let sandbox = Sandbox::new(&[("calc.py", "x = 1\n")]);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--no-snapshot", "look at calc.py"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!context_of(&mock.requests()[0].body).contains("Workspace snapshot"));
}

/// Regression: the workspace path opened the system prompt, so no two sessions in different
/// workspaces shared a cached prefix: a local server processed the whole prompt (and the tools
/// after it) again for every new session.
#[tokio::test]
async fn sessions_in_different_workspaces_send_the_same_system_prompt() {
    let first = Sandbox::new(&[("a.py", "x = 1\n"), ("AGENTS.md", "Use tabs.\n")]);
    let second = Sandbox::new(&[("b.rs", "fn main() {}\n")]);
    let mut systems = Vec::new();
    for sandbox in [&first, &second] {
        let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
        let mut command = sandbox.agent(&mock);
        command.args(["run", "--no-snapshot", "look around"]);
        let run = finish(command).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let request = &mock.requests()[0];
        let workspace = sandbox.workspace.canonicalize().unwrap();
        let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
        let agents = match sandbox.path("AGENTS.md").exists() {
            true => "\n\n# Project instructions (AGENTS.md)\n\nUse tabs.",
            false => "",
        };
        assert_eq!(
            first_message_of(request),
            format!(
                "# Context\n\nThe workspace is `{}`. Today is {today}.{agents}\n\n# Task\n\nlook around",
                workspace.display()
            )
        );
        systems.push(system_of(request));
    }
    assert_eq!(systems[0], systems[1]);
}
