/*!
The HTTP layer under async-openai, ours where the library's would hide what retries need.

async-openai builds each request (URL, headers, our serialized body) and parses the SSE stream
into our chunk type. Below it sits this module's tower service, installed with
`Client::with_http_service`, which also removes the library's own retry layer (it retried 429,
quota errors and 500s on its own schedule, without our backoff, `Retry-After` or rate gate):

- a non-2xx answer becomes our [`ModelError::Http`] with the status, `Retry-After`, GLM's code
  (a string or a number) or the raw text of a non-JSON body, carried through
  `OpenAIError::Boxed` and downcast by the client;
- a 2xx body is watched for `data: [DONE]`: the library ends a stream cut cleanly before it
  exactly like a complete one, so a body that ends without it gets one more event,
  [`STREAM_CUT_FIELD`], which the client turns into [`ModelError::StreamCut`] and retries.

The HTTP client trusts Mozilla's roots (built in, so it works in a minimal container with no
system certificates) plus the system's (which adds corporate or self-made CAs).
*/

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use futures_util::StreamExt;

use super::error::ModelError;
use super::wire::ErrorEnvelope;

/// The field of the event added to a body that ended without `[DONE]`.
pub const STREAM_CUT_FIELD: &str = "agent_stream_cut";

/// The chat client: async-openai over our HTTP client and service.
pub type Api = async_openai::Client<OpenAIConfig>;

/// Why a client could not be made: bad settings the user must fix.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "the API key contains a line break or another character that cannot be sent in an HTTP header; check how it was set"
    )]
    BadApiKey,
    #[error("cannot set up HTTPS: {0}")]
    Tls(String),
}

/// The HTTP client every model request goes through: made once per process (loading the roots
/// is not free) and shared, with its connection pool, by the probes and every session's client.
pub fn http_client() -> Result<reqwest::Client, SetupError> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    // reqwest is built without a default crypto provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mozilla_roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("agent/", env!("CARGO_PKG_VERSION")))
        .tls_certs_merge(mozilla_roots)
        .build()
        .map_err(|error| SetupError::Tls(error_chain(&error)))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// The async-openai client for `base_url`, sending through `http` with our service.
pub fn api(http: reqwest::Client, base_url: &str, api_key: &str) -> Result<Api, SetupError> {
    // The library parses the header with `unwrap`: a key that cannot be sent must stop here.
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {api_key}")).is_err() {
        return Err(SetupError::BadApiKey);
    }
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(api_key)
        // Left unset, these come from OPENAI_ORG_ID / OPENAI_PROJECT_ID and would go to GLM.
        .with_org_id("")
        .with_project_id("")
        .with_header(reqwest::header::ACCEPT, "text/event-stream")
        .map_err(|_| SetupError::BadApiKey)?;
    let service_http = http.clone();
    let service = tower::service_fn(move |factory: HttpRequestFactory| {
        let http = service_http.clone();
        async move {
            send(&http, factory)
                .await
                .map_err(|error| OpenAIError::Boxed(Box::new(error)))
        }
    });
    Ok(async_openai::Client::build(http, config).with_http_service(service))
}

/// Sends one request: errors as [`ModelError`], a successful body watched for `[DONE]`.
async fn send(
    http: &reqwest::Client,
    factory: HttpRequestFactory,
) -> Result<reqwest::Response, ModelError> {
    let request = factory
        .build()
        .await
        .map_err(|error| ModelError::Transport(error.to_string()))?;
    let response = http
        .execute(request)
        .await
        .map_err(|error| ModelError::Transport(error_chain(&error)))?;
    if !response.status().is_success() {
        return Err(http_error(response).await);
    }
    Ok(watched_for_done(response))
}

/// The same response, its body followed by a stream-cut event if it ends without `[DONE]`.
fn watched_for_done(response: reqwest::Response) -> reqwest::Response {
    let status = response.status();
    let headers = response.headers().clone();
    let body = futures_util::stream::unfold(
        Some((response.bytes_stream(), DoneScanner::default())),
        |state| async move {
            let (mut body, mut scanner) = state?;
            match body.next().await {
                Some(Ok(bytes)) => {
                    scanner.feed(&bytes);
                    Some((Ok(bytes), Some((body, scanner))))
                }
                Some(Err(error)) => Some((Err(error), None)),
                None if scanner.finish() => None,
                None => {
                    // The blank line first ends any event the cut left open.
                    let frame = format!("\n\ndata: {{\"{STREAM_CUT_FIELD}\":true}}\n\n");
                    Some((Ok(Bytes::from(frame)), None))
                }
            }
        },
    );
    let mut watched = http::Response::new(reqwest::Body::wrap_stream(body));
    *watched.status_mut() = status;
    *watched.headers_mut() = headers;
    reqwest::Response::from(watched)
}

/// Finds a `data: [DONE]` line in a body that arrives in pieces split anywhere.
#[derive(Debug, Default)]
struct DoneScanner {
    /// The start of the current line (longer lines cannot be the sentinel).
    line: Vec<u8>,
    done: bool,
}

impl DoneScanner {
    const LONGEST: usize = 16;

    fn feed(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|byte| *byte == b'\n') {
            let (text, line_ended) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            let room = Self::LONGEST.saturating_sub(self.line.len());
            self.line.extend(text.iter().take(room));
            if line_ended {
                self.end_line();
            }
        }
    }

    fn end_line(&mut self) {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if let Some(data) = line.strip_prefix(b"data:") {
            self.done |= data.trim_ascii() == b"[DONE]";
        }
        self.line.clear();
    }

    /// Whether the body held the sentinel, counting a last line without its newline.
    fn finish(&mut self) -> bool {
        self.end_line();
        self.done
    }
}

async fn http_error(response: reqwest::Response) -> ModelError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64);
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => ModelError::Http {
            status,
            code: envelope.error.code,
            kind: envelope.error.kind,
            message: envelope.error.message,
            retry_after,
        },
        Err(_) => ModelError::Http {
            status,
            code: None,
            kind: None,
            message: clip(text.trim()),
            retry_after,
        },
    }
}

/// An error and its causes on one line (reqwest's own message leaves out the cause).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub fn clip(text: &str) -> String {
    agent_tools::truncate_head_tail(text, 400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(pieces: &[&str]) -> bool {
        let mut scanner = DoneScanner::default();
        for piece in pieces {
            scanner.feed(piece.as_bytes());
        }
        scanner.finish()
    }

    #[test]
    fn the_sentinel_is_found_wherever_the_body_is_split() {
        assert!(scanned(&["data: {}\n\ndata: [DONE]\n\n"]));
        assert!(scanned(&["data: {}\n\nda", "ta: [DO", "NE]\r", "\n\r\n"]));
        assert!(scanned(&["data:[DONE]"]));
        assert!(!scanned(&["data: {}\n\n"]));
        assert!(!scanned(&["data: {\"content\": \"data: [DONE]\"}\n\n"]));
        assert!(!scanned(&[": data: [DONE]\n\n"]));
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_a_setup_error() {
        let http = http_client().unwrap();
        assert!(matches!(
            api(http.clone(), "http://127.0.0.1:1/v1", "abc\ndef"),
            Err(SetupError::BadApiKey)
        ));
        assert!(api(http, "http://127.0.0.1:1/v1", "").is_ok());
    }
}
