/*!
Who may call the daemon. Programs send the bearer token (`AGENT_SERVE_TOKEN`, or the one made on
first start in a 0600 file of the data dir). A browser signs in once with a one-time code the
daemon prints (or that `POST /v1/login` makes) and then carries an HttpOnly, SameSite=Strict
cookie, so the token never sits in a page's storage; sign-ins are kept in the database and
survive restarts. Every request but `/health` must come from no page or from the daemon's own
origin: a web page elsewhere cannot drive the daemon through the user's browser.
*/

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::daemon::Daemon;
use super::login_codes::secret;

/// How long a browser stays signed in.
const LOGIN_LIFETIME_SECS: u64 = 30 * 24 * 3600;
const COOKIE: &str = "agent_login";

/// Paths anyone may fetch: the page's shell (it holds no data) and the sign-in itself.
const PUBLIC: [&str; 5] = ["/health", "/", "/app.js", "/app.css", "/login"];

/// The bearer token: `AGENT_SERVE_TOKEN` when set, else the one in the data dir (made on first
/// start, 0600, printed once). Off loopback only a configured token is accepted.
pub fn token(data_dir: &Path, listen: &SocketAddr) -> Result<String> {
    if let Some(token) = crate::config::env("AGENT_SERVE_TOKEN") {
        return Ok(token.trim().to_string());
    }
    if !listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {listen} (not loopback) with a generated token: set AGENT_SERVE_TOKEN to a secret of your own"
        );
    }
    let path = data_dir.join("token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let token = secret(4);
    write_private(&path, &token)?;
    println!(
        "agent serve: new token (kept in {}): {token}",
        path.display()
    );
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The origins a browser may call the daemon from: its own address, and the loopback names of
/// its port.
pub fn own_origins(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    vec![
        format!("http://{address}"),
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ]
}

/// Every route: no foreign `Origin`; and but for [`PUBLIC`] paths, the bearer token or a
/// signed-in browser's cookie.
pub async fn guard(State(daemon): State<Arc<Daemon>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/health" {
        return next.run(request).await;
    }
    let headers: &HeaderMap = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN)
        && !daemon
            .origins
            .iter()
            .any(|own| origin.to_str().ok() == Some(own.as_str()))
    {
        return (
            StatusCode::FORBIDDEN,
            "requests from another origin are refused",
        )
            .into_response();
    }
    if PUBLIC.contains(&path) || signed_in(&daemon, headers).await {
        return next.run(request).await;
    }
    (StatusCode::UNAUTHORIZED, "a valid bearer token is needed").into_response()
}

/// Whether the request carries the bearer token or the cookie of a browser signed in.
pub async fn signed_in(daemon: &Daemon, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if bearer == Some(daemon.token.as_str()) {
        return true;
    }
    let Some(login) = cookie(headers) else {
        return false;
    };
    daemon
        .store
        .call(move |store| store.knows_login(&login, LOGIN_LIFETIME_SECS))
        .await
        .unwrap_or(false)
}

/// The sign-in cookie's value, if the request has one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

#[derive(Debug, Deserialize)]
pub struct Code {
    code: Option<String>,
}

/// `GET /login?code=…`: trades a one-time code for the sign-in cookie, then shows the page.
pub async fn login(State(daemon): State<Arc<Daemon>>, Query(query): Query<Code>) -> Response {
    let redeemed = query
        .code
        .as_deref()
        .is_some_and(|code| daemon.login_codes.redeem(code));
    if !redeemed {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This sign-in link was used already or has expired. Get a new one with\n  curl -X POST -H \"Authorization: Bearer $(cat DATA_DIR/token)\" http://127.0.0.1:PORT/v1/login\nor restart agent serve, which prints one.\n",
        )
            .into_response();
    }
    let login = secret(4);
    let added = login.clone();
    if let Err(error) = daemon
        .store
        .call(move |store| store.add_login(&added))
        .await
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")).into_response();
    }
    let cookie = format!(
        "{COOKIE}={login}; HttpOnly; SameSite=Strict; Path=/; Max-Age={LOGIN_LIFETIME_SECS}"
    );
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, "/".into())],
    )
        .into_response()
}

/// The review page's sign-in link, with a new code.
pub fn login_url(daemon: &Daemon) -> String {
    format!(
        "{}/login?code={}",
        daemon.origin(),
        daemon.login_codes.issue()
    )
}
