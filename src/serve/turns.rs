/*!
Running a session's turns in the daemon: opening a session (new, isolated in a worktree, or
continued from its transcript), and each turn in the background under the daemon's two limits:
one session at a time edits a directory, and at most `--max-running` turns run at once. The
others wait, queued. An isolated session's change is saved as a patch after every turn, where
`agent apply ID` finds it.
*/

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::store::Isolated;
use super::{Daemon, Open};
use crate::isolate::Isolation;
use crate::live::{Ending, Opening, Session, lock};

/// What a turn does.
pub enum Work {
    /// A prompt: the task, or a follow-up.
    Prompt(String),
    /// The calls a stop left waiting, now that the approval one of them waited for is answered.
    OpenCalls,
}

/// How a session is opened.
pub enum Start<'a> {
    New {
        model: Option<String>,
    },
    /// Continued from its transcript (after a restart).
    Resumed {
        id: &'a str,
    },
}

/// Opens a session working in `workdir`, with the daemon as its front end.
pub async fn open_session(
    daemon: &Daemon,
    workdir: &Path,
    start: Start<'_>,
    isolated: Option<Isolated>,
) -> Result<Open> {
    let front = daemon.front();
    let mut model_args = daemon.model.clone();
    let resumed = match start {
        Start::New { model } => {
            model_args.model = model.or(model_args.model);
            None
        }
        Start::Resumed { id } => Some(id),
    };
    let opening = Opening {
        front: &front,
        cwd: workdir,
        model: &model_args,
        mcp_servers: Vec::new(),
    };
    let session = Session::open(opening, resumed).await?;
    let hub = daemon.hub(&session.id, session.transcript_path());
    hub.set_redactor(session.redactor());
    Ok(Open {
        stop: Arc::clone(&session.stop),
        hard_stop: Arc::clone(&session.hard_stop),
        workdir: session.workspace.clone(),
        session: Arc::new(tokio::sync::Mutex::new(session)),
        hub,
        isolated,
    })
}

/// A worktree of `workspace` (its current state, untracked files included) under the data dir.
/// Only of a git repository: copying any directory a request names could fill the disk.
pub async fn isolate(daemon: &Daemon, workspace: &Path) -> Result<Isolated> {
    let real = agent_tools::Workspace::new(workspace)
        .with_context(|| format!("workspace {}", workspace.display()))?;
    let into = daemon
        .data_dir
        .join("worktrees")
        .join(format!("{:016x}", fastrand::u64(..)));
    let isolation = tokio::task::spawn_blocking(move || {
        if !crate::isolate::is_git_repository(real.root()) {
            anyhow::bail!(
                "isolate needs a git repository (the top of one), and {} is not",
                real.root().display()
            );
        }
        crate::run::isolate(&real, &into)
    })
    .await
    .context("making the worktree stopped")??;
    Ok(Isolated {
        dir: isolation.dir.display().to_string(),
        base: isolation.base().to_string(),
        repository: isolation
            .repository()
            .map(|repository| repository.display().to_string()),
    })
}

/// The isolated session's change so far, as a patch.
pub async fn isolated_patch(isolated: Isolated) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Isolation::reopen(
            PathBuf::from(isolated.dir),
            isolated.base,
            isolated.repository.map(PathBuf::from),
        )
        .patch()
    })
    .await
    .context("reading the worktree stopped")?
}

/// Runs `work` in the background; false when the session is busy with a turn.
pub fn start(daemon: &Arc<Daemon>, id: &str, open: &Open, work: Work) -> bool {
    let Ok(mut session) = Arc::clone(&open.session).try_lock_owned() else {
        return false;
    };
    if let Work::Prompt(_) = work {
        // Questions a stopped turn left open are moot once the person says something new.
        let _ = lock(&daemon.store).expire_approvals(id);
    }
    let _ = lock(&daemon.store).set_state(id, "queued");
    let directory = daemon.directory(&open.workdir);
    let (daemon, id, sink) = (Arc::clone(daemon), id.to_string(), open.hub.sink());
    let isolated = open.isolated.clone();
    tokio::spawn(async move {
        // One session edits a directory at a time; then at most --max-running turns at once.
        let _directory = directory.lock_owned().await;
        let Ok(_slot) = Arc::clone(&daemon.running).acquire_owned().await else {
            return;
        };
        let _ = lock(&daemon.store).set_state(&id, "running");
        let ended = match work {
            Work::Prompt(text) => session.prompt(text, sink).await,
            Work::OpenCalls => session.continue_open_calls(sink).await,
        };
        let state = match ended {
            // Cut short by the daemon stopping: a message continues it after the restart.
            Ok(Ending::Cancelled) if daemon.stopping.is_cancelled() => "interrupted",
            Ok(Ending::EndTurn | Ending::TurnLimit | Ending::Cancelled) => "idle",
            Err(_) => "failed",
        };
        if let Some(isolated) = isolated {
            save_patch(isolated, session.transcript_path()).await;
        }
        let _ = lock(&daemon.store).set_state(&id, state);
    });
    true
}

/// Saves an isolated session's change beside its transcript (as `agent run --isolate` does),
/// written whole or not at all.
async fn save_patch(isolated: Isolated, transcript: &Path) {
    let Ok(patch) = isolated_patch(isolated).await else {
        return;
    };
    let path = transcript.with_extension("patch");
    let partial = transcript.with_extension("patch.partial");
    if patch.is_empty() {
        let _ = std::fs::remove_file(&path);
    } else if std::fs::write(&partial, patch).is_ok() {
        let _ = std::fs::rename(&partial, &path);
    }
}
