/*!
Finding sessions by their transcripts: the one to resume, and the list `agent sessions` prints.
A transcript's first line (`session_started`) says where and on what the session was started; its
`finished` lines say how each run ended.
*/

use std::fs::File;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::JOURNAL_SUFFIX;

/// A session as `agent sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: String,
    pub workspace: String,
    pub task: String,
    /// Runs: the first one and each follow-up.
    pub runs: usize,
    /// How the last run ended (`completed`, `error`…), or `unfinished`.
    pub outcome: String,
}

/// The files under `sessions_dir` (one folder per day) whose names `keep` accepts, least
/// recently written first. Not sorted by name: session ids start with the second they began, and
/// two sessions can begin in the same second.
pub(super) fn session_files(sessions_dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sessions_dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|day| {
            std::fs::read_dir(day.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|entry| entry.path())
        .filter(|path| keep(&path.to_string_lossy()))
        .collect();
    files.sort_by_cached_key(|path| {
        let modified = std::fs::metadata(path).and_then(|metadata| metadata.modified());
        (
            modified.ok(),
            path.file_name().map(|name| name.to_os_string()),
        )
    });
    files
}

/// Every transcript under `sessions_dir`, least recently active first.
fn transcripts(sessions_dir: &Path) -> Vec<PathBuf> {
    session_files(sessions_dir, |name| {
        name.ends_with(".jsonl") && !name.ends_with(JOURNAL_SUFFIX)
    })
}

/// The session a file belongs to: its name up to the first dot (`<id>.jsonl`,
/// `<id>.edits.jsonl`, `<id>.patch`); session ids have none.
pub fn session_id(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_string()
}

/// The first line of a transcript, if it is a `session_started` event.
fn start_of(transcript: &Path) -> Option<Value> {
    let file = File::open(transcript).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    let event: Value = serde_json::from_str(&first).ok()?;
    (event["type"] == "session_started").then_some(event)
}

/// The transcript of session `id`, or of the session started in `workspace` that was active last.
pub fn find_transcript(sessions_dir: &Path, workspace: &Path, id: Option<&str>) -> Result<PathBuf> {
    let transcripts = transcripts(sessions_dir);
    if let Some(id) = id {
        return transcripts
            .into_iter()
            .find(|path| session_id(path) == id)
            .with_context(|| format!("no session `{id}` in {}", sessions_dir.display()));
    }
    let root = workspace.display().to_string();
    transcripts
        .into_iter()
        .rev()
        .find(|path| start_of(path).is_some_and(|start| start["workspace"] == root.as_str()))
        .with_context(|| {
            format!(
                "no session was started in {root} (sessions are in {})",
                sessions_dir.display()
            )
        })
}

/// The sessions started in `workspace` (every session when None), most recently active first.
pub fn sessions(sessions_dir: &Path, workspace: Option<&Path>) -> Vec<SessionSummary> {
    let root = workspace.map(|path| path.display().to_string());
    transcripts(sessions_dir)
        .into_iter()
        .rev()
        .filter_map(|path| {
            let start = start_of(&path)?;
            let started_in = start["workspace"].as_str().unwrap_or_default().to_string();
            if root.as_ref().is_some_and(|root| *root != started_in) {
                return None;
            }
            let (runs, outcome) = runs_and_outcome(&path);
            Some(SessionSummary {
                id: session_id(&path),
                workspace: started_in,
                task: start["task"].as_str().unwrap_or_default().to_string(),
                runs,
                outcome,
            })
        })
        .collect()
}

/// How many runs a transcript holds, and how the last one ended.
fn runs_and_outcome(transcript: &Path) -> (usize, String) {
    let Ok(file) = File::open(transcript) else {
        return (0, "unreadable".into());
    };
    let mut runs = 0;
    let mut outcome = "unfinished".to_string();
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        // Only the few lines that matter are parsed: tool results can be large.
        if line.starts_with(r#"{"type":"session_started""#) {
            runs += 1;
            outcome = "unfinished".into();
        } else if line.starts_with(r#"{"type":"finished""#) {
            let event: Value = serde_json::from_str(&line).unwrap_or_default();
            outcome = event["outcome"]["kind"]
                .as_str()
                .unwrap_or("unknown")
                .replace('_', " ");
        }
    }
    (runs, outcome)
}
