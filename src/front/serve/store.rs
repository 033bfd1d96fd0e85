/*!
The daemon's own facts, in SQLite (bundled, WAL): its sessions and their state, the request ids of
messages already taken (so a retried request never runs twice), and approvals with their answers.
The conversation itself, and every event of a session, stay in the session's JSONL transcript,
the one source of truth that `agent run --resume`, `agent undo` and `session/load` read as well:
an event's SSE id is its line number there.
*/

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::isolate::Isolation;
use crate::protocol::state::SessionState;

/// What a turn does. Kept in the database from when it is accepted until it begins, so that
/// work accepted before a restart runs after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A prompt: the task, or a follow-up.
    Prompt(String),
    /// The calls a stop left waiting, now that the approval one of them waited for is answered.
    OpenCalls,
}

/// A session as the daemon lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionRow {
    pub id: String,
    pub workspace: String,
    pub task: String,
    pub state: SessionState,
    /// Where an isolated session works (a worktree of `workspace`); none when it works in place.
    pub worktree: Option<String>,
    /// The model's plan as it last sent it (`update_plan`), when it keeps one; given by
    /// `GET /v1/sessions/{id}`, not in the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<super::api::PlanStepShown>>,
    /// When its state last changed (RFC 3339, UTC).
    pub updated: String,
    /// The session's transcript: its events, one a line.
    #[serde(skip)]
    #[schema(ignore)]
    pub transcript: String,
}

/// An isolated session's worktree: where, the commit it started from, and the repository it
/// belongs to (none for a copy of a plain directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolated {
    pub dir: String,
    pub base: String,
    pub repository: Option<String>,
}

impl Isolated {
    /// The worktree as `isolate` knows it, to diff or delete.
    pub fn reopen(self) -> Isolation {
        Isolation::reopen(
            PathBuf::from(self.dir),
            self.base,
            self.repository.map(PathBuf::from),
        )
    }
}

/// What asking a question found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// Stored; its answer will come to the waiting turn.
    Pending,
    /// Answered while no turn waited (JSON): the turn continued after a restart takes it.
    AnsweredBefore(String),
}

/// Who takes an approval's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The turn that asked, waiting now.
    ToWaitingTurn,
    /// The turn a restart stopped, continued when it asks again.
    ToContinuedTurn,
}

