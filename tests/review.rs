//! Interactive review in a real pseudo-terminal: the colored diff, one-key answers (`s` with
//! per-hunk `y`/`n`, `e` with `$EDITOR`, `d` with a typed reason, `q`), and command prompts with
//! "always allow".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use serde_json::json;
use support::terminal::{in_terminal, without_stdio};
use support::{MockGlm, Sandbox, tool_result, turn};

const LINES: usize = 30;

fn numbered() -> String {
    (1..=LINES).map(|i| format!("line {i}\n")).collect()
}

/// A diff with two hunks far apart: line 2 and line 25 change.
fn two_hunk_diff() -> String {
    "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,4 +1,4 @@\n line 1\n-line 2\n+line TWO\n line 3\n line 4\n@@ -23,5 +23,5 @@\n line 23\n line 24\n-line 25\n+line TWENTY-FIVE\n line 26\n line 27\n".to_string()
}

#[tokio::test]
async fn hunk_by_hunk_applies_only_the_accepted_hunks() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "r1",
                "apply_diff",
                &json!({"diff": two_hunk_diff()}).to_string(),
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "edit notes"], &[], |session| {
        // The diff is shown colored, with line numbers, before the question.
        session.expect("\u{1b}[32m+line TWO").unwrap();
        session.expect("Apply? [y]es [n]o [s]plit hunks").unwrap();
        session.send("s").unwrap();
        session.expect("Apply this hunk?").unwrap();
        session.send("y").unwrap();
        session.expect("Apply this hunk?").unwrap();
        session.send("n").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        sandbox.read("notes.txt"),
        numbered().replace("line 2\n", "line TWO\n")
    );
    assert_eq!(
        tool_result(&mock.requests(), "r1"),
        "applied:\nnotes.txt: +1 -1\n(the user reviewed hunk by hunk: `notes.txt`: applied 1 of 2 hunks; rejected: @@ -22,7 +22,7 @@)"
    );
}

#[tokio::test]
async fn yes_applies_and_no_rejects() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "y1",
                "apply_diff",
                &json!({"diff": two_hunk_diff()}).to_string(),
            )
            .reply(),
        turn()
            .call(
                "n1",
                "write_file",
                r#"{"path":"other.txt","content":"x\n"}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "edit"], &[], |session| {
        session.expect("Apply?").unwrap();
        session.send("y").unwrap();
        session.expect("other.txt").unwrap();
        session.expect("Apply?").unwrap();
        session.send("n").unwrap();
    })
    .await;
    assert_eq!(code, 5, "a rejected edit makes the exit code say so");
    assert_eq!(
        sandbox.read("notes.txt"),
        numbered()
            .replace("line 2\n", "line TWO\n")
            .replace("line 25\n", "line TWENTY-FIVE\n")
    );
    assert!(!sandbox.path("other.txt").exists());
    assert_eq!(
        tool_result(&mock.requests(), "n1"),
        "the user did not approve this edit; nothing was written."
    );
}

#[tokio::test]
async fn e_applies_what_the_user_saved_in_the_editor() {
    let sandbox = Sandbox::new(&[]);
    let editor = sandbox.dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/PLACEHOLDER/EDITED BY HAND/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "e1",
                "write_file",
                r#"{"path":"new.txt","content":"value = PLACEHOLDER\n"}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let editor = editor.display().to_string();
    let code = in_terminal(
        &sandbox,
        &mock,
        &["run", "write"],
        &[("EDITOR", &editor)],
        |session| {
            session.expect("Apply?").unwrap();
            session.send("e").unwrap();
        },
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(sandbox.read("new.txt"), "value = EDITED BY HAND\n");
    assert!(
        tool_result(&mock.requests(), "e1").contains("the user edited your change in their editor")
    );
}

#[tokio::test]
async fn d_sends_the_typed_reason_to_the_model() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "d1",
                "apply_diff",
                &json!({"diff": two_hunk_diff()}).to_string(),
            )
            .reply(),
        turn().content("understood").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "edit"], &[], |session| {
        session.expect("Apply?").unwrap();
        session.send("d").unwrap();
        session.expect("Why?").unwrap();
        session.send_line("keep the numbers as digits").unwrap();
    })
    .await;
    assert_eq!(code, 5);
    assert_eq!(sandbox.read("notes.txt"), numbered());
    assert_eq!(
        tool_result(&mock.requests(), "d1"),
        "the user did not approve this edit; nothing was written. Reason: keep the numbers as digits"
    );
}

