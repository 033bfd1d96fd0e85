/*!
Session transcripts: every event of a session appended as one JSON line to
`<sessions_dir>/<date>/<session-id>.jsonl`, flushed per event so a crash loses nothing.
*/

mod journal;
mod list;
mod redact;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::protocol::event::{Event, EventSink};
pub use journal::{EditJournal, JOURNAL_SUFFIX, UndoScope, diff, undo};
pub use list::{find_transcript, session_id, sessions};
pub use redact::Redactor;

/// Opens `path` for appending, creating it if needed: how every JSONL file of ours is written.
pub fn open_for_append(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Where the edit journal of the session recorded in `transcript` goes (`ID.edits.jsonl` beside
/// `ID.jsonl`).
pub fn journal_path(transcript: &Path) -> PathBuf {
    transcript
        .with_extension("")
        .with_extension(JOURNAL_SUFFIX.trim_start_matches('.'))
}

/// A new session's id: its start time and a random suffix, sortable and unique enough.
pub fn new_session_id(now: &jiff::Zoned) -> String {
    format!(
        "{}-{:06x}",
        now.strftime("%Y%m%d-%H%M%S"),
        fastrand::u32(..0x100_0000)
    )
}

pub struct Transcript {
    file: File,
    /// Keeps the API key off the disk, even if a tool printed it.
    redactor: Redactor,
}

impl Transcript {
    /// The transcript at `path`, opened for appending (created if new).
    pub fn open(path: &Path, secret: &str) -> Result<Self> {
        let file = open_for_append(path)?;
        Ok(Self {
            file,
            redactor: Redactor::new(secret),
        })
    }
}

impl EventSink for Transcript {
    fn emit(&mut self, event: &Event) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        let mut line = self.redactor.redact(line);
        line.push('\n');
        // A full disk must not kill the session; the terminal still shows everything.
        let _ = self.file.write_all(line.as_bytes());
    }
}
