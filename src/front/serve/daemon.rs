/*!
What the daemon holds while it runs: its database, the sessions it has open and their event hubs,
the questions waiting for an answer, who may call it, and the limits on running turns.
*/

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::db::Db;
use super::front::{HttpFront, Waiters};
use super::hub::{Changes, Hub};
use super::login_codes::LoginCodes;
use super::store::{Isolated, SessionRow};
use crate::protocol::state::SessionState;
use crate::session::Held;
use crate::sync::lock;

/// A session the daemon holds open.
#[derive(Clone)]
pub struct Open {
    /// The session, and its stops.
    pub held: Held,
    pub hub: Hub,
    /// Whether its last turn has sent `finished` (it lets go of the session just after).
    pub finished: Arc<std::sync::atomic::AtomicBool>,
    /// The directory its edits and commands change.
    pub workdir: PathBuf,
    /// Its worktree, when it is isolated.
    pub isolated: Option<Isolated>,
}

pub struct Daemon {
    pub store: Db,
    pub waiters: Waiters,
    pub open: Mutex<HashMap<String, Open>>,
    /// Each session's events hub, kept for as long as the daemon runs: a client following a
    /// session keeps following it when it is opened again.
    pub hubs: Mutex<HashMap<String, Hub>>,
    pub token: String,
    /// Fired by SIGTERM or Ctrl-C: event streams end, so the server can stop.
    pub stopping: tokio_util::sync::CancellationToken,
    /// The daemon's own origins: the only ones a browser may call it from (its address first).
    pub origins: Vec<String>,
    pub login_codes: LoginCodes,
    pub model: crate::config::ModelChoice,
    /// Turns that may run at once (`--max-running`).
    pub running: Arc<tokio::sync::Semaphore>,
    /// One lock per directory sessions work in: one turn at a time edits a directory.
    pub directories: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    pub data_dir: PathBuf,
    /// Where sessions that changed are announced to `GET /v1/events`.
    pub changes: Changes,
}

impl Daemon {
    /// The hub of session `id`, made on first use.
    pub async fn hub(&self, id: &str, transcript: &Path) -> Hub {
        if let Some(hub) = lock(&self.hubs).get(id) {
            return hub.clone();
        }
        // Counted before the lock is taken again: the file is read off the runtime's threads.
        let lines = tokio::fs::read_to_string(transcript)
            .await
            .map_or(0, |text| text.lines().count() as u64);
        let redactor = crate::records::Redactor::new("");
        lock(&self.hubs)
            .entry(id.to_string())
            .or_insert_with(|| Hub::new(transcript.to_path_buf(), lines, redactor))
            .clone()
    }

    /// The daemon's own origin, its address.
    pub fn origin(&self) -> &str {
        self.origins.first().map_or("", String::as_str)
    }

    /// The lock of the directory a session works in.
    pub fn directory(&self, workdir: &Path) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            lock(&self.directories)
                .entry(workdir.to_path_buf())
                .or_default(),
        )
    }

    pub fn front(&self) -> HttpFront {
        HttpFront {
            store: self.store.clone(),
            waiters: Arc::clone(&self.waiters),
            changes: self.changes.clone(),
        }
    }

    /// `row` as clients see it: a running session with an open question is waiting for
    /// approval.
    pub fn shown(&self, mut row: SessionRow) -> SessionRow {
        let waiting = lock(&self.waiters)
            .keys()
            .any(|(session, _)| *session == row.id);
        if row.state == SessionState::Running && waiting {
            row.state = SessionState::WaitingForApproval;
        }
        row
    }
}