#[tokio::test]
async fn q_rejects_and_stops_the_run() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "q1",
                "apply_diff",
                &json!({"diff": two_hunk_diff()}).to_string(),
            )
            .call("q2", "write_file", r#"{"path":"later.txt","content":"x"}"#)
            .reply(),
        turn().content("never asked").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "edit"], &[], |session| {
        session.expect("Apply?").unwrap();
        session.send("q").unwrap();
    })
    .await;
    assert_eq!(code, 6);
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(sandbox.read("notes.txt"), numbered());
    assert!(!sandbox.path("later.txt").exists());
    let results: Vec<String> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "tool_result")
        .map(|event| event["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        results,
        [
            "the user rejected this edit and stopped the session; nothing was written",
            "not run: the user stopped the session at a review prompt"
        ]
    );
}

#[tokio::test]
async fn commands_ask_unless_read_only_and_always_allows_a_prefix() {
    let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
    let mock = MockGlm::start(vec![
        turn()
            .call("c1", "run_command", r#"{"command":"ls"}"#)
            .call("c2", "run_command", r#"{"command":"touch made.txt"}"#)
            .call("c3", "run_command", r#"{"command":"touch other.txt"}"#)
            .call("c4", "run_command", r#"{"command":"rm a.txt"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "commands"], &[], |session| {
        // `ls` is read-only and runs without a question; the first question is about touch.
        session.expect("$ touch made.txt").unwrap();
        session.expect("Run?").unwrap();
        session.send("a").unwrap();
        // `touch other.txt` is now allowed for the session; `rm` is asked about.
        session.expect("$ rm a.txt").unwrap();
        session.expect("Run?").unwrap();
        session.send("n").unwrap();
    })
    .await;
    assert_eq!(code, 5);
    let requests = mock.requests();
    assert!(tool_result(&requests, "c1").contains("a.txt"));
    assert!(sandbox.path("made.txt").exists() && sandbox.path("other.txt").exists());
    assert!(sandbox.path("a.txt").exists());
    assert!(
        tool_result(&requests, "c4").starts_with("the user did not approve running this command")
    );
}

#[tokio::test]
async fn agent_review_walks_batch_patches() {
    let sandbox = Sandbox::new(&[]);
    let batch = sandbox.dir.path().join("tasks.jsonl");
    std::fs::write(&batch, "{\"id\":\"first\",\"task\":\"[first] write\"}\n{\"id\":\"second\",\"task\":\"[second] write\"}\n").unwrap();
    let write = |name: &str| {
        vec![
            turn()
                .call(
                    "w",
                    "write_file",
                    &json!({"path": format!("{name}.txt"), "content": format!("{name}\n")})
                        .to_string(),
                )
                .reply(),
            turn().content("done").reply(),
        ]
    };
    let routes = vec![
        ("[first]".to_string(), write("first")),
        ("[second]".to_string(), write("second")),
    ];
    let mock = MockGlm::routed(routes, Duration::ZERO).await;
    let out = sandbox.dir.path().join("out");
    let mut command = sandbox.agent(&mock);
    command.args([
        "batch",
        batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(support::finish(command).await.code, 0);
    assert!(
        !sandbox.path("first.txt").exists(),
        "a batch never touches the real checkout"
    );

    let out_arg = out.display().to_string();
    let code = in_terminal(&sandbox, &mock, &["review", &out_arg], &[], |session| {
        session.expect("== first (ok) ==").unwrap();
        session.expect("Apply?").unwrap();
        session.send("y").unwrap();
        session.expect("== second (ok) ==").unwrap();
        session.expect("Apply?").unwrap();
        session.send("n").unwrap();
    })
    .await;
    assert_eq!(code, 5);
    assert_eq!(sandbox.read("first.txt"), "first\n");
    assert!(!sandbox.path("second.txt").exists());
}

#[tokio::test]
async fn a_command_approved_at_the_prompt_does_not_reprint_the_last_edit() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "p1",
                "apply_diff",
                &json!({"diff": two_hunk_diff()}).to_string(),
            )
            .reply(),
        turn()
            .call("p2", "run_command", r#"{"command":"touch done.txt"}"#)
            .reply(),
        turn().content("finished").reply(),
    ])
    .await;
    let mut command = without_stdio(sandbox.agent(&mock).into_std());
    command
        .args(["run", "edit then run"])
        .env("TERM", "xterm-256color");
    let after_command = tokio::task::spawn_blocking(move || {
        let mut session = Session::spawn(command).unwrap();
        session.set_expect_timeout(Some(Duration::from_secs(60)));
        session.expect("Apply?").unwrap();
        session.send("y").unwrap();
        session.expect("Run?").unwrap();
        session.send("y").unwrap();
        let rest = session.expect(Eof).unwrap();
        String::from_utf8_lossy(rest.as_bytes()).into_owned()
    })
    .await
    .unwrap();
    assert!(sandbox.path("done.txt").exists());
    assert!(after_command.contains("finished"), "{after_command}");
    assert!(
        !after_command.contains("--- a/notes.txt"),
        "the edit's diff was printed again:\n{after_command}"
    );
}

#[tokio::test]
async fn a_mode_change_is_shown_and_asked_for_hunk_by_hunk() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new(&[("run.sh", "echo old\n")]);
    let diff = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n--- a/run.sh\n+++ b/run.sh\n@@ -1 +1 @@\n-echo old\n+echo new\n";
    let mock = MockGlm::start(vec![
        turn()
            .call("m1", "apply_diff", &json!({ "diff": diff }).to_string())
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "make it run"], &[], |session| {
        session.expect("modified, +1 -1, made executable").unwrap();
        session.expect("Apply? [y]es [n]o [s]plit hunks").unwrap();
        session.send("s").unwrap();
        session.expect("Apply this hunk?").unwrap();
        session.send("n").unwrap();
        session
            .expect("Apply the mode change (made executable)?")
            .unwrap();
        session.send("y").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(sandbox.read("run.sh"), "echo old\n");
    let mode = std::fs::metadata(sandbox.path("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o100, 0o100);
    assert_eq!(
        tool_result(&mock.requests(), "m1"),
        "applied:\nrun.sh: +0 -0 (made executable)\n(the user reviewed hunk by hunk: `run.sh`: only its mode change applied)"
    );
}

#[tokio::test]
async fn an_edit_file_call_is_reviewed_hunk_by_hunk_too() {
    let sandbox = Sandbox::new(&[("notes.txt", &numbered())]);
    let arguments = json!({"path": "notes.txt", "edits": [
        {"old_string": "line 2\n", "new_string": "line TWO\n"},
        {"old_string": "line 25\n", "new_string": "line TWENTY-FIVE\n"}
    ]});
    let mock = MockGlm::start(vec![
        turn()
            .call("e1", "edit_file", &arguments.to_string())
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let code = in_terminal(&sandbox, &mock, &["run", "edit notes"], &[], |session| {
        session.expect("\u{1b}[32m+line TWO").unwrap();
        session.expect("Apply? [y]es [n]o [s]plit hunks").unwrap();
        session.send("s").unwrap();
        session.expect("Apply this hunk?").unwrap();
        session.send("n").unwrap();
        session.expect("Apply this hunk?").unwrap();
        session.send("y").unwrap();
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        sandbox.read("notes.txt"),
        numbered().replace("line 25\n", "line TWENTY-FIVE\n")
    );
    assert_eq!(
        tool_result(&mock.requests(), "e1"),
        "applied:\nnotes.txt: +1 -1\n(the user reviewed hunk by hunk: `notes.txt`: applied 1 of 2 hunks; rejected: @@ -1,5 +1,5 @@)"
    );
}
