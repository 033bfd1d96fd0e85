/*!
A session's events for HTTP clients: each event is a line of the session's transcript, and its
SSE id is that line's number. A client that reconnects with `Last-Event-ID` (or `?after=N`) gets
the lines after N from the file, then the live ones, with no gap and no duplicate; a client too
slow to keep up is dropped and comes back with its last id.

Also the daemon's one hub of session changes ([`Changes`]), which `GET /v1/events` follows.
*/

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::response::sse::Event as SseEvent;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;

use crate::protocol::event::{Event, EventSink};
use crate::records::Redactor;

/// How many live events a client may fall behind before it is dropped.
const LAG_LIMIT: usize = 4096;

/// The live events of one session, numbered as the transcript's lines.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<(u64, Arc<str>)>,
    transcript: PathBuf,
    /// Lines the transcript holds so far.
    lines: Arc<AtomicU64>,
    /// The transcript keeps the API key out; so do the live events (set when a session opens).
    redactor: Arc<std::sync::Mutex<Redactor>>,
}

impl Hub {
    /// The hub of the session recorded in `transcript`, whose events so far are `lines` lines.
    pub fn new(transcript: PathBuf, lines: u64, redactor: Redactor) -> Self {
        let (sender, _) = broadcast::channel(LAG_LIMIT);
        Self {
            sender,
            transcript,
            lines: Arc::new(AtomicU64::new(lines)),
            redactor: Arc::new(std::sync::Mutex::new(redactor)),
        }
    }

    /// The redaction of the session now open on this hub.
    pub fn set_redactor(&self, redactor: Redactor) {
        *crate::sync::lock(&self.redactor) = redactor;
    }

    /// Records `event` in the session's transcript and publishes it: the daemon's own word to
    /// the session's clients, between turns (a turn's events come through [`Hub::sink`]).
    pub fn tell(&self, event: &Event) -> anyhow::Result<()> {
        let line = crate::sync::lock(&self.redactor).redact(serde_json::to_string(event)?);
        let mut file = crate::records::open_for_append(&self.transcript)?;
        std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes())?;
        self.clone().emit(event);
        Ok(())
    }

    /// The sink that numbers and publishes events; it runs after the transcript's own sink, so
    /// an event is on disk before any client sees it.
    pub fn sink(&self) -> Box<dyn EventSink> {
        Box::new(self.clone())
    }

    /// The events after `after`: first from the transcript (read off the runtime's threads),
    /// then live.
    pub fn stream(&self, after: u64) -> impl Stream<Item = Result<SseEvent, Infallible>> + use<> {
        // Subscribe before reading the file: an event is either in what is read, or arrives.
        let live = self.sender.subscribe();
        let transcript = self.transcript.clone();
        let backlog = async move {
            let text = tokio::fs::read_to_string(&transcript)
                .await
                .unwrap_or_default();
            let lines: Vec<(u64, String)> = text
                .lines()
                .enumerate()
                .map(|(index, line)| (index as u64 + 1, line.to_string()))
                .filter(|(id, _)| *id > after)
                .collect();
            let last = lines.last().map_or(after, |(id, _)| *id);
            let backlog =
                futures_util::stream::iter(lines.into_iter().map(|(id, line)| Ok(sse(id, &line))));
            backlog.chain(live_after(live, last))
        };
        futures_util::stream::once(backlog).flatten()
    }
}

/// The live events numbered after `last`.
fn live_after(
    live: broadcast::Receiver<(u64, Arc<str>)>,
    last: u64,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold((live, last), |(mut live, mut last)| async move {
        loop {
            match live.recv().await {
                Ok((id, _)) if id <= last => continue,
                Ok((id, line)) => {
                    last = id;
                    return Some((Ok(sse(id, &line)), (live, last)));
                }
                // Too slow, or the session's hub is gone: the client comes back with its id.
                Err(_) => return None,
            }
        }
    })
}

impl EventSink for Hub {
    fn emit(&mut self, event: &Event) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        let line = crate::sync::lock(&self.redactor).redact(line);
        let id = self.lines.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.sender.send((id, Arc::from(line)));
    }
}

fn sse(id: u64, line: &str) -> SseEvent {
    SseEvent::default().id(id.to_string()).data(line)
}

/// How many changes a slow follower may fall behind before it is sent the whole list again.
const CHANGES_BACKLOG: usize = 256;

/// Where the sessions that changed are announced (by id).
#[derive(Clone)]
pub struct Changes(broadcast::Sender<String>);

impl Default for Changes {
    fn default() -> Self {
        Self(broadcast::channel(CHANGES_BACKLOG).0)
    }
}

impl Changes {
    /// Session `id` changed (or was forgotten): followers are sent it as it is now.
    pub fn touched(&self, id: &str) {
        // No follower is no error.
        let _ = self.0.send(id.to_string());
    }

    /// The ids of the sessions that change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.0.subscribe()
    }
}
