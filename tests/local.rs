//! Local models and other OpenAI-compatible servers: streams recorded from a real llama.cpp server
//! replayed through the mock (tests/fixtures/llama-cpp/), tool calls written as text, a server
//! that reports its context window, the overflow answer, no key on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{MockGlm, Reply, Sandbox, finish, fixture, local_agent, recorded_stream, turn};

const HELLO: &str = "print(\"hello\")\n";

/// `agent run` against an `openai`-kind server with no key set, as a llama.cpp user runs it.
fn messages(request: &support::Recorded) -> Vec<Value> {
    request.body["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_call_written_as_a_fenced_json_block_is_run() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let mock = MockGlm::start(vec![
        recorded_stream("llama-cpp/sse_tool_1.5b.txt"),
        recorded_stream("llama-cpp/sse_req_text.txt"),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the model wrote 1 tool call(s) as text: running them as calls"),
        "{}",
        run.stderr
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let sent = messages(&requests[1]);
    let written = "```json\n{\n  \"name\": \"read_file\",\n  \"arguments\": {\n    \"path\": \"hello.py\",\n    \"offset\": 1\n  }\n}\n```";
    // The reply goes back as the model sent it; the result follows as one user message.
    assert_eq!(
        sent[2..],
        [
            json!({"role": "assistant", "content": written}),
            json!({"role": "user", "content": "<tool_response>\n     1\tprint(\"hello\")\n</tool_response>"}),
        ]
    );
    assert_eq!(run.stdout, "Hello, how are you?\n");
}

#[tokio::test]
async fn real_tool_call_deltas_of_llama_cpp_are_assembled() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let mock = MockGlm::start(vec![
        recorded_stream("llama-cpp/sse_tool_1.5b_fenced.txt"),
        recorded_stream("llama-cpp/sse_req_parallel.txt"),
        recorded_stream("llama-cpp/sse_req_text.txt"),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    let tool_messages: Vec<Value> = messages(&requests[2])
        .into_iter()
        .filter(|message| message["role"] == "tool")
        .collect();
    assert_eq!(tool_messages.len(), 2);
    for message in tool_messages {
        assert_eq!(message["content"], "     1\tprint(\"hello\")\n");
    }
    assert!(!run.stderr.contains("as text"), "{}", run.stderr);
}

#[tokio::test]
async fn glms_xml_call_form_is_recovered_only_where_the_setting_allows() {
    let xml =
        "<tool_call>read_file<arg_key>path</arg_key><arg_value>hello.py</arg_value></tool_call>";
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let mock = MockGlm::start(vec![
        turn().content(xml).reply(),
        turn().content("It prints hello.").reply(),
    ])
    .await;
    let mut command = local_agent(&sandbox, &mock, "what does hello.py print?");
    command.arg("--json");
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let recovered: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["type"] == "text_calls_recovered")
        .collect();
    assert_eq!(
        recovered,
        [
            json!({"type": "text_calls_recovered", "calls": [{"id": "text_1_0", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"hello.py\"}"}}]})
        ]
    );

    // GLM's own API: off by default, the text is the answer.
    let mock = MockGlm::start(vec![turn().content(xml).reply()]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "what does hello.py print?"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{xml}\n"));
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn the_servers_context_window_is_used_and_said() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    mock.serve_info(
        "/props",
        json!({"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1}),
    );
    let run = finish(local_agent(&sandbox, &mock, "hi")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "context window 2048 tokens (reported by llama.cpp's /props), answers up to 512 tokens"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests()[0].body["max_tokens"], 512);
    // A small model's server is asked for temperature 0, unless one is set.
    assert_eq!(mock.requests()[0].body["temperature"], 0.0);
    let warm = MockGlm::start(vec![turn().content("hi").reply()]).await;
    warm.serve_info(
        "/props",
        json!({"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1}),
    );
    let mut command = local_agent(&sandbox, &warm, "hi");
    command.args(["--temperature", "0.7"]);
    assert_eq!(finish(command).await.code, 0);
    let sent = warm.requests()[0].body["temperature"].as_f64().unwrap();
    assert!((sent - 0.7).abs() < 1e-6, "{sent}");
}

#[tokio::test]
async fn without_a_report_the_setting_is_used_and_said() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    mock.serve_info(
        "/v4/models",
        json!({"data": [{"id": "other-model", "max_model_len": 4096}, {"id": "another", "max_model_len": 1}]}),
    );
    let run = finish(local_agent(&sandbox, &mock, "hi")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("context window 128000 tokens (assumed"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests()[0].body["max_tokens"], 8192);
}

#[tokio::test]
async fn llama_cpps_overflow_answer_leads_to_compaction() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let overflow = fixture("llama-cpp/overflow_response.txt");
    let overflow_body = overflow.lines().next().unwrap().to_string();
    let mock = MockGlm::start(vec![
        turn()
            .call("r1", "read_file", r#"{"path":"hello.py"}"#)
            .reply(),
        Reply::Raw {
            status: 400,
            headers: vec![("content-type", "application/json")],
            body: overflow_body,
        },
        turn().content("Summary: hello.py prints hello.").reply(),
        turn().content("It prints hello.").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("compacting the conversation"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "It prints hello.\n");
    assert_eq!(mock.requests().len(), 4);
}

#[tokio::test]
async fn an_empty_optional_argument_counts_as_not_given() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let mock = MockGlm::start(vec![
        turn()
            .call("l1", "list_files", r#"{"path": "", "max_depth": null}"#)
            .reply(),
        turn().content("one file").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "list")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listing = support::tool_result(&mock.requests(), "l1");
    assert!(listing.contains("hello.py"), "{listing}");
}

#[tokio::test]
async fn a_reply_cut_at_the_output_limit_runs_none_of_its_calls() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        turn()
            .call("w1", "write_file", r#"{"path":"a.txt","content":"a\n"}"#)
            .call("w2", "write_file", r#"{"path":"b.txt","content":"b"#)
            .finish_reason("length")
            .reply(),
        turn().content("giving up").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "write"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!sandbox.path("a.txt").exists());
    let answer = support::tool_result(&mock.requests(), "w1");
    assert_eq!(
        answer,
        "not run: your reply was cut off at the output token limit (32768 tokens) before it ended, so none of its 2 calls were run. Send them again, fewer per reply (and with less text before them)."
    );
    assert_eq!(support::tool_result(&mock.requests(), "w2"), answer);
}

#[tokio::test]
async fn a_resumed_session_replays_calls_written_as_text_as_they_were_sent() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let mock = MockGlm::start(vec![
        recorded_stream("llama-cpp/sse_tool_1.5b.txt"),
        recorded_stream("llama-cpp/sse_req_text.txt"),
        turn().content("again").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut follow_up = local_agent(&sandbox, &mock, "and now?");
    follow_up.arg("--continue");
    let follow_up = finish(follow_up).await;
    assert_eq!(follow_up.code, 0, "{}", follow_up.stderr);
    let requests = mock.requests();
    let before = messages(&requests[1]);
    assert_eq!(messages(&requests[2])[..before.len()], before[..]);
}

/// Measured with Qwen2.5-Coder-1.5B: a call written as text, then the outcome the model imagined.
#[tokio::test]
async fn text_after_a_call_written_as_text_is_set_aside_and_the_model_told() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let reply = "```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"hello.py\"}}\n```\nI read hello.py and fixed the bug.";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("It prints hello.").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = messages(&mock.requests()[1]);
    assert_eq!(
        sent[2..],
        [
            json!({"role": "assistant", "content": reply}),
            json!({"role": "user", "content": "<tool_response>\n     1\tprint(\"hello\")\n</tool_response>\n(What you wrote after your calls came before these results and was set aside.)"}),
        ]
    );
    assert_eq!(run.stdout, "It prints hello.\n");
}

/// Measured with Qwen2.5-Coder-1.5B: a made-up tool named after the task, as the whole reply.
#[tokio::test]
async fn a_call_of_a_tool_that_does_not_exist_is_answered_with_the_tools_there_are() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let reply = "```json\n{\"name\": \"last\", \"arguments\": {\"sequence\": [1, 2, 3]}}\n```";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "fix last")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = messages(&mock.requests()[1]);
    assert_eq!(
        sent.last().unwrap()["content"],
        "<tool_response>\nunknown tool `last`; the available tools are: read_file, list_files, search, run_command, apply_diff, edit_file, write_file, update_plan\n</tool_response>"
    );
    assert_eq!(run.stdout, "Done.\n");
}

/// Qwen2.5-Coder-1.5B wrote a file's content with a docstring's quotes unescaped; the call did
/// not parse and was taken for the final answer, with nothing changed.
#[tokio::test]
async fn quotes_left_unescaped_in_a_file_written_as_text_are_read_as_meant() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let reply = "```json\n{\"name\": \"write_file\", \"arguments\": {\"path\": \"hello.py\", \"content\": \"def f():\\n    \"\"\"Doc.\"\"\"\\n\"}}\n```";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let mut command = local_agent(&sandbox, &mock, "fix f");
    command.arg("--yes");
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("hello.py"), "def f():\n    \"\"\"Doc.\"\"\"\n");
}

/// A call written as text that cannot be read is answered with what is wrong, instead of being
/// taken for the final answer.
#[tokio::test]
async fn a_call_written_as_text_that_does_not_parse_is_answered_with_what_is_wrong() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let reply =
        "```json\n{\"name\": \"write_file\", \"arguments\": {\"path\": \"hello.py\",}}\n```";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let run = finish(local_agent(&sandbox, &mock, "fix f")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = messages(&mock.requests()[1]);
    assert_eq!(
        sent.last().unwrap()["content"],
        "[from the agent] Your reply holds a call of `write_file` written as text, but it is not valid JSON (trailing comma at line 1 column 57), so it was not run. In a JSON string, write a quote as \\\" and a line break as \\n. Send the call again. Or write the file with no JSON: its path on a line of its own, then the whole new file in a fenced block."
    );
    assert_eq!(sandbox.read("hello.py"), HELLO);
}

/// The same model sent the same broken call again after being told, until the turn limit.
#[tokio::test]
async fn a_broken_call_sent_again_and_again_is_stopped_as_a_repeated_call() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let broken =
        "```json\n{\"name\": \"apply_diff\", \"arguments\": {\"diff\": \"--- a/hello.py\",}}\n```";
    let mock = MockGlm::start((0..8).map(|_| turn().content(broken).reply()).collect()).await;
    let run = finish(local_agent(&sandbox, &mock, "fix f")).await;
    assert_eq!(
        (run.code, mock.requests().len()),
        (4, 6),
        "stopped at the 6th identical broken call: {}",
        run.stderr
    );
}

#[tokio::test]
async fn a_reply_that_loops_is_cut_after_its_first_time() {
    let sandbox = Sandbox::new(&[("hello.py", HELLO)]);
    let looping = format!(
        "It prints hello.\n{}",
        "The file prints hello and nothing else.\n".repeat(40)
    );
    let mock = MockGlm::start(vec![turn().content(&looping).reply()]).await;
    let run = finish(local_agent(&sandbox, &mock, "what does hello.py print?")).await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            0,
            "It prints hello.\nThe file prints hello and nothing else.\n\n"
        ),
        "{}",
        run.stderr
    );
}
