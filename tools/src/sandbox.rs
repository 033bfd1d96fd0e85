/*!
The OS sandbox `run_command` runs commands in: by default a command may read the file system but
write only inside the workspace, a private temporary directory and configured roots; the user's
secret directories cannot be read; there is no network.

Two mechanisms, tried in this order: bubblewrap (`bwrap`, mount namespaces: a read-only view of
`/`, the writable roots bound writable, a fresh `/tmp`, secret directories hidden under empty
tmpfs, and its own network namespace), and Landlock (file access rules of the kernel) plus a
seccomp filter that refuses IP sockets, applied by a helper program (`agent sandbox-exec`) that
then runs the command. Which one works is found out once per process. In the workspace, `.git`
stays writable (a model may commit); with bubblewrap `.git/hooks` and `.git/config` do not, since
both can make git run programs later, outside the sandbox (Landlock only grants, so it cannot
take them out of the writable workspace).
*/

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a sandboxed command may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Write inside the workspace, the private temp dir and the configured roots.
    WorkspaceWrite,
    /// Write nowhere but the private temp dir.
    ReadOnly,
    /// No sandbox: the command runs with all of the user's rights.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Off,
    On,
}

/// How confinement is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Bubblewrap,
    Landlock,
}

/// Which mechanism to use: the first that works, or one forced by the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechanismChoice {
    Auto,
    Bubblewrap,
    Landlock,
}

/// The sandbox of a workspace's commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub mode: SandboxMode,
    pub network: Network,
    /// More directories commands may write to (besides the workspace and the temp dir).
    pub writable_roots: Vec<PathBuf>,
    /// Directories and files commands may not read (secrets).
    pub hidden: Vec<PathBuf>,
    /// The program that applies Landlock and seccomp, then runs the command (`agent`).
    pub helper: PathBuf,
    pub choice: MechanismChoice,
}

/// How one command is to be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `TMPDIR` for the command: the fresh `/tmp` bubblewrap mounts, else its own directory.
    pub tmpdir: PathBuf,
}

/// Why a command cannot run confined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no sandbox can be enforced here (bubblewrap does not run and the kernel has no Landlock): commands run unconfined and need approval; --sandbox off says this is intended"
)]
pub struct NoMechanism;

impl Sandbox {
    /// No confinement at all.
    pub fn off() -> Self {
        Self {
            mode: SandboxMode::Off,
            network: Network::On,
            writable_roots: Vec::new(),
            hidden: Vec::new(),
            helper: PathBuf::new(),
            choice: MechanismChoice::Auto,
        }
    }

    /// The mechanism that will confine commands, None when the mode is `off`.
    pub fn mechanism(&self) -> Result<Option<Mechanism>, NoMechanism> {
        if self.mode == SandboxMode::Off {
            return Ok(None);
        }
        let found = match self.choice {
            MechanismChoice::Bubblewrap => bubblewrap_works().then_some(Mechanism::Bubblewrap),
            MechanismChoice::Landlock => landlock_works().then_some(Mechanism::Landlock),
            MechanismChoice::Auto if bubblewrap_works() => Some(Mechanism::Bubblewrap),
            MechanismChoice::Auto => landlock_works().then_some(Mechanism::Landlock),
        };
        found.map(Some).ok_or(NoMechanism)
    }

    /// The program and arguments that run `bash -c command` in `root` under this sandbox;
    /// `private_tmp` is the command's own temporary directory (used where no fresh `/tmp` can
    /// be mounted).
    pub fn launch(&self, root: &Path, command: &str, private_tmp: &Path) -> Launch {
        let bash = ["bash".to_string(), "-c".to_string(), command.to_string()];
        match self.mechanism() {
            Ok(Some(Mechanism::Bubblewrap)) => Launch {
                program: PathBuf::from("bwrap"),
                args: self.bubblewrap_args(root).into_iter().chain(bash).collect(),
                tmpdir: PathBuf::from("/tmp"),
            },
            Ok(Some(Mechanism::Landlock)) => Launch {
                program: self.helper.clone(),
                args: self
                    .helper_args(root, private_tmp)
                    .into_iter()
                    .chain(bash)
                    .collect(),
                tmpdir: private_tmp.to_path_buf(),
            },
            Ok(None) | Err(NoMechanism) => Launch {
                program: PathBuf::from("bash"),
                args: bash[1..].to_vec(),
                tmpdir: private_tmp.to_path_buf(),
            },
        }
    }

