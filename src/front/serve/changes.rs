/*!
The session list, pushed: `GET /v1/events` streams the list as it is (`sessions`), then each
session that changes (`session`: created, queued, running, waiting for approval, ended) or is
forgotten (`forgotten`), as server-sent events. The review page's list follows it instead of
asking every two seconds, and scripts can follow the daemon's sessions the same way.
*/

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast;

use super::daemon::Daemon;

/// The sessions as they are, then each change, as server-sent events.
#[utoipa::path(get, path = "/v1/events", responses(
    (status = 200, description = "server-sent events: `sessions` (every session, first), then `session` (one that changed) and `forgotten` (`{\"id\"}`)", content_type = "text/event-stream", body = Object)))]
pub async fn changes(State(daemon): State<Arc<Daemon>>) -> Response {
    // Subscribed before the list is read: a change in between is sent again, never lost.
    let live = daemon.changes.subscribe();
    let first = whole_list(&daemon).await;
    let stream = futures_util::stream::once(async move { first })
        .chain(followed(Arc::clone(&daemon), live))
        .take_until(daemon.stopping.clone().cancelled_owned());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn followed(
    daemon: Arc<Daemon>,
    live: broadcast::Receiver<String>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold((daemon, live), |(daemon, mut live)| async move {
        let event = match live.recv().await {
            Ok(id) => one(&daemon, id).await,
            Err(broadcast::error::RecvError::Lagged(_)) => whole_list(&daemon).await,
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((event, (daemon, live)))
    })
}

async fn whole_list(daemon: &Daemon) -> Result<SseEvent, Infallible> {
    let rows = daemon
        .store
        .call(|store| store.sessions())
        .await
        .unwrap_or_default();
    let rows: Vec<_> = rows.into_iter().map(|row| daemon.shown(row)).collect();
    Ok(SseEvent::default()
        .event("sessions")
        .data(json!(rows).to_string()))
}

async fn one(daemon: &Daemon, id: String) -> Result<SseEvent, Infallible> {
    let asked = id.clone();
    let row = daemon
        .store
        .call(move |store| store.session(&asked))
        .await
        .ok()
        .flatten();
    Ok(match row {
        Some(row) => SseEvent::default()
            .event("session")
            .data(json!(daemon.shown(row)).to_string()),
        None => SseEvent::default()
            .event("forgotten")
            .data(json!({"id": id}).to_string()),
    })
}
