//! Compaction: a session about to outgrow the model's context window goes on from the task and a
//! summary the model writes, whether the agent's estimate says so or the provider refuses the
//! prompt (GLM code 1261).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{MockGlm, Reply, Sandbox, finish, turn};

const SUMMARY_REQUEST: &str = include_str!("../prompts/compact.md");

fn messages(request: &support::Recorded) -> Vec<Value> {
    request.body["messages"].as_array().unwrap().clone()
}

fn roles(request: &support::Recorded) -> Vec<String> {
    messages(request)
        .iter()
        .map(|message| message["role"].as_str().unwrap().to_string())
        .collect()
}

/// A workspace with a file large enough to fill a small context window when read.
fn sandbox() -> Sandbox {
    Sandbox::new(&[("big.txt", &"a line of some length\n".repeat(400))])
}

/// A turn that reads big.txt, reported to have had a prompt of `prompt_tokens`.
fn read_big(id: &str, prompt_tokens: u64) -> Reply {
    turn()
        // The limit differs from call to call, so that no call repeats the one before.
        .call(
            id,
            "read_file",
            &json!({"path": "big.txt", "limit": 1000 + prompt_tokens}).to_string(),
        )
        .usage(prompt_tokens, 20, 0)
        .reply()
}

#[tokio::test]
async fn a_session_near_the_window_continues_from_a_summary() {
    let sandbox = sandbox();
    let mock = MockGlm::start(vec![
        read_big("r1", 300),
        turn()
            .content("Read big.txt; next: count its lines.")
            .usage(3000, 50, 0)
            .reply(),
        turn().content("done").usage(400, 5, 0).reply(),
        turn().content("still done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--yes",
        "--context-window",
        "3000",
        "--max-tokens",
        "500",
        "count the lines of big.txt",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "done\n");

    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    // The summary request: the conversation as it was, then the request for a summary.
    assert_eq!(
        roles(&requests[1]),
        ["system", "user", "assistant", "tool", "user"]
    );
    assert_eq!(messages(&requests[1])[4]["content"], SUMMARY_REQUEST);
    // The session goes on from the system prompt, the task and the summary.
    let after = messages(&requests[2]);
    assert_eq!(roles(&requests[2]), ["system", "user", "user"]);
    assert_eq!(after[0], messages(&requests[0])[0]);
    assert_eq!(after[1], messages(&requests[0])[1]);
    assert_eq!(mock.tasks_asked()[2], "count the lines of big.txt");
    let summary = after[2]["content"].as_str().unwrap();
    assert!(
        summary.contains("\n\nRead big.txt; next: count its lines.\n\n"),
        "{summary}"
    );
    assert!(
        run.stderr.contains("compacting the conversation"),
        "{}",
        run.stderr
    );

    let kinds: Vec<Value> = sandbox
        .transcript_events()
        .into_iter()
        .filter(|event| event["type"] == "compacting" || event["type"] == "compacted")
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(
        kinds[1]["summary"],
        json!("Read big.txt; next: count its lines.")
    );

    // A follow-up goes on from the compacted conversation, not from the one before it.
    let mut follow_up = sandbox.agent(&mock);
    follow_up.args(["run", "--continue", "and the words?"]);
    let follow_up = finish(follow_up).await;
    assert_eq!(follow_up.code, 0, "{}", follow_up.stderr);
    let requests = mock.requests();
    let resumed = messages(&requests[3]);
    assert_eq!(resumed[..3], after[..]);
    assert_eq!(
        resumed[3..],
        [
            json!({"role": "assistant", "content": "done"}),
            json!({"role": "user", "content": "and the words?"}),
        ]
    );
}

#[tokio::test]
async fn a_prompt_the_provider_refuses_as_too_long_is_compacted_and_sent_again() {
    let sandbox = sandbox();
    let mock = MockGlm::start(vec![
        read_big("r1", 300),
        Reply::Error {
            status: 400,
            code: "1261",
            retry_after: None,
        },
        turn().content("Read big.txt.").reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "count the lines of big.txt"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "done\n");
    let requests = mock.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        messages(&requests[2]).last().unwrap()["content"],
        SUMMARY_REQUEST
    );
    assert_eq!(roles(&requests[3]), ["system", "user", "user"]);
}

#[tokio::test]
async fn when_no_summary_comes_older_tool_results_are_cut_short() {
    let sandbox = sandbox();
    // Each read adds about 3,000 tokens; the window is passed after the sixth.
    let mut script: Vec<Reply> = (0..6)
        .map(|n| read_big(&format!("r{n}"), 300 + n * 2000))
        .collect();
    // The summary request fails for good; the session goes on from the trimmed history.
    script.push(Reply::Error {
        status: 400,
        code: "1214",
        retry_after: None,
    });
    script.push(turn().content("done").reply());
    let mock = MockGlm::start(script).await;
    let mut command = sandbox.agent(&mock);
    command.args([
        "run",
        "--yes",
        "--context-window",
        "15000",
        "--max-tokens",
        "500",
        "read big.txt six times",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 8, "{}", run.stderr);
    assert_eq!(
        messages(&requests[6]).last().unwrap()["content"],
        SUMMARY_REQUEST
    );
    let last = messages(&requests[7]);
    let tool_contents: Vec<&str> = last
        .iter()
        .filter(|message| message["role"] == "tool")
        .map(|message| message["content"].as_str().unwrap())
        .collect();
    assert_eq!(tool_contents.len(), 6);
    for stubbed in &tool_contents[..2] {
        assert!(
            stubbed.ends_with("more bytes left out to save context]"),
            "{stubbed}"
        );
    }
    for whole in &tool_contents[2..] {
        assert!(whole.contains("   400\ta line of some length"), "{whole}");
    }
    assert!(
        run.stderr.contains("no summary could be had"),
        "{}",
        run.stderr
    );
}
