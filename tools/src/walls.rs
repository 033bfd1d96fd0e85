/*!
Reading a sandboxed command's output for the sandbox's walls: an error on a path the sandbox
makes read-only, hides, or keeps private (each command's `/tmp` is its own) is named to the model
with the way on, whatever the exit code (`echo x > ~/f; echo done` exits 0, and a file another
command left in `/tmp` looks missing, which sends a model after the wrong cause).
*/

use std::path::{Component, Path, PathBuf};

use crate::sandbox::{Mechanism, Sandbox, SandboxMode};

/// Errors that name a path the sandbox may have stopped.
const SIGNS: [(&str, Sign); 4] = [
    ("Read-only file system", Sign::Refused),
    ("Permission denied", Sign::Refused),
    ("Operation not permitted", Sign::Refused),
    ("No such file or directory", Sign::Missing),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Refused,
    Missing,
}

/// Which wall a path met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wall {
    /// Outside what commands may write.
    ReadOnly(String),
    /// Hidden from commands (a secret directory).
    Hidden(String),
    /// Under `/tmp`, which each command has to itself.
    PrivateTmp(String),
    /// `.git/hooks` or `.git/config`, kept read-only since git runs what they name.
    GitProtected(String),
}

/// The first wall a line of `output` shows, for a command of `sandbox` run in `root` by
/// `mechanism` (only bubblewrap gives each command a `/tmp` of its own; Landlock its `TMPDIR`).
pub fn wall_in(output: &str, sandbox: &Sandbox, mechanism: Mechanism, root: &Path) -> Option<Wall> {
    if sandbox.mode == SandboxMode::Off {
        return None;
    }
    output.lines().find_map(|line| {
        let sign = SIGNS
            .iter()
            .find(|(words, _)| line.contains(words))
            .map(|(_, sign)| *sign)?;
        paths_in(line)
            .into_iter()
            .find_map(|path| classify(&path, sign, sandbox, mechanism, root))
    })
}

impl Wall {
    /// The line the model is told.
    pub fn note(&self) -> String {
        let ask = "or, if it must, call run_command again with \"outside_sandbox\": true (the user will be asked)";
        match self {
            Self::ReadOnly(path) => format!(
                "[sandbox] `{path}` is outside where commands may write (the workspace and the command's own /tmp): write inside the workspace, {ask}."
            ),
            Self::Hidden(path) => format!(
                "[sandbox] `{path}` is hidden from commands (the user's secrets): do without it, {ask}."
            ),
            Self::PrivateTmp(path) => format!(
                "[sandbox] `{path}` is missing because /tmp is private to each command (empty when it starts, gone when it ends): keep files that must outlive a command in the workspace."
            ),
            Self::GitProtected(path) => format!(
                "[sandbox] `{path}` is read-only in the sandbox (git runs what it names): {ask}."
            ),
        }
    }
}

fn classify(
    path: &Path,
    sign: Sign,
    sandbox: &Sandbox,
    mechanism: Mechanism,
    root: &Path,
) -> Option<Wall> {
    let path = normal(&root.join(path));
    let shown = path.display().to_string();
    let git = root.join(".git");
    let in_workspace = path.starts_with(root);
    if sandbox.hidden.iter().any(|hidden| path.starts_with(hidden)) {
        return Some(Wall::Hidden(shown));
    }
    match sign {
        Sign::Missing
            if mechanism == Mechanism::Bubblewrap && path.starts_with("/tmp") && !in_workspace =>
        {
            Some(Wall::PrivateTmp(shown))
        }
        Sign::Missing => None,
        Sign::Refused if path.starts_with(git.join("hooks")) || path == git.join("config") => {
            Some(Wall::GitProtected(shown))
        }
        // Only the command's own temporary directory is writable besides these; a refusal there
        // is not the sandbox's.
        Sign::Refused if sandbox.mode == SandboxMode::ReadOnly => Some(Wall::ReadOnly(shown)),
        Sign::Refused => {
            let writable = in_workspace
                || sandbox
                    .writable_roots
                    .iter()
                    .any(|dir| path.starts_with(dir));
            (!writable).then_some(Wall::ReadOnly(shown))
        }
    }
}

