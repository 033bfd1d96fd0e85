/*!
The review page: one HTML file, a script and a style sheet, written by hand (no build step) and
built into the binary, so the daemon serves it with nothing fetched at run time. The page talks
to the same `/v1` routes as any client, signed in by its cookie (see [`super::auth`]).
*/

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::login_url;
use super::daemon::Daemon;

const INDEX: &str = include_str!("web/index.html");
const SCRIPT: &str = include_str!("web/app.js");
const STYLE: &str = include_str!("web/app.css");

/// Only the daemon's own files run in the page, and no other site may frame it (a framed page
/// could be tricked into an approval).
const POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A new sign-in link for the review page (good once, for 15 minutes).
#[utoipa::path(post, path = "/v1/login", responses(
    (status = 200, description = "the link: `{url}`", body = Object)))]
pub async fn new_login(State(daemon): State<Arc<Daemon>>) -> Response {
    Json(json!({"url": login_url(&daemon)})).into_response()
}
