/*! `agent undo` and `agent diff`: the front doors of the edit journal. */

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::HistoryArgs;
use crate::config::{FileConfig, sessions_dir};
use crate::run::open_workspace;
use crate::session::{self, UndoScope};

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
        session::undo(&dir, &workspace, args.session.as_deref(), scope)?
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
        session::diff(&dir, &workspace, args.session.as_deref())?
    );
    Ok(ExitCode::SUCCESS)
}
