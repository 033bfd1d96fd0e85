//! A gate in front of the everything server, on 127.0.0.1, in one of two roles:
//! - `Guard::OAuth`: an OAuth 2.1 authorization server and protected resource (RFC 9728 and
//!   RFC 8414 metadata, dynamic client registration, PKCE S256 codes, access tokens, rotating
//!   refresh tokens) that lets a request through only with an access token it issued, and
//!   answers others with 401 and its metadata's address;
//! - `Guard::CutFirstProgress`: a plain proxy that cuts the first event stream carrying a
//!   progress notification right after that event, as a dropped connection would (also with
//!   the events' ids taken out, as from a server that cannot resume a stream);
//! - `Guard::Answer(status)`: a server that answers everything with that status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    OAuth,
    CutFirstProgress,
    /// The same, from a server that gives its events no ids (so a stream cannot be resumed).
    CutFirstProgressWithoutIds,
    /// Every request to the endpoint answered with this status.
    Answer(u16),
}

/// What the authorization server was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Registered {
        client_name: String,
    },
    /// An authorization request with a PKCE S256 challenge, for this resource.
    Authorized {
        resource: String,
    },
    Code,
    Refreshed,
    RefreshRefused,
}

pub struct Gate {
    /// The MCP endpoint behind the gate.
    pub url: String,
    state: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    guard: Guard,
    origin: String,
    upstream: String,
    http: reqwest::Client,
    books: Mutex<Books>,
}

#[derive(Default)]
struct Books {
    grants: Vec<Grant>,
    issued: usize,
    clients: HashMap<String, Vec<String>>,
    /// Code → (PKCE challenge, redirect URI).
    codes: HashMap<String, (String, String)>,
    access: Vec<String>,
    refresh: Vec<String>,
    cut: bool,
}

impl Gate {
    pub async fn start(upstream: &str, guard: Guard) -> Gate {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Shared {
            guard,
            origin: origin.clone(),
            upstream: upstream.to_string(),
            http: reqwest::Client::builder().build().unwrap(),
            books: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/mcp", any(proxy))
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                get(resource_metadata),
            )
            .route(
                "/.well-known/oauth-protected-resource",
                get(resource_metadata),
            )
            .route(
                "/.well-known/oauth-authorization-server",
                get(server_metadata),
            )
            .route("/register", post(register))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Gate {
            url: format!("{origin}/mcp"),
            state,
            task,
        }
    }

    pub fn grants(&self) -> Vec<Grant> {
        self.state.books.lock().unwrap().grants.clone()
    }

    /// Every token issued so far, to look for in what the agent writes.
    pub fn tokens(&self) -> Vec<String> {
        let books = self.state.books.lock().unwrap();
        (1..=books.issued)
            .flat_map(|n| [format!("at-secret-{n}"), format!("rt-secret-{n}")])
            .collect()
    }

    /// The access tokens stop working (their refresh tokens still do).
    pub fn revoke_access(&self) {
        self.state.books.lock().unwrap().access.clear();
    }

    /// No token works any more: a new login is needed.
    pub fn revoke_everything(&self) {
        let mut books = self.state.books.lock().unwrap();
        books.access.clear();
        books.refresh.clear();
    }
}

async fn resource_metadata(State(state): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "resource": format!("{}/mcp", state.origin),
        "authorization_servers": [state.origin],
        "scopes_supported": ["mcp"],
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

async fn server_metadata(State(state): State<Arc<Shared>>) -> Response {
    let origin = &state.origin;
    axum::Json(json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/token"),
        "registration_endpoint": format!("{origin}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["mcp"],
    }))
    .into_response()
}

async fn register(
    State(state): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut books = state.books.lock().unwrap();
    let client_id = format!("client-{}", books.clients.len() + 1);
    let redirect_uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .unwrap()
        .iter()
        .map(|uri| uri.as_str().unwrap().to_string())
        .collect();
    books
        .clients
        .insert(client_id.clone(), redirect_uris.clone());
    books.grants.push(Grant::Registered {
        client_name: body["client_name"].as_str().unwrap_or("").to_string(),
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "client_id": client_id,
            "redirect_uris": redirect_uris,
            "client_name": body["client_name"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        })),
    )
        .into_response()
}

