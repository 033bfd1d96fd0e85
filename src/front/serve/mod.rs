/*!
`agent serve`: sessions for other programs over HTTP + SSE (a script, a bot, a phone). Every route
but `/health` needs the bearer token; requests from a web page of another origin are refused.
Sessions are the same long-lived sessions editors drive ([`crate::session`]); their events are the
objects `agent run --json` prints, numbered by their line in the session's transcript.
*/

mod api;
mod approvals;
mod auth;
mod changes;
mod daemon;
mod db;
mod forget;
mod front;
mod hub;
mod login_codes;
mod page;
mod routes;
mod store;
mod turns;

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

use crate::cli::ServeArgs;
use crate::protocol::state::SessionState;
use crate::sync::lock;
use daemon::{Daemon, Open};
use store::Store;

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
        store: db::Db::new(store),
        waiters: Arc::default(),
        open: Mutex::default(),
        hubs: Mutex::default(),
        stopping: tokio_util::sync::CancellationToken::new(),
        token,
        origins: auth::own_origins(address),
        login_codes: login_codes::LoginCodes::default(),
        model: args.model.choice(),
        running: Arc::new(tokio::sync::Semaphore::new(usize::from(args.max_running))),
        directories: Mutex::default(),
        data_dir,
        changes: hub::Changes::default(),
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
        if open.held.session.try_lock().is_ok() {
            open.held.session.lock().await.close().await;
            continue;
        }
        // A failed write is made good at the next start, which interrupts every running session.
        let saved = daemon.store.set_state(&id, SessionState::Interrupted).await;
        if let Err(error) = saved {
            eprintln!("agent serve: session {id}: not marked interrupted: {error:#}");
        }
        let waiting = lock(&daemon.waiters)
            .keys()
            .any(|(session, _)| *session == id);
        if !waiting {
            open.held.stop();
            finishing.push(open);
        }
    }
    let finished = futures_util::future::join_all(
        finishing
            .iter()
            .map(|open| async { open.held.session.lock().await.close().await }),
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
