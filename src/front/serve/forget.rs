/*!
Forgetting a session: `DELETE /v1/sessions/{id}` takes it off the daemon's list and deletes an
isolated session's worktree, which would otherwise stay under the data dir for good. What the
user may still want stays: the transcript (`agent run --resume ID`) and an isolated session's
saved patch (`agent apply ID`).
*/

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::failure;
use super::daemon::Daemon;
use super::store::Isolated;
use crate::sync::lock;

/// Forgets a session that runs no turn; its worktree is deleted, its transcript kept.
#[utoipa::path(delete, path = "/v1/sessions/{id}", params(("id" = String, Path, description = "session id")), responses(
    (status = 200, description = "forgotten; the transcript stays", body = Object),
    (status = 404, description = "no such session", body = Object),
    (status = 409, description = "a turn is running or queued", body = Object)))]
pub async fn forget(State(daemon): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let Ok(Some(row)) = daemon.store.session(&id).await else {
        return failure(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let busy = || {
        failure(
            StatusCode::CONFLICT,
            "a turn is running or queued; cancel it first",
        )
    };
    if row.state.is_busy() {
        return busy();
    }
    // Held until the session is gone, so no turn can begin on it meanwhile.
    let open = lock(&daemon.open).get(&id).cloned();
    let _idle = match open.map(|open| open.held.session.try_lock_owned()) {
        Some(Err(_)) => return busy(),
        Some(Ok(guard)) => Some(guard),
        None => None,
    };
    let isolation = daemon.store.isolation(&id).await;
    match isolation {
        Ok(Some(isolated)) => {
            if let Err(error) = remove_worktree(isolated).await {
                return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"));
            }
        }
        Ok(None) => {}
        Err(error) => return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")),
    }
    lock(&daemon.open).remove(&id);
    let forgotten = id.clone();
    if let Err(error) = daemon
        .store
        .call(move |store| store.forget(&forgotten))
        .await
    {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"));
    }
    daemon.changes.touched(&id);
    Json(json!({"forgotten": id, "transcript": row.transcript})).into_response()
}

/// Deletes the worktree (already gone is fine: the user may have deleted it by hand).
async fn remove_worktree(isolated: Isolated) -> anyhow::Result<()> {
    if !std::path::Path::new(&isolated.dir).exists() {
        return Ok(());
    }
    tokio::task::spawn_blocking(move || isolated.reopen().remove()).await?
}
