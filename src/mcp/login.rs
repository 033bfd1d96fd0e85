/*!
`agent mcp login`: OAuth's authorization-code flow with PKCE for an MCP server reached by URL, as
the MCP specification lays it out. The server's 401 challenge (or its well-known paths) names
the protected-resource metadata and through it the authorization server; the client registers
itself where the server offers dynamic registration; the user authorizes in a browser, which
comes back to a one-shot listener on 127.0.0.1; the code is exchanged for tokens, which go to the
server's [`TokenFile`]. Discovery, registration, PKCE and the exchange are rmcp's; this module
holds the listener and the order of the steps. It says nothing itself: the front end shows the
URL and the outcome.
*/

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use rmcp::transport::auth::{
    AuthorizationMetadataSource, AuthorizationRequest, AuthorizationSession,
};
use tokio::sync::{mpsc, oneshot};

use super::credentials::TokenFile;

/// How long the browser has to come back.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(300);

/// A login waiting for the browser.
pub struct PendingLogin {
    session: AuthorizationSession,
    listener: tokio::net::TcpListener,
    /// Where the user authorizes.
    pub authorization_url: String,
}

/// What the browser brought back to the listener: its query, and where to say how it went.
type Callback = (
    std::collections::HashMap<String, String>,
    oneshot::Sender<String>,
);

/// Starts a login to the server at `url`: finds its authorization server, registers with a
/// return to 127.0.0.1:`callback_port` (0: any free port), and returns the URL the user opens.
pub async fn begin(url: &str, tokens: TokenFile, callback_port: u16) -> Result<PendingLogin> {
    let http = crate::model::http_client().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", callback_port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{callback_port} for the browser's return")
        })?;
    let redirect_uri = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr()?.port()
    );
    let challenge = challenge(&http, url).await?;
    let mut manager = tokens.manager(url).await?;
    let resolution = manager
        .resolve_metadata_from_challenge(challenge.as_deref())
        .await
        .with_context(|| format!("{url}: its authorization server was not found"))?;
    if challenge.is_none()
        && resolution.source == AuthorizationMetadataSource::LegacyEndpointFallback
    {
        bail!(
            "{url} does not ask for a login: it answered without HTTP 401 and publishes no OAuth metadata"
        );
    }
    manager.set_metadata(resolution.metadata);
    let request = AuthorizationRequest::new(redirect_uri).with_client_name("agent");
    let session = AuthorizationSession::new(manager, request)
        .await
        .map_err(|(_, error)| anyhow!("{url}: the login could not start: {error}"))?;
    Ok(PendingLogin {
        authorization_url: session.get_authorization_url().to_string(),
        session,
        listener,
    })
}

impl PendingLogin {
    /// Waits for the browser to come back, exchanges the code for tokens and saves them.
    pub async fn finish(self) -> Result<()> {
        let (callbacks, mut arrived) = mpsc::channel::<Callback>(4);
        let app = axum::Router::new()
            .route("/callback", axum::routing::get(callback))
            .with_state(callbacks);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let serving = tokio::spawn(async move { server.await });
        let outcome = tokio::time::timeout(CALLBACK_TIMEOUT, arrived.recv()).await;
        let result = match outcome {
            Ok(Some((query, reply))) => {
                let result = exchange(&self.session, &query).await;
                let page = match &result {
                    Ok(()) => {
                        "Logged in. You can close this tab and go back to the terminal.".to_string()
                    }
                    Err(error) => format!("The login failed: {error}"),
                };
                let _ = reply.send(page);
                result
            }
            Ok(None) => Err(anyhow!("the listener for the browser's return stopped")),
            Err(_) => Err(anyhow!(
                "the browser did not come back within {} s; run the login again",
                CALLBACK_TIMEOUT.as_secs()
            )),
        };
        let _ = stop.send(());
        let _ = serving.await;
        result
    }
}

/// The server's `WWW-Authenticate` challenge, from a request made without a token.
async fn challenge(http: &reqwest::Client, url: &str) -> Result<Option<String>> {
    let response = http
        .post(url)
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    if response.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(None);
    }
    Ok(response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string))
}

/// Trades the code the browser brought for tokens (the state and PKCE checks are rmcp's).
async fn exchange(
    session: &AuthorizationSession,
    query: &std::collections::HashMap<String, String>,
) -> Result<()> {
    if let Some(error) = query.get("error") {
        let description = query
            .get("error_description")
            .map(|text| format!(": {text}"))
            .unwrap_or_default();
        bail!("the authorization server refused: {error}{description}");
    }
    let (Some(code), Some(state)) = (query.get("code"), query.get("state")) else {
        bail!("the browser came back without a code and state");
    };
    session
        .handle_callback_with_issuer(code, state, query.get("iss").map(String::as_str))
        .await
        .map_err(|error| anyhow!("the authorization server did not give tokens: {error}"))?;
    Ok(())
}

async fn callback(
    State(callbacks): State<mpsc::Sender<Callback>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Html<String> {
    let (reply, replied) = oneshot::channel();
    if callbacks.send((query, reply)).await.is_err() {
        return Html(page("This login is over; run it again."));
    }
    Html(page(&replied.await.unwrap_or_default()))
}

fn page(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<!doctype html><meta charset=utf-8><title>agent</title><p>{escaped}</p>")
}
