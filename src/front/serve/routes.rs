/*!
The HTTP routes of the daemon, under `/v1` (JSON), and `/health`.
*/

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::api::{CreateSession, PlanStepShown, SendMessage, failure};
use super::approvals::{__path_answer, __path_approvals, answer, approvals};
use super::auth;
use super::changes::{__path_changes, changes};
use super::daemon::Daemon;
use super::forget::{__path_forget, forget};
use super::page::{self, __path_new_login};
use super::store::{SessionRow, Work};
use super::turns::{self, OpenAs, Started, open_session, reopened};
use crate::agent::recorded::last_plan;
use crate::protocol::modes::ApprovalMode;
use crate::protocol::state::SessionState;
use crate::sync::lock;

/// The API, as OpenAPI 3.1 (served at `/openapi.json`; `openapi.json` in the repository is
/// this document, checked by a test).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "agent serve", description = "Sessions of the coding agent over HTTP + SSE"),
    paths(health, create, list, changes, one, forget, message, cancel, events, diff, approvals, answer, new_login),
    modifiers(&BearerAuth, &CommonErrors),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers any route may give besides its own: a request it cannot read, no token.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};
        let common = [
            ("400", "the request cannot be read (query, JSON body)"),
            ("401", "no or wrong bearer token"),
            ("403", "a request from another origin"),
            ("415", "the body is not JSON"),
            ("422", "the JSON body does not have the fields asked for"),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [item.get.as_mut(), item.post.as_mut(), item.delete.as_mut()];
            for operation in operations.into_iter().flatten() {
                for (status, description) in common {
                    if path == "/health" && status != "400" {
                        continue;
                    }
                    let text = ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build();
                    let responses = &mut operation.responses.responses;
                    match responses.get_mut(status) {
                        // A route's own error is JSON; axum's rejections of the request are text.
                        Some(RefOr::T(response)) => {
                            response
                                .content
                                .entry("text/plain".into())
                                .or_insert(text.into());
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            let response = ResponseBuilder::new()
                                .description(description)
                                .content("text/plain", text)
                                .build();
                            responses.insert(status.to_string(), response.into());
                        }
                    }
                }
            }
        }
    }
}

pub fn router(daemon: Arc<Daemon>) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/app.css", get(page::style))
        .route("/login", get(auth::login))
        .route("/v1/login", post(page::new_login))
        .route(
            "/openapi.json",
            get(async || Json(<ApiDoc as utoipa::OpenApi>::openapi())),
        )
        .route("/v1/sessions", post(create).get(list))
        .route("/v1/events", get(changes))
        .route("/v1/sessions/{id}", get(one).delete(forget))
        .route("/v1/sessions/{id}/messages", post(message))
        .route("/v1/sessions/{id}/cancel", post(cancel))
        .route("/v1/sessions/{id}/events", get(events))
        .route("/v1/sessions/{id}/diff", get(diff))
        .route("/v1/sessions/{id}/approvals", get(approvals))
        .route("/v1/sessions/{id}/approvals/{call_id}", post(answer))
        .with_state(daemon)
}

/// Whether the daemon runs (no token needed).
#[utoipa::path(get, path = "/health", security(()), responses((status = 200, description = "running", body = String)))]
async fn health() -> &'static str {
    "ok"
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct After {
    after: Option<u64>,
}

/// Starts a session on a task.
#[utoipa::path(post, path = "/v1/sessions", request_body = CreateSession, responses(
    (status = 201, description = "started", body = SessionRow),
    (status = 400, description = "bad workspace, task or settings", body = Object),
    (status = 401, description = "no or wrong token")))]
