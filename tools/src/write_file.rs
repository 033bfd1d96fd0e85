/*! `write_file`: create a file or replace its content, prepared as an edit for review. */

use schemars::JsonSchema;
use serde::Deserialize;

use crate::{ChangeKind, ExecutableBit, FileChange, PreparedEdit, Workspace};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFileArgs {
    /// Path of the file, relative to the workspace root; missing directories are created.
    pub path: String,
    /// The complete new content of the file.
    pub content: String,
}

/// Plans the write without touching the disk.
pub fn prepare(workspace: &Workspace, args: &WriteFileArgs) -> Result<PreparedEdit, String> {
    let absolute = workspace
        .resolve(&args.path)
        .map_err(|error| error.to_string())?;
    if absolute.is_dir() {
        return Err(format!("`{}` is a directory", args.path));
    }
    let read = match workspace.buffered(&absolute) {
        Some(text) => Ok(text.into_bytes()),
        None => std::fs::read(&absolute),
    };
    let old = match read {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
            format!(
                "`{}` is not UTF-8 text; refusing to overwrite it",
                args.path
            )
        })?),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(format!("cannot read `{}`: {error}", args.path)),
    };
    let kind = if old.is_some() {
        ChangeKind::Modify
    } else {
        ChangeKind::Create
    };
    Ok(PreparedEdit {
        changes: vec![FileChange {
            path: workspace.relative(&absolute),
            absolute,
            kind,
            old,
            new: Some(args.content.clone()),
            old_stamp: None,
            executable: ExecutableBit::Keep,
        }],
    })
}
