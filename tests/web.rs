//! The review page in a real browser: Debian's Chromium driven by Playwright (`tests/web/`)
//! against the real daemon and the mock GLM. Signing in with the printed link, starting a session
//! from the form, its events streaming in, one hunk accepted and the other rejected, the page
//! catching up after the daemon is killed and restarted (no event shown twice), a second tab
//! answering an approval the first answered being told so, a browser not signed in being told
//! how to, the page at phone width, and a finished session forgotten.
//! Screenshots go to the target directory (`$CARGO_TARGET_TMPDIR/web`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::daemon::Daemon;
use support::{MockGlm, Sandbox, numbered, tool_result, turn};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// A Chromium the test commands line by line (`tests/web/driver.mjs`).
struct Browser {
    _child: Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
    shots: std::path::PathBuf,
}

impl Browser {
    async fn start() -> Self {
        assert!(
            std::path::Path::new("/usr/bin/chromium").exists(),
            "the browser tests need Debian's Chromium: apt-get install chromium"
        );
        let modules = support::npm::npm_packages("web");
        let mut child = tokio::process::Command::new("node")
            .arg(modules.parent().unwrap().join("driver.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap()).lines();
        let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web");
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            _child: child,
            input,
            output,
            shots,
        }
    }

    /// Runs one command in tab `tab`; its value (the test fails on an error).
    async fn run(&mut self, tab: usize, mut command: Value) -> Value {
        command["tab"] = json!(tab);
        let line = format!("{command}\n");
        self.input.write_all(line.as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(60), self.output.next_line())
            .await
            .expect("the browser did not answer")
            .unwrap()
            .expect("the browser driver exited");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["ok"], true, "{command}: {}", answer["error"]);
        answer["value"].clone()
    }

    async fn click(&mut self, tab: usize, selector: &str) {
        self.run(tab, json!({"op": "click", "selector": selector}))
            .await;
    }

    async fn fill(&mut self, tab: usize, selector: &str, value: &str) {
        self.run(
            tab,
            json!({"op": "fill", "selector": selector, "value": value}),
        )
        .await;
    }

    async fn wait_for(&mut self, tab: usize, selector: &str) {
        self.run(tab, json!({"op": "waitFor", "selector": selector}))
            .await;
    }

    async fn wait_for_text(&mut self, tab: usize, selector: &str, text: &str) {
        self.run(
            tab,
            json!({"op": "waitForText", "selector": selector, "text": text}),
        )
        .await;
    }

    async fn texts(&mut self, tab: usize, selector: &str) -> Vec<String> {
        let texts = self
            .run(tab, json!({"op": "texts", "selector": selector}))
            .await;
        serde_json::from_value(texts).unwrap()
    }

    async fn shot(&mut self, tab: usize, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        self.run(
            tab,
            json!({"op": "screenshot", "path": path.to_str().unwrap()}),
        )
        .await;
    }

