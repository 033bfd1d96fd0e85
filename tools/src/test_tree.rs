/*! Unit-test support: a workspace in a temp directory holding the given files. */
#![allow(clippy::unwrap_used)]

use crate::Workspace;

/// A temp directory with `files` (paths relative to it, directories made), as a workspace. Keep
/// the directory alive as long as the workspace is used.
pub fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let workspace = Workspace::new(dir.path()).unwrap();
    (dir, workspace)
}
