//! What goes over the wire through async-openai and our transport: errors keep their status, code
//! and body; a stream cut before `[DONE]` is retried; nothing from the environment but our key is
//! sent; the client works without system certificates.

mod support;

use support::{MockGlm, Reply, Sandbox, finish, turn};

fn json_error(status: u16, body: &str) -> Reply {
    Reply::Raw {
        status,
        headers: vec![("content-type", "application/json")],
        body: body.to_string(),
    }
}

#[tokio::test]
async fn numeric_error_codes_decide_like_string_ones() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        json_error(429, r#"{"error":{"code":1302,"message":"rate limit"}}"#),
        turn().content("after the pause").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("(code 1302)"), "{}", run.stderr);
    assert_eq!(run.stdout, "after the pause\n");

    let mock = MockGlm::start(vec![json_error(
        429,
        r#"{"error":{"code":1113,"message":"no balance"}}"#,
    )])
    .await;
    let run = finish({
        let mut command = sandbox.agent(&mock);
        command.args(["run", "hi"]);
        command
    })
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(mock.requests().len(), 1, "a quota error is not retried");
    assert!(run.stderr.contains("no balance left"), "{}", run.stderr);
}

#[tokio::test]
async fn a_non_json_error_page_is_reported_with_its_text() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![Reply::Raw {
        status: 413,
        headers: vec![("content-type", "text/html")],
        body: "<html><body><h1>413 Request Entity Too Large</h1></body></html>".into(),
    }])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(mock.requests().len(), 1);
    assert!(
        run.stderr
            .contains("HTTP 413: <html><body><h1>413 Request Entity Too Large</h1>"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_retry_after_on_a_proxy_error_is_honoured() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![
        Reply::Raw {
            status: 502,
            headers: vec![("content-type", "text/plain"), ("retry-after", "0")],
            body: "Bad Gateway".into(),
        },
        turn().content("ok").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command
        .env("AGENT_RETRY_BASE_MS", "60000")
        .args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 502: Bad Gateway") && run.stderr.contains("retrying in 0"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_whole_turn_cut_before_done_is_retried_and_its_tool_runs_once() {
    let sandbox = Sandbox::new(&[]);
    let call = turn().call(
        "k1",
        "run_command",
        r#"{"command":"echo run >> count.txt"}"#,
    );
    let mock = MockGlm::start(vec![
        // Every chunk of the turn, finish_reason and usage included: only [DONE] is missing.
        Reply::Cut(call.chunks()),
        call.reply(),
        turn().content("counted").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "count"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("the stream ended before [DONE]"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.read("count.txt"), "run\n");
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn openai_organization_and_project_from_the_environment_are_not_sent() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command
        .env("OPENAI_ORG_ID", "org-leak")
        .env("OPENAI_PROJECT_ID", "proj-leak")
        .env("OPENAI_API_KEY", "sk-leak")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:1/elsewhere")
        .args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = &mock.requests()[0];
    let mut names: Vec<&str> = request.headers.keys().map(|name| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accept",
            "authorization",
            "content-length",
            "content-type",
            "host",
            "user-agent"
        ]
    );
    assert_eq!(
        request.authorization,
        format!("Bearer {}", support::API_KEY)
    );
    assert_eq!(request.headers["accept"], "text/event-stream");
}

#[tokio::test]
async fn an_api_key_with_a_line_break_is_a_clear_setup_error() {
    let sandbox = Sandbox::new(&[]);
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command
        .env("AGENT_API_KEY", "first-half\nsecond-half")
        .args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the API key contains a line break"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(mock.requests().len(), 0);
}

#[tokio::test]
async fn the_client_starts_without_system_certificates() {
    let sandbox = Sandbox::new(&[]);
    let empty = sandbox.dir.path().join("no-certs");
    std::fs::create_dir_all(&empty).unwrap();
    let mock = MockGlm::start(vec![turn().content("hi").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command
        .env("SSL_CERT_FILE", empty.join("none.pem"))
        .env("SSL_CERT_DIR", &empty)
        .args(["run", "hi"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "hi\n");
}