async fn create(State(daemon): State<Arc<Daemon>>, Json(body): Json<CreateSession>) -> Response {
    if !body.workspace.is_absolute() {
        return failure(
            StatusCode::BAD_REQUEST,
            "workspace must be an absolute path",
        );
    }
    if body.task.trim().is_empty() {
        return failure(StatusCode::BAD_REQUEST, "task is empty");
    }
    let isolated = match body.isolate {
        true => match turns::isolate(&daemon, &body.workspace).await {
            Ok(isolated) => Some(isolated),
            Err(error) => return failure(StatusCode::BAD_REQUEST, format!("{error:#}")),
        },
        false => None,
    };
    let start = OpenAs::New {
        model: body.model.clone(),
    };
    let open = match open_session(&daemon, &body.workspace, start, isolated.clone()).await {
        Ok(open) => open,
        Err(error) => return failure(StatusCode::BAD_REQUEST, format!("{error:#}")),
    };
    let mut session = open.held.session.lock().await;
    session.set_mode(body.approval.unwrap_or(ApprovalMode::Ask));
    let row = SessionRow {
        plan: None,
        id: session.id.clone(),
        workspace: body.workspace.display().to_string(),
        task: body.task.clone(),
        state: SessionState::Queued,
        transcript: session.transcript_path().display().to_string(),
        worktree: isolated.as_ref().map(|isolated| isolated.dir.clone()),
        updated: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    drop(session);
    let (added, worktree) = (row.clone(), isolated.clone());
    let recorded = daemon
        .store
        .call(move |store| store.add_session(&added, worktree.as_ref()))
        .await;
    if let Err(error) = recorded {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"));
    }
    lock(&daemon.open).insert(row.id.clone(), open.clone());
    if let Err(error) = turns::start(&daemon, &row.id, &open, Work::Prompt(body.task)).await {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the session was made, but its task could not be recorded: {error:#}"),
        );
    }
    (StatusCode::CREATED, Json(row)).into_response()
}

/// Every session, with its state.
#[utoipa::path(get, path = "/v1/sessions", responses((status = 200, description = "the sessions", body = Vec<SessionRow>)))]
async fn list(State(daemon): State<Arc<Daemon>>) -> Response {
    match daemon.store.call(|store| store.sessions()).await {
        Ok(rows) => {
            let rows: Vec<SessionRow> = rows.into_iter().map(|row| daemon.shown(row)).collect();
            Json(rows).into_response()
        }
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
}

/// One session.
#[utoipa::path(get, path = "/v1/sessions/{id}", params(("id" = String, Path, description = "session id")), responses(
    (status = 200, description = "the session", body = SessionRow),
    (status = 404, description = "no such session", body = Object)))]
async fn one(State(daemon): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let row = daemon.store.session(&id).await;
    match row {
        Ok(Some(mut row)) => {
            let transcript = tokio::fs::read_to_string(&row.transcript).await;
            row.plan = transcript
                .ok()
                .and_then(|text| last_plan(&text))
                .map(|(_, plan)| plan.iter().map(PlanStepShown::from).collect());
            Json(daemon.shown(row)).into_response()
        }
        Ok(None) => failure(StatusCode::NOT_FOUND, format!("no session `{id}`")),
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
}

/// A follow-up in the same conversation; a repeated request id is not run twice.
#[utoipa::path(post, path = "/v1/sessions/{id}/messages", params(("id" = String, Path, description = "session id")), request_body = SendMessage, responses(
    (status = 202, description = "accepted", body = Object),
    (status = 200, description = "this request id was taken before", body = Object),
    (status = 404, description = "no such session", body = Object),
    (status = 409, description = "a turn is running", body = Object)))]