/// The paths a line names: words that begin with `/` or `~/`, or quoted ones (`'x'`, `‘x’`,
/// `"x"`), up to a quote, a space or a `:`.
fn paths_in(line: &str) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut paths = Vec::new();
    for (start, _) in line.char_indices() {
        let rest = &line[start..];
        let before = line[..start].chars().next_back();
        let quoted = matches!(before, Some('\'' | '"' | '‘' | '`'));
        let begins = before.is_none_or(|c| c.is_whitespace() || quoted || c == '>');
        if !begins {
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '’' | '`' | ':'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if let Some(tail) = word.strip_prefix("~/") {
            if let Some(home) = &home {
                paths.push(home.join(tail));
            }
        } else if word.starts_with('/') || (quoted && !word.is_empty()) {
            paths.push(PathBuf::from(word));
        }
    }
    paths
}

/// `path` with `.` and `..` resolved by their names (the file need not exist).
fn normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{MechanismChoice, Network};

    fn sandbox(mode: SandboxMode) -> Sandbox {
        Sandbox {
            mode,
            network: Network::Off,
            writable_roots: vec![PathBuf::from("/data/out")],
            hidden: vec![PathBuf::from("/home/u/.ssh")],
            helper: PathBuf::from("agent"),
            choice: MechanismChoice::Auto,
        }
    }

    fn wall(output: &str, mode: SandboxMode) -> Option<Wall> {
        wall_in(
            output,
            &sandbox(mode),
            Mechanism::Bubblewrap,
            Path::new("/work/repo"),
        )
    }

    #[test]
    fn each_wall_is_told_apart_and_the_workspace_is_none_of_them() {
        let write = SandboxMode::WorkspaceWrite;
        let cases = [
            (
                "bash: line 1: /home/u/f: Read-only file system\ndone",
                Some(Wall::ReadOnly("/home/u/f".into())),
            ),
            (
                "touch: cannot touch '/etc/x': Permission denied",
                Some(Wall::ReadOnly("/etc/x".into())),
            ),
            (
                "cat: /home/u/.ssh/id_ed25519: No such file or directory",
                Some(Wall::Hidden("/home/u/.ssh/id_ed25519".into())),
            ),
            (
                "cat: /tmp/build.log: No such file or directory",
                Some(Wall::PrivateTmp("/tmp/build.log".into())),
            ),
            (
                "cp: cannot create regular file '.git/hooks/pre-commit': Read-only file system",
                Some(Wall::GitProtected(
                    "/work/repo/.git/hooks/pre-commit".into(),
                )),
            ),
            ("cat: notes.txt: No such file or directory", None),
            (
                "touch: cannot touch '/work/repo/x': Permission denied",
                None,
            ),
            ("echo: /data/out/f: Permission denied", None),
            ("cat: /etc/missing: No such file or directory", None),
            ("all good", None),
        ];
        for (output, expected) in cases {
            assert_eq!(wall(output, write), expected, "{output}");
        }
        assert_eq!(
            wall(
                "touch: cannot touch 'x': Read-only file system",
                SandboxMode::ReadOnly
            ),
            Some(Wall::ReadOnly("/work/repo/x".into()))
        );
        assert_eq!(
            wall("bash: /home/u/f: Read-only file system", SandboxMode::Off),
            None
        );
        // Landlock's commands share the real /tmp: a file missing there is missing.
        let landlock = wall_in(
            "cat: /tmp/build.log: No such file or directory",
            &sandbox(write),
            Mechanism::Landlock,
            Path::new("/work/repo"),
        );
        assert_eq!(landlock, None);
    }
}
