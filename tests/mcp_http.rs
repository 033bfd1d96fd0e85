//! MCP servers over streamable HTTP: the everything server from the npm registry
//! (`@modelcontextprotocol/server-everything streamableHttp`, pinned in tests/mcp/package-lock.json)
//! reached by URL with the config's headers and bearer token, its tools called like a stdio
//! server's (also a long call with progress), a server that does not answer or a malformed entry
//! left out in one line, and `agent mcp` listing, showing, adding and removing servers; behind a
//! gate (tests/mcp/gate.rs): a stream cut mid-call resumed, and OAuth (`agent mcp login`,
//! refresh, an expired login, `agent mcp logout`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "mcp/gate.rs"]
mod gate;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use gate::{Gate, Grant, Guard};
use serde_json::Value;
use support::{MockGlm, Sandbox, finish, tool_result, turn};
use tokio::io::{AsyncBufReadExt, BufReader};

const TOKEN: &str = "secret-mcp-token-123";

/// The everything server in its streamable HTTP mode, on 127.0.0.1.
struct HttpServer {
    _child: tokio::process::Child,
    url: String,
}

async fn http_server(headers_log: &Path) -> HttpServer {
    let everything = support::npm::npm_packages("mcp")
        .join("@modelcontextprotocol/server-everything/dist/index.js");
    let preload = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/bind-local.mjs");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new("node")
        .arg("--import")
        .arg(&preload)
        .arg(&everything)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .env("MCP_HEADERS_LOG", headers_log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on port") {
                return;
            }
        }
        panic!("the everything server ended before it listened");
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), ready)
        .await
        .expect("the everything server did not listen");
    // Its later log must not fill the pipe and stall it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    HttpServer {
        _child: child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

fn project_config(sandbox: &Sandbox, text: &str) {
    std::fs::create_dir_all(sandbox.path(".agent")).unwrap();
    std::fs::write(sandbox.path(".agent/config.toml"), text).unwrap();
}

