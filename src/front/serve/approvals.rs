/*!
Approvals over HTTP: the questions a session waits on, and their answers. The first answer wins;
it goes to the turn waiting for it, or, when the daemon was restarted while the question was
open, it continues the stopped turn: the session is opened from its transcript and runs the calls
its last turn left waiting, the answered one taking the stored answer.
*/

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::{AnswerApproval, failure};
use super::daemon::Daemon;
use super::store::Delivery;
use super::store::Work;
use super::turns::{self, Started, reopened};
use crate::sync::lock;

/// The questions waiting for an answer.
#[utoipa::path(get, path = "/v1/sessions/{id}/approvals", params(("id" = String, Path, description = "session id")), responses(
    (status = 200, description = "pending approvals: each `{call_id, question}`; an edit's question lists each file's hunks", body = Vec<Object>)))]
pub async fn approvals(State(daemon): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let pending = daemon
        .store
        .call(move |store| store.pending_approvals(&id))
        .await;
    match pending {
        Ok(pending) => {
            let shown: Vec<Value> = pending
                .into_iter()
                .map(|(call_id, question)| {
                    let question: Value = serde_json::from_str(&question).unwrap_or(Value::Null);
                    json!({"call_id": call_id, "question": question})
                })
                .collect();
            Json(shown).into_response()
        }
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
}

/// Answers an approval; the first answer wins.
#[utoipa::path(post, path = "/v1/sessions/{id}/approvals/{call_id}", params(("id" = String, Path, description = "session id"), ("call_id" = String, Path, description = "the tool call asked about")), request_body = AnswerApproval, responses(
    (status = 200, description = "answered", body = Object),
    (status = 400, description = "hunks or a reason that do not fit the question", body = Object),
    (status = 409, description = "already answered, or the turn that asked has ended", body = Object)))]
pub async fn answer(
    State(daemon): State<Arc<Daemon>>,
    Path((id, call_id)): Path<(String, String)>,
    Json(body): Json<AnswerApproval>,
) -> Response {
    let (asked_id, asked_call) = (id.clone(), call_id.clone());
    let question = daemon
        .store
        .call(move |store| store.pending_question(&asked_id, &asked_call))
        .await;
    let question: Value = match question {
        Ok(Some(question)) => serde_json::from_str(&question).unwrap_or(Value::Null),
        Ok(None) => return already_answered(),
        Err(error) => return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    };
    if let Some(problem) = body.problem(&question) {
        return failure(StatusCode::BAD_REQUEST, problem);
    }
    let waiter = lock(&daemon.waiters).remove(&(id.clone(), call_id.clone()));
    let Some(waiter) = waiter else {
        return continue_stopped_turn(&daemon, &id, &call_id, &body).await;
    };
    if let Some(refusal) = record(&daemon, &id, &call_id, &body, Delivery::ToWaitingTurn).await {
        return refusal;
    }
    // Its state is no longer waiting for approval.
    daemon.changes.touched(&id);
    match waiter.send(body.to_answer()) {
        Ok(()) => Json(json!({"answered": body.decision})).into_response(),
        Err(_) => failure(
            StatusCode::CONFLICT,
            "the turn that asked has ended; send a message to continue the session",
        ),
    }
}

/// An answer to a question no turn waits for: the daemon stopped while it was open. The session
/// continues its stopped turn with this answer.
async fn continue_stopped_turn(
    daemon: &Arc<Daemon>,
    id: &str,
    call_id: &str,
    body: &AnswerApproval,
) -> Response {
    let row = match daemon.store.session(id).await {
        Ok(Some(row)) => row,
        Ok(None) => return failure(StatusCode::NOT_FOUND, format!("no session `{id}`")),
        Err(error) => return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    };
    let open = match reopened(daemon, &row).await {
        Ok(open) => open,
        Err(error) => return failure(StatusCode::CONFLICT, format!("{error:#}")),
    };
    let Ok(session) = open.held.session.try_lock() else {
        return failure(
            StatusCode::CONFLICT,
            "a turn is running and this question is not its own",
        );
    };
    let waiting = session.has_open_calls();
    drop(session);
    if !waiting {
        if let Err(error) = daemon.store.expire_approvals(id).await {
            return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"));
        }
        return failure(
            StatusCode::CONFLICT,
            "the turn that asked has ended; send a message to continue the session",
        );
    }
    if let Some(refusal) = record(daemon, id, call_id, body, Delivery::ToContinuedTurn).await {
        return refusal;
    }
    match turns::start(daemon, id, &open, Work::OpenCalls).await {
        Ok(Started::Running) => {
            Json(json!({"answered": body.decision, "continued": true})).into_response()
        }
        Ok(Started::Busy) => failure(
            StatusCode::CONFLICT,
            "a turn is running and this question is not its own",
        ),
        Err(error) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the answer is kept, but the turn could not be continued: {error:#}"),
        ),
    }
}

/// Stores the answer if it is the first; otherwise the response that refuses it.
async fn record(
    daemon: &Daemon,
    id: &str,
    call_id: &str,
    body: &AnswerApproval,
    delivery: Delivery,
) -> Option<Response> {
    let stored = match serde_json::to_string(body) {
        Ok(stored) => stored,
        Err(error) => {
            return Some(failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            ));
        }
    };
    let (id, call_id) = (id.to_string(), call_id.to_string());
    let first = daemon
        .store
        .call(move |store| store.answer_approval(&id, &call_id, &stored, delivery))
        .await;
    match first {
        Ok(true) => None,
        Ok(false) => Some(already_answered()),
        Err(error) => Some(failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{error:#}"),
        )),
    }
}

fn already_answered() -> Response {
    failure(
        StatusCode::CONFLICT,
        "this approval was already answered (or does not exist)",
    )
}
