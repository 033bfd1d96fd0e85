//! `agent run --isolate`: the agent works in a worktree (or a copy); the real workspace changes
//! only when the change is accepted, now or later with `agent apply`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use serde_json::json;
use support::{MockGlm, Sandbox, finish, turn};

fn git(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(&sandbox.workspace)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn commit_all(sandbox: &Sandbox) {
    git(
        sandbox,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "a",
        ],
    );
}

fn script() -> Vec<support::Reply> {
    let diff = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n committed\n-dirty\n+agent\n";
    vec![
        turn()
            .call("i1", "apply_diff", &json!({"diff": diff}).to_string())
            .call("i2", "write_file", r#"{"path":"b.txt","content":"new\n"}"#)
            .call("i3", "run_command", r#"{"command":"cat a.txt notes.txt"}"#)
            .reply(),
        turn().content("done").reply(),
    ]
}

#[tokio::test]
async fn the_real_workspace_is_untouched_until_the_change_is_applied() {
    let sandbox = Sandbox::new(&[("a.txt", "committed\n")]);
    commit_all(&sandbox);
    // An uncommitted change and an untracked file the isolated tree must start from.
    std::fs::write(sandbox.path("a.txt"), "committed\ndirty\n").unwrap();
    std::fs::write(sandbox.path("notes.txt"), "untracked notes\n").unwrap();
    let status_before = git(&sandbox, &["status", "--porcelain"]);

    let mock = MockGlm::start(script()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--isolate", "edit in isolation"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(
        support::tool_result(&mock.requests(), "i3"),
        "exit code: 0\ncommitted\nagent\nuntracked notes\n"
    );
    assert_eq!(sandbox.read("a.txt"), "committed\ndirty\n");
    assert!(!sandbox.path("b.txt").exists());
    assert_eq!(git(&sandbox, &["status", "--porcelain"]), status_before);
    assert_eq!(git(&sandbox, &["stash", "list"]), "");
    assert_eq!(
        git(&sandbox, &["worktree", "list"]).lines().count(),
        1,
        "the worktree was removed"
    );
    let session = sandbox.transcript_events()[0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        run.stderr.contains(&format!("agent apply {session}")),
        "{}",
        run.stderr
    );

    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["apply", &session, "--yes"]);
    let applied = finish(command).await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(sandbox.read("a.txt"), "committed\nagent\n");
    assert_eq!(sandbox.read("b.txt"), "new\n");
    assert_eq!(sandbox.read("notes.txt"), "untracked notes\n");

    let mut command = sandbox.agent(&mock);
    command.args(["apply", &session, "--yes"]);
    let again = finish(command).await;
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("no saved change for session"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_plain_directory_is_copied_and_yes_applies_at_the_end() {
    let sandbox = Sandbox::new(&[("a.txt", "committed\ndirty\n")]);
    std::fs::remove_dir_all(sandbox.path(".git")).unwrap();
    let mock = MockGlm::start(script()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--isolate", "--yes", "edit"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("a.txt"), "committed\nagent\n");
    assert_eq!(sandbox.read("b.txt"), "new\n");
    assert!(!sandbox.path(".git").exists());
}

#[tokio::test]
async fn discard_drops_the_saved_change() {
    let sandbox = Sandbox::new(&[("a.txt", "committed\ndirty\n")]);
    let mock = MockGlm::start(script()).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--isolate", "edit"]);
    assert_eq!(finish(command).await.code, 5);
    let session = sandbox.transcript_events()[0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut command = sandbox.agent(&mock);
    command.args(["discard", &session]);
    let discarded = finish(command).await;
    assert_eq!(
        (discarded.code, discarded.stdout.as_str()),
        (0, format!("discarded the change of {session}\n").as_str())
    );
    let mut command = sandbox.agent(&mock);
    command.args(["apply", &session, "--yes"]);
    assert_eq!(finish(command).await.code, 1);
    assert_eq!(sandbox.read("a.txt"), "committed\ndirty\n");
}

#[tokio::test]
async fn modes_set_in_the_isolated_tree_reach_the_workspace() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new(&[("tool.sh", "echo tool\n")]);
    commit_all(&sandbox);
    let command = "chmod +x tool.sh && printf 'echo new\\n' > new.sh && chmod +x new.sh";
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "c1",
                "run_command",
                &json!({ "command": command }).to_string(),
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut run = sandbox.agent(&mock);
    run.args(["run", "--isolate", "--yes", "make the scripts executable"]);
    let run = finish(run).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let executable = |path: &str| {
        std::fs::metadata(sandbox.path(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o111
            != 0
    };
    assert!(executable("tool.sh"), "{}", run.stderr);
    assert!(executable("new.sh"), "{}", run.stderr);
    assert_eq!(sandbox.read("new.sh"), "echo new\n");
}

#[tokio::test]
async fn a_change_with_a_binary_file_is_kept_for_git_apply() {
    let sandbox = Sandbox::new(&[("a.txt", "committed\n")]);
    commit_all(&sandbox);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "w1",
                "write_file",
                r#"{"path":"a.txt","content":"edited\n"}"#,
            )
            .call(
                "c1",
                "run_command",
                r#"{"command":"printf 'PNG\\000\\001\\002' > blob.bin"}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--isolate", "--yes", "make a blob"]);
    let run = finish(command).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the change includes a binary file, `blob.bin`"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.read("a.txt"), "committed\n", "nothing applied");
    assert!(!sandbox.path("blob.bin").exists());

    let session = sandbox.transcript_events()[0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = std::fs::read_dir(sandbox.sessions_dir())
        .unwrap()
        .flatten()
        .map(|day| day.path().join(format!("{session}.patch")))
        .find(|path| path.exists())
        .unwrap();
    assert!(
        run.stderr
            .contains(&format!("git apply {}", patch.display()))
    );
    let applied = Command::new("git")
        .arg("apply")
        .arg(&patch)
        .current_dir(&sandbox.workspace)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(sandbox.read("a.txt"), "edited\n");
    assert_eq!(
        std::fs::read(sandbox.path("blob.bin")).unwrap(),
        b"PNG\x00\x01\x02"
    );
}