    /// Directories the command may write to, besides its temporary directory.
    pub fn writable(&self, root: &Path) -> Vec<PathBuf> {
        match self.mode {
            SandboxMode::WorkspaceWrite => std::iter::once(root.to_path_buf())
                .chain(self.writable_roots.iter().cloned())
                .collect(),
            SandboxMode::ReadOnly | SandboxMode::Off => Vec::new(),
        }
    }

    /// Paths inside writable roots that stay read-only: git's hooks and config.
    pub fn protected(&self, root: &Path) -> Vec<PathBuf> {
        ["hooks", "config"]
            .iter()
            .map(|name| root.join(".git").join(name))
            .filter(|path| path.exists())
            .collect()
    }

    fn bubblewrap_args(&self, root: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--unshare-pid",
            "--die-with-parent",
        ]
        .map(String::from)
        .into();
        let path = |path: &Path| path.display().to_string();
        for dir in self.writable(root).iter().filter(|dir| dir.exists()) {
            args.extend(["--bind".into(), path(dir), path(dir)]);
        }
        for protected in self.protected(root) {
            args.extend(["--ro-bind".into(), path(&protected), path(&protected)]);
        }
        for hidden in self.hidden.iter().filter(|hidden| hidden.exists()) {
            match hidden.is_dir() {
                true => args.extend(["--tmpfs".into(), path(hidden)]),
                false => args.extend(["--ro-bind".into(), "/dev/null".into(), path(hidden)]),
            }
        }
        if self.network == Network::Off {
            args.push("--unshare-net".into());
        }
        args.extend(["--chdir".into(), path(root), "--".into()]);
        args
    }

    fn helper_args(&self, root: &Path, private_tmp: &Path) -> Vec<String> {
        let mut args = vec!["sandbox-exec".to_string()];
        let path = |path: &Path| path.display().to_string();
        for dir in self.writable(root) {
            args.extend(["--write".into(), path(&dir)]);
        }
        args.extend(["--write".into(), path(private_tmp)]);
        for hidden in &self.hidden {
            args.extend(["--hide".into(), path(hidden)]);
        }
        if self.network == Network::On {
            args.push("--network".into());
        }
        args.push("--".into());
        args
    }
}

/// Whether `bwrap` can make the namespaces it needs here (it cannot without user namespaces).
fn bubblewrap_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        std::process::Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "--unshare-net", "--", "true"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// Whether the kernel enforces Landlock (never, off Linux).
#[cfg(not(target_os = "linux"))]
fn landlock_works() -> bool {
    false
}

/// Whether the kernel enforces Landlock.
#[cfg(target_os = "linux")]
fn landlock_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        use landlock::{ABI, Access, AccessFs, Ruleset, RulesetAttr};
        Ruleset::default()
            .handle_access(AccessFs::from_all(ABI::V1))
            .and_then(|ruleset| ruleset.create())
            .is_ok()
    })
}

/// Words in a failed command's output that suggest the sandbox stopped it.
pub fn looks_blocked(output: &str) -> bool {
    [
        "Read-only file system",
        "Permission denied",
        "Operation not permitted",
        "Network is unreachable",
        "Could not resolve host",
        "Temporary failure in name resolution",
        "Name or service not known",
        "Address family not supported",
        "Connection refused",
    ]
    .iter()
    .any(|sign| output.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bubblewrap_binds_the_workspace_writable_and_protects_git_hooks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
        let secret = dir.path().join("ssh");
        std::fs::create_dir_all(&secret).unwrap();
        let sandbox = Sandbox {
            mode: SandboxMode::WorkspaceWrite,
            network: Network::Off,
            writable_roots: vec![],
            hidden: vec![secret.clone(), dir.path().join("missing")],
            helper: PathBuf::from("agent"),
            choice: MechanismChoice::Bubblewrap,
        };
        let root_text = root.display().to_string();
        let hooks = root.join(".git/hooks").display().to_string();
        let expected: Vec<String> = [
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--unshare-pid",
            "--die-with-parent",
            "--bind",
            &root_text,
            &root_text,
            "--ro-bind",
            &hooks,
            &hooks,
            "--tmpfs",
            &secret.display().to_string(),
            "--unshare-net",
            "--chdir",
            &root_text,
            "--",
        ]
        .map(String::from)
        .into();
        assert_eq!(sandbox.bubblewrap_args(&root), expected);
    }
}
