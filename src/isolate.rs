/*!
Isolated runs: the agent works in a fresh git worktree of the workspace (or a copy, for a directory
that is not a git repository), so the real workspace is untouched until the user accepts the
change. The change comes back as one patch (`<session>.patch` beside the transcript) that is
reviewed with the same review UI, now or later with `agent apply SESSION`.

The checkout is a detached `git worktree` at the workspace's current state, uncommitted changes
included (`git stash create` records them without touching the user's index, branch or stash),
or at its HEAD for batch tasks; an isolated run also copies the untracked files in.
Worktrees share the repository's objects, so making one costs
about as much as checking out its files (a `git clone --shared` was measured at three times the
cost). Parallel `git worktree add`/`remove` on one repository race on its administrative files,
so those commands take a process-wide lock; the files are checked out after, outside it. A plain
directory is copied into a throwaway repository so both cases diff the same way.
*/

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_tools::{Workspace, apply_diff};
use anyhow::{Context, Result, bail};

use crate::approval::{Approver, Confinement, Decision, Interaction};
use crate::config::FileConfig;
use crate::policy::{approval_mode, approver};
use crate::protocol::modes::ApprovalMode;
use crate::records::EditJournal;

/// What the isolated tree starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The workspace as it is now, uncommitted changes included.
    CurrentState,
    /// The last commit (batch tasks: every task starts from the same state).
    Head,
}

pub struct Isolation {
    /// Where the agent works.
    pub dir: PathBuf,
    /// The commit the isolated tree started from.
    base: String,
    /// The repository the worktree belongs to (None for a copy).
    repository: Option<PathBuf>,
}

/// Serializes `git worktree add/remove/prune` (see the module doc).
static WORKTREE_ADMIN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn worktree_admin(repository: &Path, args: &[&str]) -> Result<String> {
    let _guard = crate::sync::lock(&WORKTREE_ADMIN);
    git(repository, args)
}

/// Runs git in `dir`, returning its stdout; a failure carries git's stderr.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=agent",
            "-c",
            "user.email=agent@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Whether `dir` is the top of a git repository.
pub fn is_git_repository(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--show-toplevel"]).is_ok_and(|top| Path::new(&top) == dir)
}

/// The commit an isolated tree of `workspace` starts from; None when the workspace is not a git
/// repository with a commit (it is then copied instead).
pub fn starting_commit(workspace: &Path, start: StartFrom) -> Result<Option<String>> {
    if !is_git_repository(workspace) {
        return Ok(None);
    }
    let Ok(head) = git(workspace, &["rev-parse", "--verify", "HEAD"]) else {
        return Ok(None);
    };
    let dirty = match start {
        StartFrom::CurrentState => git(workspace, &["stash", "create"])?,
        StartFrom::Head => String::new(),
    };
    Ok(Some(if dirty.is_empty() { head } else { dirty }))
}

impl Isolation {
    /// An isolated tree made earlier (by another process): where it is, the commit it started
    /// from, and the repository it is a worktree of (none for a copy).
    pub fn reopen(dir: PathBuf, base: String, repository: Option<PathBuf>) -> Self {
        Self {
            dir,
            base,
            repository,
        }
    }

    /// The commit the tree started from.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The repository the tree is a worktree of; none for a copy of a plain directory.
    pub fn repository(&self) -> Option<&Path> {
        self.repository.as_deref()
    }

    /// A tree at `into` holding the workspace's current state, untracked files included.
    pub fn of_current_state(workspace: &Path, into: &Path) -> Result<Self> {
        let base = starting_commit(workspace, StartFrom::CurrentState)?;
        let mut isolation = Self::create(workspace, into, base.as_deref())?;
        isolation.carry_untracked(workspace)?;
        Ok(isolation)
    }

    /// Creates the isolated tree at `into`, first clearing what a crashed run may have left there.
    pub fn create_fresh(workspace: &Path, into: &Path, base: Option<&str>) -> Result<Self> {
        if into.exists() {
            std::fs::remove_dir_all(into)
                .with_context(|| format!("cannot clear {}", into.display()))?;
            // Forget the worktree registered there, or `git worktree add` refuses the path.
            if is_git_repository(workspace) {
                worktree_admin(workspace, &["worktree", "prune"])?;
            }
        }
        Self::create(workspace, into, base)
    }