    /// The event ids of the timeline's items, in order.
    async fn shown_ids(&mut self) -> Vec<String> {
        let ids = self
            .run(
                0,
                json!({"op": "attributes", "selector": "#timeline > li", "name": "data-id"}),
            )
            .await;
        serde_json::from_value(ids).unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_person_reviews_in_the_browser() {
    let sandbox = Sandbox::new(&[("a.txt", &numbered(false)), ("b.txt", "b\n")]);
    let rewrite = json!({"path": "a.txt", "content": numbered(true)}).to_string();
    let mock = MockGlm::start(vec![
        turn()
            .reasoning("Both places need the words.")
            .call("w1", "write_file", &rewrite)
            .reply(),
        turn().content("Done.").reply(),
        turn()
            .call(
                "p1",
                "update_plan",
                r#"{"plan":[{"step":"Say them in words","status":"completed"},{"step":"Check the rest","status":"in_progress"}]}"#,
            )
            .reply(),
        turn().content("Followed up.").reply(),
        turn()
            .call("w2", "write_file", r#"{"path":"b.txt","content":"bee\n"}"#)
            .reply(),
        turn().content("Second done.").reply(),
    ])
    .await;
    let listen = format!("127.0.0.1:{}", free_port());
    let daemon = Daemon::start_at(&sandbox, &mock, &listen, &[]).await;
    let mut browser = Browser::start().await;

    // Signing in: the link sets an HttpOnly, SameSite=Strict cookie the page cannot read.
    let status = browser
        .run(0, json!({"op": "goto", "url": daemon.login_url}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        browser.run(0, json!({"op": "url"})).await,
        format!("{}/", daemon.url)
    );
    let cookies = browser.run(0, json!({"op": "cookies"})).await;
    assert_eq!(cookies[0]["httpOnly"], true, "{cookies}");
    assert_eq!(cookies[0]["sameSite"], "Strict", "{cookies}");
    let readable = browser
        .run(0, json!({"op": "evaluate", "script": "document.cookie"}))
        .await;
    assert_eq!(readable, "");
    let used_again = browser
        .run(0, json!({"op": "goto", "url": daemon.login_url}))
        .await;
    assert_eq!(used_again, 401, "a sign-in link is good once");
    browser
        .run(0, json!({"op": "goto", "url": format!("{}/", daemon.url)}))
        .await;

    // Starting a session from the form; its events stream in; the edit waits with two hunks.
    browser.click(0, "#new-session summary").await;
    let workspace = sandbox.workspace.canonicalize().unwrap();
    browser
        .fill(
            0,
            "#create input[name=workspace]",
            workspace.to_str().unwrap(),
        )
        .await;
    browser
        .fill(0, "#create textarea[name=task]", "say the numbers in words")
        .await;
    browser.click(0, "#create button[type=submit]").await;
    browser
        .wait_for_text(0, "#timeline .tool .name", "write_file")
        .await;
    browser
        .wait_for_text(0, "#timeline .reasoning pre", "Both places need the words.")
        .await;
    browser.wait_for(0, "#approval .hunk").await;
    assert_eq!(
        browser
            .texts(0, "#approval .hunk-head > span:first-child")
            .await,
        vec!["@@ -1,5 +1,5 @@", "@@ -22,7 +22,7 @@"]
    );
    browser.shot(0, "approval").await;

    // Going through the hunks with the terminal's keys: s, then y for the first and n for the
    // second; after the last, the ticked one is applied.
    browser.run(0, json!({"op": "press", "key": "s"})).await;
    browser
        .wait_for_text(0, "#approval .walk", "Hunk 1 of 2 (a.txt)")
        .await;
    browser.run(0, json!({"op": "press", "key": "y"})).await;
    browser
        .wait_for_text(0, "#approval .walk", "Hunk 2 of 2 (a.txt)")
        .await;
    assert_eq!(
        browser
            .texts(0, "#approval .hunk.asking .hunk-head > span:first-child")
            .await,
        vec!["@@ -22,7 +22,7 @@"]
    );
    browser.run(0, json!({"op": "press", "key": "n"})).await;
    browser
        .wait_for_text(0, "#timeline .finished", "finished")
        .await;
    assert_eq!(
        sandbox.read("a.txt"),
        numbered(false).replace("line 2\n", "line two\n")
    );
    let told = tool_result(&mock.requests(), "w1");
    assert!(
        told.contains("applied 1 of 2 hunks; rejected: @@ -22,7 +22,7 @@"),
        "{told}"
    );
    browser.click(0, "#show-diff").await;
    browser
        .wait_for_text(0, "#whole-diff .diff-line.add", "+line two")
        .await;
    browser.shot(0, "finished").await;

    // The daemon killed and restarted: the page says so, catches up, and shows nothing twice.
    let before = browser.shown_ids().await;
    daemon.kill().await;
    browser
        .wait_for_text(0, "#banner", "cannot be reached")
        .await;
    let daemon = Daemon::start_at(&sandbox, &mock, &listen, &[]).await;
    browser
        .run(
            0,
            json!({"op": "waitFor", "selector": "#banner", "state": "hidden"}),
        )
        .await;
    browser
        .fill(0, "#follow-up textarea", "and the other numbers?")
        .await;
    browser.click(0, "#follow-up button").await;
    browser
        .wait_for_text(0, "#timeline .message", "Followed up.")
        .await;
    // The plan, beside the events, as the model last sent it.
    assert_eq!(
        browser.texts(0, "#plan-steps li").await,
        vec!["✔ Say them in words", "▶ Check the rest"]
    );
    let after = browser.shown_ids().await;
    assert_eq!(after[..before.len()], before[..]);
    let unique: HashSet<&String> = after.iter().collect();
    assert_eq!(unique.len(), after.len(), "an event shown twice: {after:?}");
    assert_eq!(
        browser.texts(0, "#timeline .user").await,
        vec!["say the numbers in words", "and the other numbers?"]
    );

    // Two tabs on one approval: the second, answering after the first, is told it was answered
    // elsewhere (its event streams are cut, so that it still shows the question).
    let second = daemon.create(&sandbox, "rewrite b.txt").await;
    let session_url = format!("{}/#/s/{second}", daemon.url);
    let other = browser
        .run(0, json!({"op": "newTab"}))
        .await
        .as_u64()
        .unwrap() as usize;
    browser.run(other, json!({"op": "blockEvents"})).await;
    for tab in [0, other] {
        browser
            .run(tab, json!({"op": "goto", "url": session_url}))
            .await;
        browser.wait_for(tab, "#approval .hunk").await;
    }
    browser
        .click(0, "#approval button[data-answer=approve]")
        .await;
    browser
        .wait_for_text(0, "#timeline .finished", "finished")
        .await;
    assert_eq!(sandbox.read("b.txt"), "bee\n");
    browser
        .click(other, "#approval button[data-answer=deny]")
        .await;
    browser
        .wait_for_text(other, "#notice", "already answered elsewhere")
        .await;
    assert_eq!(sandbox.read("b.txt"), "bee\n");

    // A browser that never signed in is told how to.
    let stranger = browser
        .run(0, json!({"op": "newTab", "fresh": true}))
        .await
        .as_u64()
        .unwrap() as usize;
    browser
        .run(
            stranger,
            json!({"op": "goto", "url": format!("{}/", daemon.url)}),
        )
        .await;
    browser
        .wait_for_text(stranger, "#banner", "You are signed out")
        .await;

    // The list is pushed: a session made by another client shows up, with its workspace and
    // state; at 360 px a long task wraps and nothing scrolls sideways.
    let long_task =
        "make every number in the file a word and keep the rest exactly as it is, ".repeat(3);
    let third = daemon.create(&sandbox, &long_task).await;
    browser
        .run(0, json!({"op": "goto", "url": format!("{}/", daemon.url)}))
        .await;
    browser
        .run(0, json!({"op": "setViewport", "width": 360, "height": 740}))
        .await;
    browser
        .wait_for(
            0,
            &format!("#sessions a[data-session='{third}'] .workspace"),
        )
        .await;
    assert_eq!(
        browser
            .texts(
                0,
                &format!("#sessions a[data-session='{third}'] .workspace")
            )
            .await,
        vec!["repo"]
    );
    let overflow = browser
        .run(
            0,
            json!({"op": "evaluate", "script": "document.documentElement.scrollWidth - document.documentElement.clientWidth"}),
        )
        .await;
    assert_eq!(overflow, 0, "the page scrolls sideways at 360 px");
    browser.shot(0, "phone-list").await;
    browser
        .run(0, json!({"op": "goto", "url": session_url}))
        .await;

    // At phone width the session fills the screen.
    browser
        .run(0, json!({"op": "setViewport", "width": 390, "height": 844}))
        .await;
    browser
        .run(
            0,
            json!({"op": "waitFor", "selector": "#sessions-pane", "state": "hidden"}),
        )
        .await;
    browser.shot(0, "phone").await;

    // Forgetting the finished session takes it off the list.
    browser.click(0, "#forget").await;
    browser
        .run(
            0,
            json!({"op": "waitFor", "selector": format!("#sessions a[data-session='{second}']"), "state": "detached"}),
        )
        .await;
    let gone = daemon
        .get(&format!("/v1/sessions/{second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}