fn headers_seen(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn web_config(url: &str) -> String {
    format!(
        "[mcp_servers.web]\nurl = \"{url}\"\nheaders = {{ \"X-Team\" = \"core\" }}\nbearer_token_env_var = \"WEB_MCP_TOKEN\"\n"
    )
}

#[tokio::test]
async fn a_server_reached_by_url_gets_the_headers_and_its_tools_are_called() {
    let sandbox = Sandbox::new(&[]);
    let log = sandbox.dir.path().join("headers.jsonl");
    let server = http_server(&log).await;
    project_config(&sandbox, &web_config(&server.url));
    let mock = MockGlm::start(vec![
        turn()
            .call("m1", "web__echo", r#"{"message":"over HTTP"}"#)
            .call(
                "m2",
                "web__trigger-long-running-operation",
                r#"{"duration":1,"steps":4}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command
        .env("WEB_MCP_TOKEN", TOKEN)
        .args(["run", "--json", "-y", "echo over HTTP"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(tool_result(&requests, "m1"), "Echo: over HTTP");
    assert_eq!(
        tool_result(&requests, "m2"),
        "Long running operation completed. Duration: 1 seconds, Steps: 4."
    );
    let seen = headers_seen(&log);
    assert!(!seen.is_empty());
    for request in &seen {
        assert_eq!(request["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(request["team"], "core");
    }
    // The token is nowhere the session writes.
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    let transcripts: String = sandbox
        .transcript_events()
        .iter()
        .map(Value::to_string)
        .collect();
    assert!(!transcripts.contains(TOKEN));
}

#[tokio::test]
async fn servers_that_cannot_be_reached_or_configured_are_left_out_in_one_line() {
    let sandbox = Sandbox::new(&[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Gate::start("http://127.0.0.1:9/unused", Guard::Answer(503)).await;
    let older = Gate::start("http://127.0.0.1:9/unused", Guard::Answer(405)).await;
    project_config(
        &sandbox,
        &format!(
            "[mcp_servers.down]\nurl = \"{}\"\n\n[mcp_servers.older]\nurl = \"{}\"\n\n[mcp_servers.gone]\nurl = \"http://127.0.0.1:{closed}/mcp\"\n\n[mcp_servers.both]\ncommand = \"x\"\nurl = \"http://127.0.0.1:{closed}/mcp\"\n\n[mcp_servers.neither]\nargs = [\"x\"]\n\n[mcp_servers.tokenless]\nurl = \"http://127.0.0.1:{closed}/mcp\"\nbearer_token_env_var = \"UNSET_MCP_TOKEN\"\n",
            down.url, older.url
        ),
    );
    let mock = MockGlm::start(vec![turn().content("done").reply()]).await;
    let run = sandbox.agent_to_end(&mock, &["run", "hello"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let said: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("left out"))
        .collect();
    assert_eq!(said.len(), 6, "{}", run.stderr);
    let url = format!("http://127.0.0.1:{closed}/mcp");
    for expected in [
        "MCP server `both` left out: its entry has both `command` and `url`: a server is one or the other".to_string(),
        "MCP server `neither` left out: its entry has neither `command` nor `url`".to_string(),
        "MCP server `tokenless` left out: its bearer token variable `UNSET_MCP_TOKEN` is not set".to_string(),
        format!("MCP server `gone` left out: {url} did not answer (no connection could be made)"),
        format!("MCP server `down` left out: {} answered HTTP 503 instead of starting an MCP session", down.url),
        format!("MCP server `older` left out: {} answered HTTP 405: it does not take MCP's streamable HTTP there; a server of the older HTTP+SSE transport is not supported", older.url),
    ] {
        assert!(
            said.iter().any(|line| line.contains(&expected)),
            "{expected}\n{}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn agent_mcp_lists_shows_adds_and_removes_servers() {
    let sandbox = Sandbox::new(&[]);
    let log = sandbox.dir.path().join("headers.jsonl");
    let server = http_server(&log).await;
    let mock = MockGlm::start(vec![]).await;
    let agent = |args: &[&str]| {
        let mut command = sandbox.agent(&mock);
        command.env("WEB_MCP_TOKEN", TOKEN).args(args);
        command
    };
    let user_file: PathBuf = sandbox.home.join(".config/agent/config.toml");
    sandbox.user_config("# my settings\nmax_turns = 40 # enough\n");
    let added = finish(agent(&[
        "mcp",
        "add",
        "web",
        "--url",
        &server.url,
        "--header",
        "X-Team=core",
        "--bearer-token-env-var",
        "WEB_MCP_TOKEN",
    ]))
    .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert_eq!(
        added.stdout,
        format!("added `web` to {}\n", user_file.display())
    );
    let listed = finish(agent(&["mcp", "list"])).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let line = listed.stdout.lines().next().unwrap().to_string();
    assert!(
        line.starts_with(&format!("web: streamable HTTP {}; answers, ", server.url))
            && line.ends_with(" tool(s); token from $WEB_MCP_TOKEN"),
        "{line}"
    );
    let shown = finish(agent(&["mcp", "get", "web"])).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("echo (the model calls it web__echo)"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("\"message\""), "{}", shown.stdout);
    let removed = finish(agent(&["mcp", "remove", "web"])).await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert_eq!(
        std::fs::read_to_string(&user_file).unwrap(),
        "# my settings\nmax_turns = 40 # enough\n"
    );
    let again = finish(agent(&["mcp", "remove", "web"])).await;
    assert_eq!(again.code, 1);
    let bad = finish(agent(&[
        "mcp",
        "add",
        "x",
        "--url",
        "http://h/mcp",
        "--",
        "cmd",
    ]))
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let stdio = finish(agent(&[
        "mcp",
        "add",
        "files",
        "--project",
        "--",
        "npx",
        "-y",
        "mcp-files",
    ]))
    .await;
    assert_eq!(stdio.code, 0, "{}", stdio.stderr);
    assert_eq!(
        std::fs::read_to_string(sandbox.path(".agent/config.toml")).unwrap(),
        "[mcp_servers.files]\ncommand = \"npx\"\nargs = [\"-y\", \"mcp-files\"]\n"
    );
}

/// A workspace whose config names the everything server behind a gate in role `guard`, as `web`.
async fn behind_a_gate(guard: Guard) -> (Sandbox, HttpServer, Gate) {
    let sandbox = Sandbox::new(&[]);
    let server = http_server(&sandbox.dir.path().join("headers.jsonl")).await;
    let gate = Gate::start(&server.url, guard).await;
    project_config(
        &sandbox,
        &format!("[mcp_servers.web]\nurl = \"{}\"\n", gate.url),
    );
    (sandbox, server, gate)
}

#[tokio::test]
async fn a_call_whose_event_stream_is_cut_resumes_it_and_completes() {
    let (sandbox, _server, _gate) = behind_a_gate(Guard::CutFirstProgress).await;
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "m1",
                "web__trigger-long-running-operation",
                r#"{"duration":2,"steps":4}"#,
            )
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let run = sandbox
        .agent_to_end(&mock, &["run", "-y", "a long call"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        tool_result(&mock.requests(), "m1"),
        "Long running operation completed. Duration: 2 seconds, Steps: 4."
    );
}

#[tokio::test]
async fn a_call_whose_stream_is_cut_and_cannot_be_resumed_fails_at_once() {
    let (sandbox, _server, _gate) = behind_a_gate(Guard::CutFirstProgressWithoutIds).await;
    let mock = MockGlm::start(vec![
        turn()
            .call(
                "m1",
                "web__trigger-long-running-operation",
                r#"{"duration":30,"steps":30}"#,
            )
            .reply(),
        turn()
            .call("m2", "web__echo", r#"{"message":"again"}"#)
            .reply(),
        turn().content("done").reply(),
    ])
    .await;
    let run = sandbox
        .agent_to_end(&mock, &["run", "-y", "a long call"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = mock.requests();
    assert_eq!(
        (tool_result(&requests[..2], "m1"), tool_result(&requests, "m2")),
        (
            "the MCP call failed: the connection to its server closed before the answer came (the server could not resume it); the call may or may not have run".to_string(),
            "Echo: again".to_string()
        )
    );
}

/// `agent mcp login NAME`, with the test as the browser: it opens the URL the command prints
/// and follows the authorization server's redirect back to the command's listener.
/// What the test, as the user at the browser, does with the authorization page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AtTheBrowser {
    Authorize,
    Refuse,
}

async fn log_in(
    sandbox: &Sandbox,
    mock: &MockGlm,
    user: AtTheBrowser,
    extra: &[&str],
) -> support::Finished {
    let mut command = sandbox.agent(mock);
    command
        .args(["mcp", "login", "web", "--no-browser"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let authorization_url = loop {
        let line = lines.next_line().await.unwrap().expect("no URL printed");
        printed.push_str(&line);
        printed.push('\n');
        if let Some(url) = line.trim().strip_prefix("http") {
            break format!("http{url}");
        }
    };
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = match user {
        AtTheBrowser::Authorize => {
            let redirected = browser.get(&authorization_url).send().await.unwrap();
            assert_eq!(redirected.status(), 302);
            redirected.headers()["location"]
                .to_str()
                .unwrap()
                .to_string()
        }
        AtTheBrowser::Refuse => {
            let asked = reqwest::Url::parse(&authorization_url).unwrap();
            let query: std::collections::HashMap<_, _> = asked.query_pairs().collect();
            format!(
                "{}?error=access_denied&error_description=The%20user%20said%20no&state={}",
                query["redirect_uri"], query["state"]
            )
        }
    };
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    let page = browser
        .get(&back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected = match user {
        AtTheBrowser::Authorize => "Logged in.",
        AtTheBrowser::Refuse => {
            "The login failed: the authorization server refused: access_denied: The user said no"
        }
    };
    assert!(page.contains(expected), "{page}");
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push_str(&line);
        printed.push('\n');
    }
    let status = child.wait().await.unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    support::Finished {
        code: status.code().unwrap_or(-1),
        stdout: printed,
        stderr,
    }
}

#[tokio::test]
async fn agent_mcp_login_authorizes_with_pkce_and_runs_use_and_renew_the_tokens() {
    let (sandbox, _server, gate) = behind_a_gate(Guard::OAuth).await;
    let echo_run = || async {
        let mock = MockGlm::start(vec![
            turn()
                .call("e1", "web__echo", r#"{"message":"hi"}"#)
                .reply(),
            turn().content("done").reply(),
        ])
        .await;
        let run = sandbox.agent_to_end(&mock, &["run", "-y", "echo hi"]).await;
        let result = tool_result(&mock.requests(), "e1");
        (run, result)
    };
    let mock = MockGlm::start(vec![]).await;

    // Before a login, a run says which command to run and goes on without the server.
    let (before, _) = echo_run().await;
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(
        before.stderr.contains(&format!(
            "MCP server `web` left out: {} needs a login: run `agent mcp login web`",
            gate.url
        )),
        "{}",
        before.stderr
    );

    let login = log_in(&sandbox, &mock, AtTheBrowser::Authorize, &[]).await;
    assert_eq!(login.code, 0, "{}\n{}", login.stdout, login.stderr);
    let token_file = sandbox.home.join(".config/agent/mcp-tokens/web.json");
    assert!(
        login.stdout.ends_with(&format!(
            "logged in to `web`; tokens saved in {}\n",
            token_file.display()
        )),
        "{}",
        login.stdout
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = sandbox.agent_to_end(&mock, &["mcp", "list"]).await;
    assert!(
        listed
            .stdout
            .starts_with(&format!("web: streamable HTTP {}; answers, ", gate.url))
            && listed.stdout.ends_with(" tool(s); logged in\n"),
        "{}{}",
        listed.stdout,
        listed.stderr
    );

    let (with_login, result) = echo_run().await;
    assert_eq!(with_login.code, 0, "{}", with_login.stderr);
    assert_eq!(result, "Echo: hi", "{}", with_login.stderr);

    // The server stops taking the access token: the refresh token gets a new one.
    gate.revoke_access();
    let (renewed, result) = echo_run().await;
    assert_eq!(result, "Echo: hi", "{}", renewed.stderr);

    // A token near its end is renewed before it is sent.
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    saved["credentials"]["token_received_at"] = 1.into();
    std::fs::write(&token_file, saved.to_string()).unwrap();
    let (early, result) = echo_run().await;
    assert_eq!(result, "Echo: hi", "{}", early.stderr);

    // Nothing works any more: the run names the command again and goes on.
    gate.revoke_everything();
    let (expired, result) = echo_run().await;
    assert_eq!(expired.code, 0, "{}", expired.stderr);
    assert_ne!(result, "Echo: hi");
    assert!(
        expired.stderr.contains(&format!(
            "MCP server `web` left out: {} no longer takes the saved login and it could not be renewed: run `agent mcp login web`",
            gate.url
        )),
        "{}",
        expired.stderr
    );
    let client_name = "agent".to_string();
    let resource = gate.url.clone();
    assert_eq!(
        gate.grants(),
        vec![
            Grant::Registered { client_name },
            Grant::Authorized { resource },
            Grant::Code,
            Grant::Refreshed,
            Grant::Refreshed,
            Grant::RefreshRefused,
        ]
    );

    let logout = sandbox.agent_to_end(&mock, &["mcp", "logout", "web"]).await;
    assert_eq!(logout.stdout, "logged out of `web`\n", "{}", logout.stderr);
    assert!(!token_file.exists());

    // No token appears in anything the agent wrote but the token file.
    let transcripts: String = sandbox
        .transcript_events()
        .iter()
        .map(Value::to_string)
        .collect();
    for token in gate.tokens() {
        for (what, text) in [
            ("login", &login.stdout),
            ("login", &login.stderr),
            ("list", &listed.stdout),
            ("run", &with_login.stderr),
            ("run", &renewed.stderr),
            ("run", &early.stderr),
            ("run", &expired.stderr),
            ("transcripts", &transcripts),
        ] {
            assert!(!text.contains(&token), "{token} in {what}");
        }
    }
}

#[tokio::test]
async fn a_login_the_user_refuses_says_why_and_saves_nothing() {
    let (sandbox, _server, _gate) = behind_a_gate(Guard::OAuth).await;
    let mock = MockGlm::start(vec![]).await;
    // A fixed port for the browser's return, as one forwarded from another machine would be.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = log_in(
        &sandbox,
        &mock,
        AtTheBrowser::Refuse,
        &["--callback-port", &port.to_string()],
    )
    .await;
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains(&format!(
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback"
        )),
        "{}",
        refused.stdout
    );
    assert_eq!(
        refused.stderr.trim_end(),
        "error: the authorization server refused: access_denied: The user said no"
    );
    assert!(
        !sandbox
            .home
            .join(".config/agent/mcp-tokens/web.json")
            .exists()
    );
}
