/*!
The daemon's own facts, in SQLite (bundled, WAL): its sessions and their state, the request ids of
messages already taken (so a retried request never runs twice), and approvals with their answers.
The conversation itself, and every event of a session, stay in the session's JSONL transcript,
the one source of truth that `agent run --resume`, `agent undo` and `session/load` read as well:
an event's SSE id is its line number there.
*/

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A session as the daemon lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionRow {
    pub id: String,
    pub workspace: String,
    pub task: String,
    /// running, waiting_for_approval, idle, interrupted, failed.
    pub state: String,
    /// The session's transcript: its events, one a line.
    #[serde(skip)]
    #[schema(ignore)]
    pub transcript: String,
}

pub struct Store {
    db: Connection,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self> {
        let db =
            Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS sessions (
                 id TEXT PRIMARY KEY, workspace TEXT NOT NULL, task TEXT NOT NULL,
                 state TEXT NOT NULL, transcript TEXT NOT NULL,
                 created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
             CREATE TABLE IF NOT EXISTS requests (
                 session_id TEXT NOT NULL, request_id TEXT NOT NULL,
                 PRIMARY KEY (session_id, request_id));
             CREATE TABLE IF NOT EXISTS approvals (
                 session_id TEXT NOT NULL, call_id TEXT NOT NULL, question TEXT NOT NULL,
                 decision TEXT, PRIMARY KEY (session_id, call_id));",
        )?;
        Ok(Self { db })
    }

    /// Sessions that were running when the daemon stopped come back interrupted.
    pub fn interrupt_running(&self) -> Result<usize> {
        Ok(self.db.execute(
            "UPDATE sessions SET state = 'interrupted' WHERE state IN ('running', 'waiting_for_approval')",
            [],
        )?)
    }

    pub fn add_session(&self, row: &SessionRow) -> Result<()> {
        self.db.execute(
            "INSERT INTO sessions (id, workspace, task, state, transcript) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.id, row.workspace, row.task, row.state, row.transcript],
        )?;
        Ok(())
    }

    pub fn set_state(&self, id: &str, state: &str) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET state = ?2 WHERE id = ?1",
            params![id, state],
        )?;
        Ok(())
    }

    pub fn sessions(&self) -> Result<Vec<SessionRow>> {
        let mut query = self.db.prepare(
            "SELECT id, workspace, task, state, transcript FROM sessions ORDER BY created, id",
        )?;
        let rows = query.query_map([], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .db
            .query_row(
                "SELECT id, workspace, task, state, transcript FROM sessions WHERE id = ?1",
                [id],
                session_row,
            )
            .optional()?)
    }

    /// Whether a message with this request id was taken already.
    pub fn knows_request(&self, session_id: &str, request_id: &str) -> Result<bool> {
        let known: Option<i64> = self
            .db
            .query_row(
                "SELECT 1 FROM requests WHERE session_id = ?1 AND request_id = ?2",
                params![session_id, request_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(known.is_some())
    }

    /// Records a message's request id; false when it was taken before.
    pub fn take_request(&self, session_id: &str, request_id: &str) -> Result<bool> {
        let added = self.db.execute(
            "INSERT OR IGNORE INTO requests (session_id, request_id) VALUES (?1, ?2)",
            params![session_id, request_id],
        )?;
        Ok(added == 1)
    }

    pub fn add_approval(&self, session_id: &str, call_id: &str, question: &str) -> Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO approvals (session_id, call_id, question, decision) VALUES (?1, ?2, ?3, NULL)",
            params![session_id, call_id, question],
        )?;
        Ok(())
    }

    /// Records the first answer to an approval; false when it had one already (or none exists).
    pub fn answer_approval(&self, session_id: &str, call_id: &str, decision: &str) -> Result<bool> {
        let answered = self.db.execute(
            "UPDATE approvals SET decision = ?3 WHERE session_id = ?1 AND call_id = ?2 AND decision IS NULL",
            params![session_id, call_id, decision],
        )?;
        Ok(answered == 1)
    }

    /// Pending approvals of a session: (call id, question as JSON).
    pub fn pending_approvals(&self, session_id: &str) -> Result<Vec<(String, String)>> {
        let mut query = self.db.prepare(
            "SELECT call_id, question FROM approvals WHERE session_id = ?1 AND decision IS NULL ORDER BY rowid",
        )?;
        let rows = query.query_map([session_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A session from a row of `SELECT id, workspace, task, state, transcript`.
fn session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get(0)?,
        workspace: row.get(1)?,
        task: row.get(2)?,
        state: row.get(3)?,
        transcript: row.get(4)?,
    })
}
