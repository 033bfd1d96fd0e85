/*!
Running a session's turns in the daemon: opening a session (new, isolated in a worktree, or
continued from its transcript), and each turn in the background under the daemon's two limits:
one session at a time edits a directory, and at most `--max-running` turns run at once. The
others wait, queued. An isolated session's change is saved as a patch after every turn, where
`agent apply ID` finds it.
*/

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use tokio::sync::OwnedMutexGuard;

use super::daemon::{Daemon, Open};
use super::hub::Hub;
use super::store::{Isolated, SessionRow, Work};
use crate::protocol::event::{Event, EventSink, NoticeSubject};
use crate::protocol::state::SessionState;
use crate::session::{Begin, Ended, Ending, Held, ModelSource, Opening, Place, Session};
use crate::sync::lock;

/// How a session is opened.
pub enum OpenAs<'a> {
    New {
        model: Option<String>,
    },
    /// One the daemon had before a restart: continued from its transcript, or begun under its
    /// id when its task never ran.
    Reopen {
        id: &'a str,
        transcript: &'a Path,
    },
}

/// Opens a session working in `workspace` (or in its worktree, when isolated), with the daemon
/// as its front end.
pub async fn open_session(
    daemon: &Daemon,
    workspace: &Path,
    start: OpenAs<'_>,
    isolated: Option<Isolated>,
) -> Result<Open> {
    let front = daemon.front();
    let mut choice = daemon.model.clone();
    let begin = match start {
        OpenAs::New { model } => {
            choice.model = model.or(choice.model);
            Begin::New
        }
        OpenAs::Reopen { id, transcript } if transcript.exists() => Begin::Resume(id.to_string()),
        OpenAs::Reopen { id, .. } => Begin::NewWithId(id.to_string()),
    };
    let place = match &isolated {
        Some(isolated) => Place::Isolated {
            real: workspace.to_path_buf(),
            tree: PathBuf::from(&isolated.dir),
        },
        None => Place::Workspace(workspace.to_path_buf()),
    };
    let mut opening = Opening::new(&front, place, ModelSource::Choice(choice));
    opening.begin = begin;
    let session = Session::open(opening).await?;
    let hub = daemon.hub(&session.id, session.transcript_path()).await;
    hub.set_redactor(session.redactor());
    Ok(Open {
        workdir: session.workspace.clone(),
        held: Held::new(session),
        finished: Arc::default(),
        hub,
        isolated,
    })
}

/// The session `id` held open, opened from its transcript when a restart closed it.
pub async fn reopened(daemon: &Daemon, row: &SessionRow) -> anyhow::Result<Open> {
    if let Some(open) = lock(&daemon.open).get(&row.id).cloned() {
        return Ok(open);
    }
    let isolated = daemon.store.isolation(&row.id).await?;
    let start = OpenAs::Reopen {
        id: &row.id,
        transcript: std::path::Path::new(&row.transcript),
    };
    let workspace = std::path::Path::new(&row.workspace);
    let open = open_session(daemon, workspace, start, isolated).await?;
    // A task that never ran begins its transcript now, on the day it runs.
    let transcript = open
        .held
        .session
        .lock()
        .await
        .transcript_path()
        .display()
        .to_string();
    if transcript != row.transcript {
        let id = row.id.clone();
        daemon
            .store
            .call(move |store| store.set_transcript(&id, &transcript))
            .await?;
    }
    // Two requests may have opened it at once: the first one kept is the one used.
    let kept = lock(&daemon.open)
        .entry(row.id.clone())
        .or_insert(open)
        .clone();
    Ok(kept)
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
        crate::isolate::Isolation::of_current_state(real.root(), &into)
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
    tokio::task::spawn_blocking(move || isolated.reopen().patch())
        .await
        .context("reading the worktree stopped")?
}

/// The session, unless a turn runs: a turn that has sent `finished` lets go of it a moment
/// later, so a client answering `finished` at once is not told the session is busy.
async fn idle_session(open: &Open) -> Option<OwnedMutexGuard<Session>> {
    if let Ok(session) = Arc::clone(&open.held.session).try_lock_owned() {
        return Some(session);
    }
    match open.finished.load(Ordering::SeqCst) {
        true => Some(Arc::clone(&open.held.session).lock_owned().await),
        false => None,
    }
}

/// Whether work was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// Queued in the database, and it runs in the background.
    Running,
    /// A turn of the session runs: nothing was taken.
    Busy,
}

