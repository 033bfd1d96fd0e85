/*!
What to tell a model that named a path that does not exist. Small models guess paths (`main.py`
for `util/lists.py`, or the workspace's own name for its root), and "does not exist" alone leads
them to wrong conclusions ("the setting is missing, I need to add it"). The answer names the files
of that name elsewhere in the workspace, or else what the nearest existing folder holds.
*/

use std::path::Path;

use crate::Workspace;

const MAX_SAME_NAME: usize = 5;
const MAX_LISTED: usize = 20;
/// The search for files of the same name stops here: an answer must stay cheap in a huge tree.
const MAX_WALKED: usize = 20_000;

/// "`shown` does not exist", and where to look instead. `absolute` is `shown` resolved.
pub fn missing_path(workspace: &Workspace, shown: &str, absolute: &Path) -> String {
    let same_name = same_name(workspace, absolute);
    let hint = match same_name.is_empty() {
        false => format!("by that name there is {}", same_name.join(", ")),
        true => nearest_folder(workspace, absolute),
    };
    format!("`{shown}` does not exist; {hint} (paths are relative to the workspace root)")
}

/// The files and folders named as `absolute` is, anywhere in the workspace the tools see.
fn same_name(workspace: &Workspace, absolute: &Path) -> Vec<String> {
    let Some(name) = absolute.file_name() else {
        return Vec::new();
    };
    Workspace::walker(workspace.root())
        .build()
        .flatten()
        .take(MAX_WALKED)
        .filter(|entry| entry.depth() > 0 && entry.file_name() == name)
        .take(MAX_SAME_NAME)
        .map(|entry| workspace.listed(entry.path(), entry.file_type()))
        .collect()
}

/// What the nearest existing folder above `absolute` holds.
fn nearest_folder(workspace: &Workspace, absolute: &Path) -> String {
    let root = workspace.root();
    let folder = absolute
        .ancestors()
        .skip(1)
        .find(|folder| folder.is_dir() && folder.starts_with(root))
        .unwrap_or(root);
    let mut entries: Vec<String> = match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .flatten()
            .filter(|entry| entry.file_name() != ".git")
            .map(|entry| workspace.listed(&entry.path(), entry.file_type().ok()))
            .collect(),
        Err(_) => Vec::new(),
    };
    entries.sort();
    let more = entries.len().saturating_sub(MAX_LISTED);
    entries.truncate(MAX_LISTED);
    let mut listed = entries.join(", ");
    if more > 0 {
        listed.push_str(&format!(" and {more} more"));
    }
    let folder = match workspace.relative(folder) {
        relative if relative.is_empty() => ".".to_string(),
        relative => relative,
    };
    match listed.is_empty() {
        true => format!("`{folder}` is empty"),
        false => format!("`{folder}` holds {listed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("util")).unwrap();
        std::fs::write(dir.path().join("util/lists.py"), "").unwrap();
        std::fs::write(dir.path().join("test_lists.py"), "").unwrap();
        let workspace = Workspace::new(dir.path()).unwrap();
        (dir, workspace)
    }

    fn missing(workspace: &Workspace, shown: &str) -> String {
        missing_path(workspace, shown, &workspace.resolve(shown).unwrap())
    }

    #[test]
    fn a_file_of_that_name_elsewhere_is_named() {
        let (_dir, workspace) = workspace();
        assert_eq!(
            missing(&workspace, "lists.py"),
            "`lists.py` does not exist; by that name there is util/lists.py (paths are relative to the workspace root)"
        );
    }

    #[test]
    fn otherwise_the_nearest_folder_is_listed() {
        let (_dir, workspace) = workspace();
        assert_eq!(
            missing(&workspace, "util/deep/main.py"),
            "`util/deep/main.py` does not exist; `util` holds util/lists.py (paths are relative to the workspace root)"
        );
        assert_eq!(
            missing(&workspace, "port"),
            "`port` does not exist; `.` holds test_lists.py, util/ (paths are relative to the workspace root)"
        );
    }
}
