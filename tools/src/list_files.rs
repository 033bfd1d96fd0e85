/*! `list_files`: the files under a directory, honouring .gitignore, as sorted relative paths. */

use schemars::JsonSchema;
use serde::Deserialize;

use crate::missing::missing_path;
use crate::{ToolOutput, Workspace};

const DEFAULT_DEPTH: usize = 3;
const MAX_ENTRIES: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFilesArgs {
    /// Directory to list, relative to the workspace root (default: the root).
    pub path: Option<String>,
    /// How many directory levels to descend (default 3).
    #[schemars(range(min = 1))]
    pub max_depth: Option<u32>,
}

pub fn run(workspace: &Workspace, args: &ListFilesArgs) -> ToolOutput {
    let shown = args.path.as_deref().unwrap_or(".");
    let dir = match workspace.resolve(shown) {
        Ok(dir) => dir,
        Err(error) => return ToolOutput::error(error.to_string()),
    };
    if !dir.exists() {
        return ToolOutput::error(missing_path(workspace, shown, &dir));
    }
    if !dir.is_dir() {
        return ToolOutput::error(format!("`{shown}` is not a directory"));
    }
    let depth = args
        .max_depth
        .map_or(DEFAULT_DEPTH, |depth| depth.max(1) as usize);
    let mut entries = Vec::new();
    let walker = Workspace::walker(&dir)
        .max_depth(Some(depth))
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walker.flatten().skip(1) {
        entries.push(workspace.listed(entry.path(), entry.file_type()));
    }
    if entries.is_empty() {
        return ToolOutput::success(format!("`{shown}` is empty"));
    }
    let total = entries.len();
    entries.truncate(MAX_ENTRIES);
    let mut out = entries.join("\n");
    if total > MAX_ENTRIES {
        out.push_str(&format!(
            "\n({total} entries, first {MAX_ENTRIES} shown; list a subdirectory or lower max_depth)"
        ));
    }
    ToolOutput::success(out)
}