/// Runs `work` in the background, once the database holds it (so a restart runs it if this
/// daemon does not); an error when the database cannot take it, and then nothing runs.
pub async fn start(daemon: &Arc<Daemon>, id: &str, open: &Open, work: Work) -> Result<Started> {
    let Some(mut session) = idle_session(open).await else {
        return Ok(Started::Busy);
    };
    if let Work::Prompt(_) = work {
        // Questions a stopped turn left open are moot once the person says something new.
        daemon.store.expire_approvals(id).await?;
    }
    let (queued_id, queued) = (id.to_string(), work.clone());
    daemon
        .store
        .saved(move |store| store.queue(&queued_id, &queued))
        .await?;
    daemon.changes.touched(id);
    open.finished.store(false, Ordering::SeqCst);
    let directory = daemon.directory(&open.workdir);
    let hub = open.hub.clone();
    let sink = Box::new(Watched {
        hub: open.hub.sink(),
        finished: Arc::clone(&open.finished),
    });
    let (daemon, id) = (Arc::clone(daemon), id.to_string());
    let isolated = open.isolated.clone();
    tokio::spawn(async move {
        // One session edits a directory at a time; then at most --max-running turns at once.
        let _directory = directory.lock_owned().await;
        let Ok(_slot) = Arc::clone(&daemon.running).acquire_owned().await else {
            return;
        };
        let begun = id.clone();
        if let Err(error) = daemon.store.saved(move |store| store.begin(&begun)).await {
            // Still queued in the database: a restart runs it, so running it now could run it
            // twice.
            unsaved(&hub, &id, "the start of its work", &error);
            return;
        }
        daemon.changes.touched(&id);
        let ended = match work {
            Work::Prompt(text) => session.prompt(text, sink).await,
            Work::OpenCalls => session.continue_open_calls(sink).await,
        }
        .and_then(Ended::ending);
        let state = match ended {
            // Cut short by the daemon stopping: a message continues it after the restart.
            Ok(Ending::Cancelled) if daemon.stopping.is_cancelled() => SessionState::Interrupted,
            Ok(Ending::EndTurn | Ending::TurnLimit | Ending::Cancelled) => SessionState::Idle,
            Err(_) => SessionState::Failed,
        };
        // Let go of the session before it is said to be idle: a client told so may forget it.
        let transcript = session.transcript_path().to_path_buf();
        drop(session);
        if let Some(isolated) = isolated {
            save_patch(isolated, &transcript).await;
        }
        if let Err(error) = daemon.store.set_state(&id, state).await {
            unsaved(&hub, &id, &format!("its state ({})", state.name()), &error);
        }
        daemon.changes.touched(&id);
    });
    Ok(Started::Running)
}

/// A database write about session `id` given up on: said in the daemon's log and to the
/// session's clients, as a notice in its events.
fn unsaved(hub: &Hub, id: &str, what: &str, error: &anyhow::Error) {
    let message = format!("the daemon could not record {what}: {error:#}");
    eprintln!("agent serve: session {id}: {message}");
    if let Err(error) = hub.tell(&Event::Notice {
        about: NoticeSubject::Daemon,
        message,
    }) {
        eprintln!("agent serve: session {id}: cannot tell its clients either: {error:#}");
    }
}

/// Passes a turn's events on to its hub, noting when the turn has sent `finished`.
struct Watched {
    hub: Box<dyn EventSink>,
    finished: Arc<AtomicBool>,
}

impl EventSink for Watched {
    fn emit(&mut self, event: &Event) {
        self.hub.emit(event);
        if let Event::Finished { .. } = event {
            self.finished.store(true, Ordering::SeqCst);
        }
    }
}

/// Runs the work accepted before the daemon stopped and not begun then.
pub async fn run_queued(daemon: &Arc<Daemon>) -> Result<usize> {
    let queued = daemon.store.call(|store| store.queued()).await?;
    let count = queued.len();
    for (row, work) in queued {
        let started = match reopened(daemon, &row).await {
            Ok(open) => start(daemon, &row.id, &open, work).await,
            Err(error) => Err(error.context("it cannot be reopened")),
        };
        let problem = match started {
            Ok(Started::Running) => continue,
            Ok(Started::Busy) => anyhow::anyhow!("a turn already runs"),
            Err(error) => error,
        };
        eprintln!(
            "agent serve: session {}: its queued work does not run: {problem:#}",
            row.id
        );
        let saved = daemon.store.set_state(&row.id, SessionState::Failed).await;
        if let Err(error) = saved {
            eprintln!(
                "agent serve: session {}: not marked failed: {error:#}",
                row.id
            );
        }
        daemon.changes.touched(&row.id);
    }
    Ok(count)
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
