//! The workspace snapshot in the system prompt: files, git, project kind, a small workspace's
//! files; the same bytes in every request of the session; `--no-snapshot` leaves it out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{MockGlm, Sandbox, finish, turn};

fn system_of(request: &support::Recorded) -> String {
    request.body["messages"][0]["content"]
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
    let system = system_of(&requests[0]);
    let snapshot = &system[system.find("# Workspace snapshot").unwrap()..];
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
             Project: Makefile; `make test`\n\
             Git: branch {branch}, 0 changed, 1 untracked\n\n\
             Files (4 in all, nearest levels first):\n\
             Makefile\ncalc.py\nnotes.txt\ntest_calc.py\n\
             \nThe workspace is this small, so here is every file.\n\
             \n## Makefile\n\n```\ntest:\n\tpython -m pytest\n```\n\
             \n## calc.py\n\n```\ndef add(a, b):\n    return a - b\n```\n\
             \n## notes.txt\n\n```\nuntracked\n```\n\
             \n## test_calc.py\n\n```\nfrom calc import add\n```\n"
        )
    );
    assert_eq!(system_of(&requests[1]), system, "the same bytes every turn");
}

#[tokio::test]
async fn no_snapshot_leaves_it_out() {
    let sandbox = Sandbox::new(&[("calc.py", "x = 1\n")]);
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--no-snapshot", "look at calc.py"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!system_of(&mock.requests()[0]).contains("Workspace snapshot"));
}
