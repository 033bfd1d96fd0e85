/*!
The one place that turns a model-given path into a real path inside the workspace, or refuses it.

Every tool resolves paths here. `..` that climbs out, absolute paths outside the root, and symlinks
whose target lies outside the root are all refused, including for files that do not exist yet (the
nearest existing ancestor is resolved instead).
*/

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("path `{0}` is empty")]
    Empty(String),
    #[error(
        "path `{path}` is outside the workspace {root}; use a path relative to the workspace root"
    )]
    Outside { path: String, root: String },
    #[error("path `{path}` leads outside the workspace through the symlink `{link}`")]
    SymlinkEscape { path: String, link: String },
    #[error("cannot resolve `{path}`: {message}")]
    Io { path: String, message: String },
}

/// The directory the agent works in; the root is canonical (symlinks resolved).
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    scrubbed_env: Vec<String>,
    sandbox: crate::sandbox::Sandbox,
    /// Texts an editor holds for files (its buffers, saved or not), read before the disk.
    buffers: Option<Buffers>,
}

/// File texts by absolute path, shared with whoever fills them (an editor front end).
pub type Buffers = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, String>>>;

impl Workspace {
    /// Opens a workspace at `root`, which must be an existing directory.
    pub fn new(root: &Path) -> std::io::Result<Self> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(Self {
            root,
            scrubbed_env: Vec::new(),
            sandbox: crate::sandbox::Sandbox::off(),
            buffers: None,
        })
    }

    /// Names environment variables that commands run in this workspace must not see (API keys).
    pub fn with_scrubbed_env(mut self, names: Vec<String>) -> Self {
        self.scrubbed_env = names;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn scrubbed_env(&self) -> &[String] {
        &self.scrubbed_env
    }

    /// The same workspace, its commands run in `sandbox`.
    pub fn with_sandbox(mut self, sandbox: crate::sandbox::Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// The same workspace, reading files from `buffers` where they hold them.
    pub fn with_buffers(mut self, buffers: Buffers) -> Self {
        self.buffers = Some(buffers);
        self
    }

    /// The editor's text of the file at `absolute`, if it holds one.
    pub fn buffered(&self, absolute: &Path) -> Option<String> {
        let buffers = self.buffers.as_ref()?;
        buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(absolute)
            .cloned()
    }

    /// The sandbox commands run in.
    pub fn sandbox(&self) -> &crate::sandbox::Sandbox {
        &self.sandbox
    }

    /// Resolves `path` (relative to the root, or absolute inside it) to an absolute path inside
    /// the workspace. The path need not exist.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, PathError> {
        self.resolver().resolve(path)
    }

    /// A resolver for many paths at once (a diff's files): each directory on the way is checked
    /// once rather than once per path.
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver {
            workspace: self,
            checked_directories: HashSet::new(),
        }
    }

    /// A walk of `dir` as every tool sees the tree: hidden files included, `.git` left out,
    /// `.gitignore` honoured (in a git repository).
    pub(crate) fn walker(dir: &Path) -> ignore::WalkBuilder {
        let mut walker = ignore::WalkBuilder::new(dir);
        walker
            .hidden(false)
            .filter_entry(|entry| entry.file_name() != ".git");
        walker
    }

    /// A path as a listing shows it to the model: relative, a folder with a trailing `/`.
    pub(crate) fn listed(&self, path: &Path, kind: Option<std::fs::FileType>) -> String {
        let relative = self.relative(path);
        match kind.is_some_and(|kind| kind.is_dir()) {
            true => format!("{relative}/"),
            false => relative,
        }
    }

    /// The path relative to the root, with `/` separators, for messages and diffs.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    fn outside(&self, original: &str) -> PathError {
        PathError::Outside {
            path: original.to_string(),
            root: self.root.display().to_string(),
        }
    }
}

/// Resolves paths inside one workspace, remembering the directories it has already found to be
/// safe (real directories, or symlinks into the workspace). Meant for one operation: a directory
/// replaced by an escaping symlink after it was checked is not seen again.
pub struct Resolver<'w> {
    workspace: &'w Workspace,
    checked_directories: HashSet<PathBuf>,
}