    /// Creates the isolated tree at `into` (which must not exist yet).
    pub fn create(workspace: &Path, into: &Path, base: Option<&str>) -> Result<Self> {
        if let Some(parent) = into.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let into_text = into.to_string_lossy().into_owned();
        if let Some(base) = base {
            // Only registering the worktree needs the lock; filling it in runs in parallel.
            worktree_admin(
                workspace,
                &[
                    "worktree",
                    "add",
                    "--quiet",
                    "--no-checkout",
                    "--detach",
                    &into_text,
                    base,
                ],
            )?;
            git(into, &["reset", "--quiet", "--hard"])?;
            return Ok(Self {
                dir: into.to_path_buf(),
                base: base.to_string(),
                repository: Some(workspace.to_path_buf()),
            });
        }
        copy_tree(workspace, into)?;
        git(into, &["init", "-q"])?;
        git(into, &["add", "-A"])?;
        git(into, &["commit", "-q", "--allow-empty", "-m", "base"])?;
        let base = git(into, &["rev-parse", "HEAD"])?;
        Ok(Self {
            dir: into.to_path_buf(),
            base,
            repository: None,
        })
    }

    /// Copies the workspace's untracked (not ignored) files into the worktree and makes them part
    /// of the base, so the agent sees them and the patch does not carry them back. Returns how
    /// many files were copied.
    pub fn carry_untracked(&mut self, workspace: &Path) -> Result<usize> {
        if self.repository.is_none() {
            return Ok(0);
        }
        let output = Command::new("git")
            .args(["ls-files", "--others", "--exclude-standard", "-z"])
            .current_dir(workspace)
            .output()
            .context("cannot list untracked files")?;
        let listing = String::from_utf8_lossy(&output.stdout).into_owned();
        let files: Vec<&str> = listing
            .split('\0')
            .filter(|name| !name.is_empty())
            .collect();
        for name in &files {
            let target = self.dir.join(name);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(workspace.join(name), &target)
                .with_context(|| format!("cannot copy untracked {name}"))?;
        }
        if !files.is_empty() {
            git(&self.dir, &["add", "-A"])?;
            git(
                &self.dir,
                &[
                    "commit",
                    "-q",
                    "--no-verify",
                    "-m",
                    "untracked files of the workspace",
                ],
            )?;
            self.base = git(&self.dir, &["rev-parse", "HEAD"])?;
        }
        Ok(files.len())
    }

    /// Everything changed in the isolated tree since it was created, as a unified diff.
    pub fn patch(&self) -> Result<String> {
        // Staged in a private copy of the tree's index: two readers at once (the daemon's diff
        // route and the patch saved after a turn) must not meet on index.lock, and the tree's
        // own index stays as the session left it.
        let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
        let index = scratch.path().join("index");
        let own_index = self
            .dir
            .join(git(&self.dir, &["rev-parse", "--git-path", "index"])?.trim());
        if own_index.is_file() {
            std::fs::copy(&own_index, &index)
                .with_context(|| format!("cannot copy {}", own_index.display()))?;
        }
        let with_index = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .current_dir(&self.dir)
                .output()
                .with_context(|| format!("cannot run git {}", args.join(" ")))
        };
        let added = with_index(&["add", "-A"])?;
        if !added.status.success() {
            bail!(
                "git add failed: {}",
                String::from_utf8_lossy(&added.stderr).trim()
            );
        }
        let output = with_index(&[
            "diff",
            "--cached",
            "--no-color",
            "--no-ext-diff",
            // Binary files as git's binary patches, so that `git apply` can apply the patch
            // whole when apply_diff, which edits text, cannot.
            "--binary",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            &self.base,
        ])?;
        if !output.status.success() {
            bail!(
                "git diff failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Deletes the isolated tree (the patch, saved elsewhere, stays).
    pub fn remove(self) -> Result<()> {
        match &self.repository {
            Some(repository) => {
                worktree_admin(
                    repository,
                    &["worktree", "remove", "--force", &self.dir.to_string_lossy()],
                )?;
            }
            None => std::fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot remove {}", self.dir.display()))?,
        }
        Ok(())
    }
}

/// Copies a directory tree (without `.git`), keeping symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {}", source.display()))?;
        }
    }
    Ok(())
}

