/*!
Reading what the command line names: the workspace directory, and arguments given as `-`, read
from stdin.
*/

use std::io::Read;
use std::path::Path;

use agent_tools::Workspace;
use anyhow::{Context, Result};

/// All of stdin, for arguments given as `-`; `what` names it in the error.
pub fn read_stdin(what: &str) -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {what} from stdin"))?;
    Ok(text)
}

/// The workspace `-C` names, or the current directory.
pub fn open_workspace(dir: Option<&Path>) -> Result<Workspace> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Workspace::new(&dir).with_context(|| format!("workspace {}", dir.display()))
}
