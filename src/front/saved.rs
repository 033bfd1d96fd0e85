/*! `agent undo`, `agent diff`, `agent apply` and `agent discard`: acting on what sessions changed. */

use std::process::ExitCode;

use std::path::{Path, PathBuf};

use agent_tools::Workspace;
use anyhow::{Context, Result};

use crate::cli::open_workspace;
use crate::cli::{HistoryArgs, PatchArgs, SessionsArgs};
use crate::config::{FileConfig, sessions_dir};
use crate::front::terminal::{interaction, report_offered};
use crate::isolate::{Offered, offer};
use crate::protocol::exit::Exit;
use crate::records::{self, UndoScope, journal_path};

pub fn undo(args: HistoryArgs) -> Result<ExitCode> {
    let workspace = open_workspace(args.workspace.as_deref())?;
    let dir = sessions_dir(
        args.sessions_dir.as_deref(),
        &FileConfig::load(workspace.root())?,
    );
    let scope = if args.session.is_some() {
        UndoScope::WholeSession
    } else {
        UndoScope::LastTurn
    };
    println!(
        "{}",
        records::undo(&dir, &workspace, args.session.as_deref(), scope)?
    );
    Ok(ExitCode::SUCCESS)
}

pub fn diff(args: HistoryArgs) -> Result<ExitCode> {
    let workspace = open_workspace(args.workspace.as_deref())?;
    let dir = sessions_dir(
        args.sessions_dir.as_deref(),
        &FileConfig::load(workspace.root())?,
    );
    print!(
        "{}",
        records::diff(&dir, &workspace, args.session.as_deref())?
    );
    Ok(ExitCode::SUCCESS)
}

/// `agent sessions`: one line per session, newest first.
pub fn list_sessions(args: SessionsArgs) -> Result<ExitCode> {
    let workspace = open_workspace(args.workspace.as_deref())?;
    let dir = sessions_dir(
        args.sessions_dir.as_deref(),
        &FileConfig::load(workspace.root())?,
    );
    let only_in = (!args.all).then(|| workspace.root());
    for found in records::sessions(&dir, only_in) {
        let task = found.task.lines().next().unwrap_or_default();
        let clipped: String = task.chars().take(72).collect();
        let ellipsis = if clipped.len() < found.task.len() {
            "…"
        } else {
            ""
        };
        let runs = match found.runs {
            1 => "1 run ".to_string(),
            runs => format!("{runs} runs"),
        };
        let place = if args.all {
            format!("  {}", found.workspace)
        } else {
            String::new()
        };
        println!(
            "{}  {:<14}{runs}  {clipped}{ellipsis}{place}",
            found.id, found.outcome
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `agent apply SESSION`: review the saved change of an isolated session and apply it.
pub async fn apply(args: PatchArgs) -> Result<ExitCode> {
    let (workspace, _, patch_path) = locate_patch(&args)?;
    let patch = std::fs::read_to_string(&patch_path)
        .with_context(|| format!("cannot read {}", patch_path.display()))?;
    let journal = journal_path(&patch_path);
    let offered = offer(
        &workspace,
        &patch,
        &journal,
        args.workspace.approval_flag(),
        interaction(),
    )
    .await?;
    report_offered(workspace.root(), &offered);
    match offered {
        Offered::Applied { .. } => {
            std::fs::rename(&patch_path, patch_path.with_extension("patch.applied"))?;
            Ok(ExitCode::SUCCESS)
        }
        Offered::NotApplied | Offered::Quit => {
            eprintln!("not applied; the change stays in {}", patch_path.display());
            Ok(ExitCode::from(Exit::Denied))
        }
    }
}

/// `agent discard SESSION`: delete the saved change.
pub fn discard(args: PatchArgs) -> Result<ExitCode> {
    let (_, _, patch_path) = locate_patch(&args)?;
    std::fs::remove_file(&patch_path)
        .with_context(|| format!("cannot remove {}", patch_path.display()))?;
    println!("discarded the change of {}", args.session);
    Ok(ExitCode::SUCCESS)
}

/// The workspace, its settings and the saved patch of `args.session`.
fn locate_patch(args: &PatchArgs) -> Result<(Workspace, FileConfig, PathBuf)> {
    let workspace = open_workspace(args.workspace.workspace.as_deref())?;
    let config = FileConfig::load(workspace.root())?;
    let patch_path = saved_patch(
        &sessions_dir(args.sessions_dir.as_deref(), &config),
        &args.session,
    )?;
    Ok((workspace, config, patch_path))
}

fn saved_patch(sessions_dir: &Path, session: &str) -> Result<PathBuf> {
    let name = format!("{session}.patch");
    std::fs::read_dir(sessions_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|day| day.path().join(&name))
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "no saved change for session `{session}` in {} (already applied or discarded?)",
                sessions_dir.display()
            )
        })
}