/// How offering a saved change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offered {
    /// Applied (all of it, or the hunks the user kept): what changed, and a note on what was
    /// left out.
    Applied {
        summary: String,
        note: Option<String>,
    },
    NotApplied,
    /// Not applied, and the user wants to stop (`q`).
    Quit,
}

/// Offers a saved change (an isolated session's, a batch task's) for review in the real
/// `workspace`, in approval `mode` (None: the workspace's config decides) with questions going
/// where `interaction` says, and applies what is accepted, journaled at `journal` for
/// `agent undo`.
pub async fn offer(
    workspace: &Workspace,
    patch: &str,
    journal: &Path,
    mode: Option<ApprovalMode>,
    interaction: Interaction,
) -> Result<Offered> {
    let config = FileConfig::load(workspace.root())?;
    let mode = approval_mode(mode, &config);
    let mut approver = approver(mode, interaction, &config, Confinement::Sandboxed);
    let journal = EditJournal::create(journal, workspace)?;
    review_and_apply(workspace, patch, &mut approver, journal).await
}

/// Reviews `patch` against the real workspace with `approver` and applies what is accepted,
/// recording it in `journal` for undo.
async fn review_and_apply(
    workspace: &Workspace,
    patch: &str,
    approver: &mut Approver,
    mut journal: EditJournal,
) -> Result<Offered> {
    use apply_diff::{ApplyError, ParseError};
    let edit = apply_diff::prepare(workspace, patch).map_err(|error| {
        // What is not text (the parser's messages for these speak to the model, not the user).
        let not_text = match &error {
            ApplyError::Parse(ParseError::Binary { path }) => Some(("a binary file", path)),
            ApplyError::Parse(ParseError::UnsupportedMode { path, what, .. }) => {
                Some((*what, path))
            }
            _ => None,
        };
        match not_text {
            Some((what, path)) => anyhow::anyhow!(
                "the change includes {what}, `{path}`, which agent applies only as text: nothing was applied"
            ),
            None => anyhow::anyhow!(
                "the change no longer applies to {}: {error}",
                workspace.root().display()
            ),
        }
    })?;
    match approver.review_edit("isolated-change", &edit).await {
        Decision::Approved {
            edit: reviewed,
            note,
            ..
        } => {
            let applied = reviewed.unwrap_or(edit);
            applied.commit()?;
            journal.record(0, &applied)?;
            Ok(Offered::Applied {
                summary: applied.summary(),
                note,
            })
        }
        Decision::Denied { .. } => Ok(Offered::NotApplied),
        Decision::Quit => Ok(Offered::Quit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_with(file: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        git(dir.path(), &["init", "-q"]).unwrap();
        git(dir.path(), &["add", "-A"]).unwrap();
        git(dir.path(), &["commit", "-qm", "start"]).unwrap();
        dir
    }

    #[test]
    fn patches_taken_at_once_all_hold_the_change_and_leave_the_index_alone() {
        let real = repository_with("a.txt", "old\n");
        let trees = tempfile::tempdir().unwrap();
        let isolation =
            Isolation::of_current_state(real.path(), &trees.path().join("tree")).unwrap();
        std::fs::write(isolation.dir.join("a.txt"), "new\n").unwrap();
        let patches: Vec<String> = std::thread::scope(|scope| {
            let taking: Vec<_> = (0..8).map(|_| scope.spawn(|| isolation.patch())).collect();
            taking
                .into_iter()
                .map(|taken| taken.join().unwrap().unwrap())
                .collect()
        });
        assert!(patches[0].contains("-old\n+new\n"), "{}", patches[0]);
        assert_eq!(patches, vec![patches[0].clone(); 8]);
        let staged = git(&isolation.dir, &["diff", "--cached", "--name-only"]).unwrap();
        assert_eq!(staged, "");
        isolation.remove().unwrap();
    }
}