impl Resolver<'_> {
    /// As [`Workspace::resolve`].
    pub fn resolve(&mut self, path: &str) -> Result<PathBuf, PathError> {
        let trimmed = path.trim();
        if trimmed.is_empty() {
            return Err(PathError::Empty(path.to_string()));
        }
        let given = Path::new(trimmed);
        let root = &self.workspace.root;
        let joined = if given.is_absolute() {
            given.to_path_buf()
        } else {
            root.join(without_own_name(given, root))
        };
        let normalized = self.normalize(&joined, path)?;
        self.check_symlinks(&normalized, path)?;
        Ok(normalized)
    }

    /// Removes `.` and `..` lexically; refuses anything that ends up outside the root.
    fn normalize(&self, joined: &Path, original: &str) -> Result<PathBuf, PathError> {
        let mut out = PathBuf::new();
        for component in joined.components() {
            match component {
                Component::ParentDir => {
                    if !out.pop() {
                        return Err(self.workspace.outside(original));
                    }
                }
                Component::CurDir => {}
                Component::Prefix(_) | Component::RootDir | Component::Normal(_) => {
                    out.push(component.as_os_str())
                }
            }
        }
        if out.starts_with(&self.workspace.root) {
            Ok(out)
        } else {
            Err(self.workspace.outside(original))
        }
    }

    /// Walks from the root down to `path`, resolving each existing component, so that a symlink
    /// anywhere on the way that points outside the workspace is caught.
    fn check_symlinks(&mut self, path: &Path, original: &str) -> Result<(), PathError> {
        let workspace = self.workspace;
        let Ok(rest) = path.strip_prefix(&workspace.root) else {
            return Err(workspace.outside(original));
        };
        let mut current = workspace.root.clone();
        let mut components = rest.components().peekable();
        while let Some(component) = components.next() {
            current.push(component);
            let is_directory_on_the_way = components.peek().is_some();
            if is_directory_on_the_way && self.checked_directories.contains(&current) {
                continue;
            }
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = current.canonicalize().map_err(|error| PathError::Io {
                        path: original.to_string(),
                        message: format!(
                            "broken symlink {}: {error}",
                            workspace.relative(&current)
                        ),
                    })?;
                    if !target.starts_with(&workspace.root) {
                        return Err(PathError::SymlinkEscape {
                            path: original.to_string(),
                            link: workspace.relative(&current),
                        });
                    }
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => {
                    return Err(PathError::Io {
                        path: original.to_string(),
                        message: error.to_string(),
                    });
                }
            }
            if is_directory_on_the_way {
                self.checked_directories.insert(current.clone());
            }
        }
        Ok(())
    }
}

/// A relative path that begins with the workspace's own directory name (`repo/src/lib.rs` in
/// `…/repo`) when the workspace holds nothing of that name, without it: models copy the name
/// from the workspace path they are shown (a small one created `median.worktree/stats.py` beside
/// the `stats.py` it meant to fix).
fn without_own_name<'p>(given: &'p Path, root: &Path) -> &'p Path {
    let mut components = given.components();
    match (components.next(), root.file_name()) {
        (Some(Component::Normal(first)), Some(name))
            if first == name
                && !components.as_path().as_os_str().is_empty()
                && std::fs::symlink_metadata(root.join(first)).is_err() =>
        {
            components.as_path()
        }
        _ => given,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn main() {}\n").unwrap();
        let ws = Workspace::new(dir.path()).unwrap();
        (dir, ws)
    }

    #[test]
    fn a_path_that_begins_with_the_workspaces_own_name_means_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        let workspace = Workspace::new(&root).unwrap();
        let root = workspace.root().to_path_buf();
        assert_eq!(
            workspace.resolve("repo/src/lib.rs").unwrap(),
            root.join("src/lib.rs")
        );
        assert_eq!(workspace.resolve("repo").unwrap(), root.join("repo"));
        // A workspace that has such a directory means it.
        std::fs::create_dir_all(root.join("repo")).unwrap();
        assert_eq!(
            workspace.resolve("repo/src/lib.rs").unwrap(),
            root.join("repo/src/lib.rs")
        );
    }

    #[test]
    fn relative_paths_resolve_inside() {
        let (_dir, ws) = workspace();
        assert_eq!(
            ws.resolve("src/lib.rs").unwrap(),
            ws.root().join("src/lib.rs")
        );
        assert_eq!(
            ws.resolve("./src/../src/new.rs").unwrap(),
            ws.root().join("src/new.rs")
        );
        assert_eq!(ws.resolve(".").unwrap(), ws.root().to_path_buf());
    }

    #[test]
    fn parent_escape_is_refused() {
        let (_dir, ws) = workspace();
        assert!(matches!(
            ws.resolve("../etc/passwd"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            ws.resolve("src/../../x"),
            Err(PathError::Outside { .. })
        ));
    }

    #[test]
    fn absolute_paths_outside_are_refused_inside_accepted() {
        let (_dir, ws) = workspace();
        assert!(matches!(
            ws.resolve("/etc/passwd"),
            Err(PathError::Outside { .. })
        ));
        let inside = ws.root().join("src/lib.rs");
        assert_eq!(ws.resolve(&inside.display().to_string()).unwrap(), inside);
    }

    #[test]
    fn a_resolver_still_checks_each_new_path() {
        let (_dir, ws) = workspace();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.root().join("src/link")).unwrap();
        let mut resolver = ws.resolver();
        assert_eq!(
            resolver.resolve("src/lib.rs").unwrap(),
            ws.root().join("src/lib.rs")
        );
        // `src` is known by now; `src/link` below it is not, and escapes.
        assert_eq!(
            resolver.resolve("src/link/x.rs"),
            Err(PathError::SymlinkEscape {
                path: "src/link/x.rs".into(),
                link: "src/link".into()
            })
        );
        assert_eq!(
            resolver.resolve("src/../../x"),
            Err(PathError::Outside {
                path: "src/../../x".into(),
                root: ws.root().display().to_string()
            })
        );
    }

    #[test]
    fn symlink_out_of_the_workspace_is_refused() {
        let (_dir, ws) = workspace();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.root().join("link")).unwrap();
        assert_eq!(
            ws.resolve("link/secret.txt"),
            Err(PathError::SymlinkEscape {
                path: "link/secret.txt".into(),
                link: "link".into()
            })
        );
        std::os::unix::fs::symlink(ws.root().join("src"), ws.root().join("inner")).unwrap();
        assert!(ws.resolve("inner/lib.rs").is_ok());
    }
}
