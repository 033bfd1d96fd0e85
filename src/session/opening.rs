/*!
What a front end says when it opens a session: where the session works, which one it is, which
model, where it is recorded, and the settings the front end chose over the config's.
*/

use std::path::{Path, PathBuf};

use super::front::Front;
use super::prompt::Snapshot;
use crate::agent::OutputSchema;
use crate::config::{McpServerConfig, ModelChoice, Settings};
use crate::model::ModelClient;
use crate::protocol::modes::{ApprovalMode, SandboxChoice};

/// Where a session works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the workspace itself.
    Workspace(PathBuf),
    /// In a tree apart made before (a worktree of `real`); the settings still come from `real`.
    Isolated { real: PathBuf, tree: PathBuf },
    /// In a worktree (or copy) of the workspace's current state, made beside the transcript
    /// when the session opens; [`Session::take_isolation`] hands it back at the end.
    Isolate(PathBuf),
}

impl Place {
    /// The directory edits and commands change.
    pub fn dir(&self) -> &Path {
        match self {
            Place::Workspace(dir) | Place::Isolated { tree: dir, .. } | Place::Isolate(dir) => dir,
        }
    }

    /// The workspace whose settings apply.
    pub(super) fn settings_dir(&self) -> &Path {
        match self {
            Place::Workspace(dir) | Place::Isolated { real: dir, .. } | Place::Isolate(dir) => dir,
        }
    }
}

/// Which session to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    New,
    /// A new session under an id given before (the daemon took its task, then restarted before
    /// the task ran).
    NewWithId(String),
    /// The session with this id, continued from its transcript.
    Resume(String),
    /// The latest session of this workspace, continued.
    ContinueLatest,
}

/// Which model, and how.
pub enum ModelSource {
    /// The front end's choice over the config files; the server is asked what it can do.
    Choice(ModelChoice),
    /// Settings resolved and a client made before (a batch asks its server once).
    Resolved(Box<Resolved>),
}

pub struct Resolved {
    pub settings: Settings,
    pub client: ModelClient,
}

/// Where the transcript goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    /// `<sessions dir>/<date>/<id>.jsonl`, found again by `--resume`, `agent sessions`, `undo`.
    InSessionsDir,
    /// A file of the front end's (a batch keeps each task's in its results directory).
    At(PathBuf),
}

/// Whether edits are journaled for `agent undo` and `agent diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    Kept,
    /// An isolated session's change is reviewed as a whole instead.
    NotKept,
}

/// What opens a session. [`Opening::new`] gives the usual defaults; front ends change fields.
pub struct Opening<'a> {
    pub front: &'a dyn Front,
    pub place: Place,
    pub begin: Begin,
    pub model: ModelSource,
    /// Overrides the settings' sessions directory (`--sessions-dir`).
    pub sessions_dir: Option<PathBuf>,
    pub records: Records,
    pub journal: Journal,
    /// The front end's choice; None: the config's, else `ask`.
    pub approval: Option<ApprovalMode>,
    pub sandbox: SandboxChoice,
    pub snapshot: Snapshot,
    /// MCP servers the front end adds to the configured ones (an editor's).
    pub mcp_servers: Vec<(String, McpServerConfig)>,
    pub output_schema: Option<OutputSchema>,
    /// Overrides the settings' turn limit.
    pub max_turns: Option<u32>,
}

impl<'a> Opening<'a> {
    pub fn new(front: &'a dyn Front, place: Place, model: ModelSource) -> Self {
        Self {
            front,
            place,
            begin: Begin::New,
            model,
            sessions_dir: None,
            records: Records::InSessionsDir,
            journal: Journal::Kept,
            approval: None,
            sandbox: SandboxChoice::default(),
            snapshot: Snapshot::ForTask,
            mcp_servers: Vec::new(),
            output_schema: None,
            max_turns: None,
        }
    }
}