pub struct Store {
    db: Connection,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self> {
        let db =
            Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        // Another process reading the file (a backup, `sqlite3`) makes writes wait, not fail.
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS sessions (
                 id TEXT PRIMARY KEY, workspace TEXT NOT NULL, task TEXT NOT NULL,
                 state TEXT NOT NULL, transcript TEXT NOT NULL,
                 created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                 worktree TEXT, worktree_base TEXT, worktree_repository TEXT, queued_work TEXT);
             CREATE TABLE IF NOT EXISTS requests (
                 session_id TEXT NOT NULL, request_id TEXT NOT NULL,
                 PRIMARY KEY (session_id, request_id));
             CREATE TABLE IF NOT EXISTS approvals (
                 session_id TEXT NOT NULL, call_id TEXT NOT NULL, question TEXT NOT NULL,
                 decision TEXT, carried INTEGER NOT NULL DEFAULT 0,
                 PRIMARY KEY (session_id, call_id));
             CREATE TABLE IF NOT EXISTS logins (
                 secret TEXT PRIMARY KEY, created INTEGER NOT NULL DEFAULT (unixepoch()));",
        )?;
        // Databases of the first daemons lack the columns added since.
        for (table, column) in [
            ("sessions", "worktree TEXT"),
            ("sessions", "worktree_base TEXT"),
            ("sessions", "worktree_repository TEXT"),
            ("approvals", "carried INTEGER NOT NULL DEFAULT 0"),
            ("sessions", "queued_work TEXT"),
            ("sessions", "updated TEXT"),
        ] {
            add_column(&db, table, column)?;
        }
        Ok(Self { db })
    }

    /// A question a turn asks: its answer when one was given while no turn waited for it (the
    /// turn is the one a restart continued); else it is stored as pending.
    pub fn ask_approval(&self, session_id: &str, call_id: &str, question: &str) -> Result<Asked> {
        let carried: Option<String> = self
            .db
            .query_row(
                "UPDATE approvals SET carried = 0 WHERE session_id = ?1 AND call_id = ?2 AND carried = 1 RETURNING decision",
                params![session_id, call_id],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(answer) = carried {
            return Ok(Asked::AnsweredBefore(answer));
        }
        self.db.execute(
            "INSERT OR REPLACE INTO approvals (session_id, call_id, question, decision) VALUES (?1, ?2, ?3, NULL)",
            params![session_id, call_id, question],
        )?;
        Ok(Asked::Pending)
    }

    /// The question of a pending approval.
    pub fn pending_question(&self, session_id: &str, call_id: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .query_row(
                "SELECT question FROM approvals WHERE session_id = ?1 AND call_id = ?2 AND decision IS NULL",
                params![session_id, call_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Records the first answer (JSON) to an approval; false when it had one already (or none
    /// exists). A `carried` answer waits for the continued turn to ask again.
    pub fn answer_approval(
        &self,
        session_id: &str,
        call_id: &str,
        answer: &str,
        delivery: Delivery,
    ) -> Result<bool> {
        let carried = match delivery {
            Delivery::ToWaitingTurn => 0,
            Delivery::ToContinuedTurn => 1,
        };
        let answered = self.db.execute(
            "UPDATE approvals SET decision = ?3, carried = ?4 WHERE session_id = ?1 AND call_id = ?2 AND decision IS NULL",
            params![session_id, call_id, answer, carried],
        )?;
        Ok(answered == 1)
    }

    /// The session's open questions will never be answered (its turn was cancelled, or a new
    /// message replaced the stopped turn).
    pub fn expire_approvals(&self, session_id: &str) -> Result<()> {
        self.db.execute_batch("BEGIN")?;
        self.db.execute(
            "UPDATE approvals SET decision = '{\"expired\":true}' WHERE session_id = ?1 AND decision IS NULL",
            [session_id],
        )?;
        // An answer kept for a stopped turn that will not be continued now.
        self.db.execute(
            "UPDATE approvals SET carried = 0 WHERE session_id = ?1",
            [session_id],
        )?;
        self.db.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Sessions that were running when the daemon stopped come back interrupted (work queued,
    /// not begun, runs again: see [`Store::queued`]).
    pub fn interrupt_running(&self) -> Result<usize> {
        Ok(self.db.execute(
            "UPDATE sessions SET state = 'interrupted', updated = CURRENT_TIMESTAMP WHERE state IN ('running', 'waiting_for_approval')",
            [],
        )?)
    }

    pub fn add_session(&self, row: &SessionRow, isolation: Option<&Isolated>) -> Result<()> {
        self.db.execute(
            "INSERT INTO sessions (id, workspace, task, state, transcript, worktree, worktree_base, worktree_repository)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                row.id,
                row.workspace,
                row.task,
                row.state.name(),
                row.transcript,
                row.worktree,
                isolation.map(|isolated| &isolated.base),
                isolation.and_then(|isolated| isolated.repository.as_ref()),
            ],
        )?;
        Ok(())
    }

    /// How an isolated session's worktree was made, to diff it.
    pub fn isolation(&self, id: &str) -> Result<Option<Isolated>> {
        Ok(self
            .db
            .query_row(
                "SELECT worktree, worktree_base, worktree_repository FROM sessions WHERE id = ?1 AND worktree IS NOT NULL",
                [id],
                |row| {
                    Ok(Isolated {
                        dir: row.get(0)?,
                        base: row.get(1)?,
                        repository: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Work accepted for a session, waiting for its turn to begin.
    pub fn queue(&self, id: &str, work: &Work) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET state = 'queued', queued_work = ?2, updated = CURRENT_TIMESTAMP WHERE id = ?1",
            params![id, serde_json::to_string(work)?],
        )?;
        Ok(())
    }

    /// The session's queued work begins: it is running, and no longer waiting.
    pub fn begin(&self, id: &str) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET state = 'running', queued_work = NULL, updated = CURRENT_TIMESTAMP WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Sessions with work accepted and not begun, oldest first.
    pub fn queued(&self) -> Result<Vec<(SessionRow, Work)>> {
        let mut query = self.db.prepare(
            "SELECT id, workspace, task, state, transcript, worktree, queued_work FROM sessions
             WHERE queued_work IS NOT NULL ORDER BY created, id",
        )?;
        let rows = query.query_map([], |row| Ok((session_row(row)?, row.get::<_, String>(6)?)))?;
        let mut queued = Vec::new();
        for row in rows {
            let (session, work) = row?;
            if let Ok(work) = serde_json::from_str(&work) {
                queued.push((session, work));
            }
        }
        Ok(queued)
    }

    /// Deletes all the daemon knows of a session, at once.
    pub fn forget(&self, id: &str) -> Result<()> {
        let transaction = self.db.unchecked_transaction()?;
        transaction.execute("DELETE FROM approvals WHERE session_id = ?1", [id])?;
        transaction.execute("DELETE FROM requests WHERE session_id = ?1", [id])?;
        transaction.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
        transaction.commit()?;
        Ok(())
    }

    pub fn set_transcript(&self, id: &str, transcript: &str) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET transcript = ?2 WHERE id = ?1",
            params![id, transcript],
        )?;
        Ok(())
    }

    pub fn set_state(&self, id: &str, state: SessionState) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET state = ?2, updated = CURRENT_TIMESTAMP WHERE id = ?1",
            params![id, state.name()],
        )?;
        Ok(())
    }

    pub fn sessions(&self) -> Result<Vec<SessionRow>> {
        let mut query = self.db.prepare(&format!(
            "SELECT id, workspace, task, state, transcript, worktree, {UPDATED} FROM sessions ORDER BY created, id"
        ))?;
        let rows = query.query_map([], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .db
            .query_row(
                &format!("SELECT id, workspace, task, state, transcript, worktree, {UPDATED} FROM sessions WHERE id = ?1"),
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

    /// A browser signed in with this secret.
    pub fn add_login(&self, secret: &str) -> Result<()> {
        self.db
            .execute("INSERT INTO logins (secret) VALUES (?1)", [secret])?;
        Ok(())
    }

    /// Whether a browser signed in with this secret less than `lifetime_secs` ago.
    pub fn knows_login(&self, secret: &str, lifetime_secs: u64) -> Result<bool> {
        let mut query = self.db.prepare_cached(
            "SELECT 1 FROM logins WHERE secret = ?1 AND created > unixepoch() - ?2",
        )?;
        Ok(query.exists(params![secret, lifetime_secs as i64])?)
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

/// Adds `column` (name and type) to `table` unless it has it.
fn add_column(db: &Connection, table: &str, column: &str) -> Result<()> {
    let name = column.split_whitespace().next().unwrap_or(column);
    let mut query = db.prepare(&format!(
        "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
    ))?;
    if !query.exists([name])? {
        db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}"))?;
    }
    Ok(())
}

/// The state a stored name stands for; an unknown name is a corrupt row.
fn state_of(name: String) -> rusqlite::Result<SessionState> {
    SessionState::named(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown session state `{name}`").into(),
        )
    })
}

/// When a session last changed, as RFC 3339 (rows older than the column have their creation).
const UPDATED: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(updated, created))";

/// A session from a row of `SELECT id, workspace, task, state, transcript, worktree, UPDATED`.
fn session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        plan: None,
        id: row.get(0)?,
        workspace: row.get(1)?,
        task: row.get(2)?,
        state: state_of(row.get(3)?)?,
        transcript: row.get(4)?,
        worktree: row.get(5)?,
        updated: row.get(6)?,
    })
}
