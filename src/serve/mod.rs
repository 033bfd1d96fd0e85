/*!
`agent serve`: sessions for other programs over HTTP + SSE (a script, a bot, a phone). Every route
but `/health` needs the bearer token; requests from a web page of another origin are refused.
Sessions are the same long-lived sessions editors drive ([`crate::session`]); their events are the
objects `agent run --json` prints, numbered by their line in the session's transcript.
*/

mod api;
mod approvals;
mod auth;
mod forget;
mod front;
mod hub;
mod page;
mod routes;
mod store;
mod turns;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

use crate::cli::ServeArgs;
use crate::protocol::state::SessionState;
use crate::session::Session;
use crate::sync::lock;
use front::{HttpFront, Waiters};
use hub::Hub;
use store::Store;

/// A session the daemon holds open.
#[derive(Clone)]
struct Open {
    session: Arc<tokio::sync::Mutex<Session>>,
    stop: crate::session::Stop,
    hard_stop: crate::session::Stop,
    hub: Hub,
    /// Whether its last turn has sent `finished` (it lets go of the session just after).
    finished: Arc<std::sync::atomic::AtomicBool>,
    /// The directory its edits and commands change.
    workdir: PathBuf,
    /// Its worktree, when it is isolated.
    isolated: Option<store::Isolated>,
}

pub struct Daemon {
    store: Arc<Mutex<Store>>,
    waiters: Waiters,
    open: Mutex<HashMap<String, Open>>,
    /// Each session's events hub, kept for as long as the daemon runs: a client following a
    /// session keeps following it when it is opened again.
    hubs: Mutex<HashMap<String, Hub>>,
    token: String,
    /// Fired by SIGTERM or Ctrl-C: event streams end, so the server can stop.
    stopping: tokio_util::sync::CancellationToken,
    /// The daemon's own origins: the only ones a browser may call it from (its address first).
    origins: Vec<String>,
    login_codes: auth::LoginCodes,
    model: crate::config::ModelChoice,
    /// Turns that may run at once (`--max-running`).
    running: Arc<tokio::sync::Semaphore>,
    /// One lock per directory sessions work in: one turn at a time edits a directory.
    directories: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    data_dir: PathBuf,
}

/// How long running tools may take to finish when the daemon is told to stop.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| crate::config::data_home().join("agent/serve"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let _only_daemon = lock_data_dir(&data_dir)?;
    let token = auth::token(&data_dir, &args.listen)?;
    let store = Store::open(&data_dir.join("agent.db"))?;
    let interrupted = store.interrupt_running()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let daemon = Arc::new(Daemon {
        store: Arc::new(Mutex::new(store)),
        waiters: Arc::default(),
        open: Mutex::default(),
        hubs: Mutex::default(),
        stopping: tokio_util::sync::CancellationToken::new(),
        token,
        origins: auth::own_origins(address),
        login_codes: auth::LoginCodes::default(),
        model: args.model.choice(),
        running: Arc::new(tokio::sync::Semaphore::new(usize::from(args.max_running))),
        directories: Mutex::default(),
        data_dir,
    });
    println!(
        "agent serve: review page (sign-in link, good once): {}",
        auth::login_url(&daemon)
    );
    println!("agent serve: listening on http://{address}");
    if interrupted > 0 {
        println!(
            "{interrupted} sessions were interrupted by the last stop; a message continues them"
        );
    }
    let queued = turns::run_queued(&daemon).await?;
    if queued > 0 {
        println!("{queued} sessions had work queued at the last stop: it runs now");
    }
    let app = routes::router(Arc::clone(&daemon)).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&daemon),
        auth::guard,
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal(daemon.stopping.clone()))
        .await?;
    stop_sessions(&daemon).await;
    Ok(ExitCode::SUCCESS)
}

/// Stopping: sessions with a running turn are interrupted. A turn waiting for approval is left
/// as it stands, its question open (as after `kill -9`: answering it after the restart continues
/// the turn); the others stop after their running tool, given [`STOP_GRACE`] to finish.
async fn stop_sessions(daemon: &Daemon) {
    let open: Vec<(String, Open)> = lock(&daemon.open).drain().collect();
    let mut finishing = Vec::new();
    for (id, open) in open {
        if open.session.try_lock().is_ok() {
            open.session.lock().await.close().await;
            continue;
        }
        let _ = lock(&daemon.store).set_state(&id, SessionState::Interrupted);
        let waiting = lock(&daemon.waiters)
            .keys()
            .any(|(session, _)| *session == id);
        if !waiting {
            lock(&open.stop).cancel();
            finishing.push(open);
        }
    }
    let finished = futures_util::future::join_all(
        finishing
            .iter()
            .map(|open| async { open.session.lock().await.close().await }),
    );
    let _ = tokio::time::timeout(STOP_GRACE, finished).await;
}

/// Holds the data dir's lock file: one daemon at a time writes its database and sessions.
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File> {
    let path = data_dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another agent serve uses {} (stop it, or give this one another --data-dir)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

async fn shutdown_signal(stopping: tokio_util::sync::CancellationToken) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    stopping.cancel();
}

impl Daemon {
    /// The hub of session `id`, made on first use.
    fn hub(&self, id: &str, transcript: &Path) -> Hub {
        lock(&self.hubs)
            .entry(id.to_string())
            .or_insert_with(|| {
                Hub::new(transcript.to_path_buf(), crate::records::Redactor::new(""))
            })
            .clone()
    }

    /// The daemon's own origin, its address.
    fn origin(&self) -> &str {
        self.origins.first().map_or("", String::as_str)
    }

    /// The lock of the directory a session works in.
    fn directory(&self, workdir: &Path) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            lock(&self.directories)
                .entry(workdir.to_path_buf())
                .or_default(),
        )
    }

    fn front(&self) -> HttpFront {
        HttpFront {
            store: Arc::clone(&self.store),
            waiters: Arc::clone(&self.waiters),
        }
    }
}