async fn authorize(
    State(state): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut books = state.books.lock().unwrap();
    let redirect = &query["redirect_uri"];
    let known = books
        .clients
        .get(&query["client_id"])
        .is_some_and(|uris| uris.contains(redirect));
    if !known || query["code_challenge_method"] != "S256" || query["response_type"] != "code" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    books.issued += 1;
    let code = format!("code-{}", books.issued);
    books.codes.insert(
        code.clone(),
        (query["code_challenge"].clone(), redirect.clone()),
    );
    books.grants.push(Grant::Authorized {
        resource: query.get("resource").cloned().unwrap_or_default(),
    });
    let location = format!("{redirect}?code={code}&state={}", query["state"]);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token(
    State(state): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut books = state.books.lock().unwrap();
    let granted = match form["grant_type"].as_str() {
        "authorization_code" => {
            let verified =
                books
                    .codes
                    .remove(&form["code"])
                    .is_some_and(|(challenge, redirect)| {
                        let digest = sha2::Sha256::digest(form["code_verifier"].as_bytes());
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
                            && redirect == form["redirect_uri"]
                    });
            verified.then_some(Grant::Code)
        }
        "refresh_token" => {
            let before = books.refresh.len();
            books
                .refresh
                .retain(|token| *token != form["refresh_token"]);
            (books.refresh.len() < before).then_some(Grant::Refreshed)
        }
        _ => None,
    };
    let Some(grant) = granted else {
        books.grants.push(Grant::RefreshRefused);
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    books.grants.push(grant);
    books.issued += 1;
    let n = books.issued;
    books.access.push(format!("at-secret-{n}"));
    books.refresh.push(format!("rt-secret-{n}"));
    axum::Json(json!({
        "access_token": format!("at-secret-{n}"),
        "refresh_token": format!("rt-secret-{n}"),
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "mcp",
    }))
    .into_response()
}

/// Forwards a request to the everything server, if the guard lets it through.
async fn proxy(
    State(state): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Guard::Answer(status) = state.guard {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    if state.guard == Guard::OAuth {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        if !state
            .books
            .lock()
            .unwrap()
            .access
            .iter()
            .any(|t| t == presented)
        {
            let challenge = format!(
                "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\"",
                state.origin
            );
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, challenge)],
            )
                .into_response();
        }
    }
    let mut request = state.http.request(method, &state.upstream).body(body);
    for name in [
        "accept",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let upstream = request.send().await.unwrap();
    let mut response = Response::builder().status(upstream.status());
    for name in ["content-type", "mcp-session-id"] {
        if let Some(value) = upstream.headers().get(name) {
            response = response.header(name, value);
        }
    }
    let cut = !state.books.lock().unwrap().cut;
    let body = match (state.guard, cut) {
        (Guard::CutFirstProgress | Guard::CutFirstProgressWithoutIds, true) => {
            Body::from_stream(cut_after_progress(upstream, state.clone()))
        }
        _ => Body::from_stream(upstream.bytes_stream()),
    };
    response.body(body).unwrap()
}

/// The upstream's events up to and including the first progress notification, then an error
/// that makes the server drop the connection mid-body (and the upstream's, which is let go).
fn cut_after_progress(
    upstream: reqwest::Response,
    state: Arc<Shared>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut seen = String::new();
        let mut chunks = upstream.bytes_stream();
        while let Some(Ok(chunk)) = chunks.next().await {
            let mut text = String::from_utf8_lossy(&chunk).into_owned();
            if state.guard == Guard::CutFirstProgressWithoutIds {
                text = text
                    .split_inclusive('\n')
                    .filter(|line| !line.starts_with("id:"))
                    .collect();
            }
            let already = seen.len();
            seen.push_str(&text);
            let end = seen
                .find("notifications/progress")
                .and_then(|at| seen[at..].find("\n\n").map(|n| at + n + 2));
            let Some(end) = end else {
                if sender.send(Ok(Bytes::from(text))).await.is_err() {
                    return;
                }
                continue;
            };
            state.books.lock().unwrap().cut = true;
            let _ = sender
                .send(Ok(Bytes::from(seen[already..end].to_string())))
                .await;
            let _ = sender.send(Err(std::io::Error::other("cut"))).await;
            return;
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}
