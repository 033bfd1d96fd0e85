/*!
The edit journal behind checkpoints, `agent undo` and `agent diff`.

Every applied edit is appended to `<session-id>.edits.jsonl` beside the transcript with each
file's content before and after, tagged with the turn. That is the checkpoint: it needs no git, never
touches the user's index, branch or stash, and works in any directory. Undo restores the "before"
of the last turn (or of the whole session) after checking that nobody changed the files since;
`agent diff` shows everything a session changed. Changes made by commands the agent ran are not
recorded (they are not edits).
*/

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use agent_tools::{ChangeKind, ExecutableBit, FileChange, PreparedEdit, Workspace};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::list::{session_files, session_id};

pub const JOURNAL_SUFFIX: &str = ".edits.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Record {
    Edit {
        turn: u32,
        workspace: String,
        path: String,
        before: Option<String>,
        after: Option<String>,
    },
    Revert {
        turns: Vec<u32>,
    },
}

pub struct EditJournal {
    file: File,
    workspace: String,
}

impl EditJournal {
    pub fn create(path: &Path, workspace: &Workspace) -> Result<Self> {
        let file = super::open_for_append(path)?;
        Ok(Self {
            file,
            workspace: workspace.root().display().to_string(),
        })
    }

    /// Records an applied edit; a failure to record is reported, the edit stays applied.
    pub fn record(&mut self, turn: u32, edit: &PreparedEdit) -> std::io::Result<()> {
        for change in &edit.changes {
            let record = Record::Edit {
                turn,
                workspace: self.workspace.clone(),
                path: change.path.clone(),
                before: change.old.clone(),
                after: change.new.clone(),
            };
            append(&mut self.file, &record)?;
        }
        Ok(())
    }
}

fn append(file: &mut File, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    file.write_all(line.as_bytes())
}

/// A session's journal, read back.
struct Journal {
    path: PathBuf,
    edits: Vec<(u32, String, Option<String>, Option<String>)>,
    reverted: Vec<u32>,
}

impl Journal {
    fn read(path: &Path) -> Result<(Self, Option<String>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut journal = Journal {
            path: path.to_path_buf(),
            edits: Vec::new(),
            reverted: Vec::new(),
        };
        let mut workspace = None;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            match serde_json::from_str::<Record>(line)
                .with_context(|| format!("corrupt journal {}", path.display()))?
            {
                Record::Edit {
                    turn,
                    workspace: root,
                    path,
                    before,
                    after,
                } => {
                    workspace.get_or_insert(root);
                    journal.edits.push((turn, path, before, after));
                }
                Record::Revert { turns } => journal.reverted.extend(turns),
            }
        }
        Ok((journal, workspace))
    }

    fn live_turns(&self) -> Vec<u32> {
        let mut turns: Vec<u32> = self
            .edits
            .iter()
            .map(|edit| edit.0)
            .filter(|turn| !self.reverted.contains(turn))
            .collect();
        turns.sort_unstable();
        turns.dedup();
        turns
    }

    /// Per file: the content before the first of `turns` and after the last.
    fn net_changes(&self, turns: &[u32]) -> BTreeMap<String, (Option<String>, Option<String>)> {
        let mut net: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        for (turn, path, before, after) in &self.edits {
            if turns.contains(turn) {
                net.entry(path.clone())
                    .and_modify(|entry| entry.1 = after.clone())
                    .or_insert((before.clone(), after.clone()));
            }
        }
        net
    }
}

/// Which part of a session to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoScope {
    LastTurn,
    WholeSession,
}

/// Reverts edits; returns a one-line-per-file summary.
pub fn undo(
    sessions_dir: &Path,
    workspace: &Workspace,
    session: Option<&str>,
    scope: UndoScope,
) -> Result<String> {
    let path = find_journal(sessions_dir, workspace, session)?;
    let (journal, _) = Journal::read(&path)?;
    let live = journal.live_turns();
    let turns: Vec<u32> = match (scope, live.last()) {
        (_, None) => bail!("nothing to undo: every edit of this session was already undone"),
        (UndoScope::LastTurn, Some(last)) => vec![*last],
        (UndoScope::WholeSession, Some(_)) => live.clone(),
    };
    let mut changes = Vec::new();
    for (file, (before, after)) in journal.net_changes(&turns) {
        let absolute = workspace.resolve(&file)?;
        let current = match std::fs::read(&absolute) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(error).with_context(|| format!("cannot read {file}")),
        };
        if current != after {
            bail!(
                "`{file}` was changed by someone else since the agent edited it; refusing to undo (nothing was changed)"
            );
        }
        let kind = match (&after, &before) {
            (None, _) => ChangeKind::Create,
            (Some(_), None) => ChangeKind::Delete,
            (Some(_), Some(_)) => ChangeKind::Modify,
        };
        changes.push(FileChange {
            path: file,
            absolute,
            kind,
            old: after,
            new: before,
            old_stamp: None,
            executable: ExecutableBit::Keep,
        });
    }
    let edit = PreparedEdit { changes };
    edit.commit()?;
    let mut file = super::open_for_append(&journal.path)?;
    append(
        &mut file,
        &Record::Revert {
            turns: turns.clone(),
        },
    )?;
    let what = match scope {
        UndoScope::LastTurn => format!("turn {}", turns[0]),
        UndoScope::WholeSession => "the whole session".to_string(),
    };
    Ok(format!(
        "undid {what} of {}:\n{}",
        session_id(&journal.path),
        edit.summary()
    ))
}

/// Everything a session changed (edits not undone), as one unified diff.
pub fn diff(sessions_dir: &Path, workspace: &Workspace, session: Option<&str>) -> Result<String> {
    let path = find_journal(sessions_dir, workspace, session)?;
    let (journal, _) = Journal::read(&path)?;
    let mut out = String::new();
    for (file, (before, after)) in journal.net_changes(&journal.live_turns()) {
        let kind = match (&before, &after) {
            (None, _) => ChangeKind::Create,
            (Some(_), None) => ChangeKind::Delete,
            (Some(_), Some(_)) => ChangeKind::Modify,
        };
        let change = FileChange {
            absolute: workspace.root().join(&file),
            path: file,
            kind,
            old: before,
            new: after,
            old_stamp: None,
            executable: ExecutableBit::Keep,
        };
        out.push_str(&change.unified_diff());
    }
    Ok(out)
}

/// The journal of session `id`, or of the newest session that edited this workspace.
fn find_journal(sessions_dir: &Path, workspace: &Workspace, id: Option<&str>) -> Result<PathBuf> {
    let journals = session_files(sessions_dir, |name| name.ends_with(JOURNAL_SUFFIX));
    if let Some(id) = id {
        return journals
            .into_iter()
            .find(|path| session_id(path) == id)
            .with_context(|| {
                format!("no session `{id}` with edits in {}", sessions_dir.display())
            });
    }
    let root = workspace.root().display().to_string();
    for path in journals.into_iter().rev() {
        if let Ok((_, Some(recorded))) = Journal::read(&path)
            && recorded == root
        {
            return Ok(path);
        }
    }
    bail!(
        "no session has edited {} (sessions are in {})",
        root,
        sessions_dir.display()
    )
}