async fn message(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    Json(body): Json<SendMessage>,
) -> Response {
    let Ok(Some(row)) = daemon.store.session(&id).await else {
        return failure(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let open = match reopened(&daemon, &row).await {
        Ok(open) => open,
        Err(error) => return failure(StatusCode::CONFLICT, format!("{error:#}")),
    };
    let (asked, request_id) = (id.clone(), body.request_id.clone());
    let known = daemon
        .store
        .call(move |store| store.knows_request(&asked, &request_id))
        .await;
    match known {
        Ok(true) => return Json(json!({"duplicate": true})).into_response(),
        Ok(false) => {}
        Err(error) => return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
    match turns::start(&daemon, &id, &open, Work::Prompt(body.text)).await {
        Ok(Started::Running) => {}
        Ok(Started::Busy) => {
            return failure(
                StatusCode::CONFLICT,
                "a turn is running; send the message when it ends",
            );
        }
        Err(error) => {
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the message could not be recorded, and was not sent: {error:#}"),
            );
        }
    }
    // Taken once its turn is under way (a retry meanwhile found the session busy). The turn
    // runs either way, so the answer is 202 even if the id could not be kept.
    let (taken, request_id) = (id.clone(), body.request_id);
    let kept = daemon
        .store
        .call(move |store| store.take_request(&taken, &request_id))
        .await;
    if let Err(error) = kept {
        eprintln!("agent serve: request id of session {id} not kept: {error:#}");
    }
    (StatusCode::ACCEPTED, Json(json!({"accepted": true}))).into_response()
}

/// Stops the running turn (running commands are killed).
#[utoipa::path(post, path = "/v1/sessions/{id}/cancel", params(("id" = String, Path, description = "session id")), responses(
    (status = 200, description = "cancelled", body = Object),
    (status = 404, description = "no open session", body = Object)))]
async fn cancel(State(daemon): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let Some(open) = lock(&daemon.open).get(&id).cloned() else {
        return failure(StatusCode::NOT_FOUND, format!("no open session `{id}`"));
    };
    open.held.cancel();
    Json(json!({"cancelled": true})).into_response()
}

/// The session's events as SSE, each with its id; `Last-Event-ID` or `after` resumes.
#[utoipa::path(get, path = "/v1/sessions/{id}/events", params(("id" = String, Path, description = "session id"), After), responses(
    (status = 200, description = "server-sent events, each one's data an event object", content_type = "text/event-stream", body = Object),
    (status = 404, description = "no such session", body = Object)))]
async fn events(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    Query(query): Query<After>,
    headers: HeaderMap,
) -> Response {
    let after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .or(query.after)
        .unwrap_or(0);
    let held = lock(&daemon.open).get(&id).map(|open| open.hub.clone());
    let hub = match held {
        Some(hub) => hub,
        None => {
            let row = daemon.store.session(&id).await;
            match row {
                Ok(Some(row)) => daemon.hub(&id, std::path::Path::new(&row.transcript)).await,
                _ => return failure(StatusCode::NOT_FOUND, format!("no session `{id}`")),
            }
        }
    };
    let stream = hub
        .stream(after)
        .take_until(daemon.stopping.clone().cancelled_owned());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Everything the session changed, as a unified diff.
#[utoipa::path(get, path = "/v1/sessions/{id}/diff", params(("id" = String, Path, description = "session id")), responses(
    (status = 200, description = "the diff", content_type = "text/x-diff", body = String),
    (status = 404, description = "no such session", body = Object),
    (status = 409, description = "the workspace is gone", body = Object)))]
async fn diff(State(daemon): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let Ok(Some(row)) = daemon.store.session(&id).await else {
        return failure(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let isolation = daemon.store.isolation(&id).await;
    match isolation {
        Ok(Some(isolated)) => return isolated_diff(isolated).await,
        Ok(None) => {}
        Err(error) => return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
    let transcript = std::path::Path::new(&row.transcript);
    // Transcripts live in <sessions dir>/<day>/<id>.jsonl.
    let sessions_dir = transcript.parent().and_then(std::path::Path::parent);
    let workspace = agent_tools::Workspace::new(std::path::Path::new(&row.workspace));
    match (sessions_dir, workspace) {
        (Some(dir), Ok(workspace)) => match crate::records::diff(dir, &workspace, Some(&id)) {
            Ok(diff) => ([("content-type", "text/x-diff")], diff).into_response(),
            // No edit journal yet: nothing changed.
            Err(_) => ([("content-type", "text/x-diff")], String::new()).into_response(),
        },
        _ => failure(StatusCode::CONFLICT, "the session's workspace is gone"),
    }
}

/// An isolated session's change: its worktree against the commit it started from.
async fn isolated_diff(isolated: super::store::Isolated) -> Response {
    match turns::isolated_patch(isolated).await {
        Ok(patch) => ([("content-type", "text/x-diff")], patch).into_response(),
        Err(error) => failure(StatusCode::CONFLICT, format!("{error:#}")),
    }
}
