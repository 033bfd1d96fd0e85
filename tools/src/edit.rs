/*!
A set of file changes computed but not yet written, and the all-or-nothing commit of it.

Commit writes each file to a temp file in its own directory and renames it over the original (mode
bits kept), so no reader ever sees a half-written file. If a later file fails, every file already
replaced is put back, so a failed commit leaves the tree as it was.
*/

use std::fs::Permissions;
use std::io::Write;
use std::path::{Path, PathBuf};

use similar::TextDiff;

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Modify,
    Delete,
}

/// What a change does to a file's executable bit (git diffs carry it as `new mode 100755`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutableBit {
    /// As it is; a new file is created as a plain file.
    #[default]
    Keep,
    Set,
    Clear,
}

impl ExecutableBit {
    /// What the change does to the bit, in words; None when it keeps it.
    pub fn describe(self) -> Option<&'static str> {
        match self {
            ExecutableBit::Keep => None,
            ExecutableBit::Set => Some("made executable"),
            ExecutableBit::Clear => Some("no longer executable"),
        }
    }
}

/// One file's planned change: its old and new content (None where the file does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the workspace root, for display.
    pub path: String,
    pub absolute: PathBuf,
    pub kind: ChangeKind,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Size and modification time of `old` when it was read, if known: lets the commit see that
    /// the file is unchanged without reading it again.
    pub old_stamp: Option<FileStamp>,
    pub executable: ExecutableBit,
}

/// A file's size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: std::time::SystemTime,
}

impl FileStamp {
    pub fn of(metadata: &std::fs::Metadata) -> Option<Self> {
        Some(Self {
            len: metadata.len(),
            modified: metadata.modified().ok()?,
        })
    }
}

/// Changes to one or more files, all written by [`PreparedEdit::commit`] or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEdit {
    pub changes: Vec<FileChange>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(
        "`{path}` changed on disk since the edit was prepared; nothing was written, read it again"
    )]
    Stale { path: String },
    #[error("writing `{path}` failed ({source}); every file was restored, nothing was changed")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl FileChange {
    pub fn added_removed(&self) -> (usize, usize) {
        let diff = self.text_diff();
        let (mut added, mut removed) = (0, 0);
        for op in diff.ops() {
            for change in diff.iter_changes(op) {
                match change.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        (added, removed)
    }

    /// The change as a unified diff with `a/` and `b/` headers, as `git diff` would print it.
    pub fn unified_diff(&self) -> String {
        let old_name = match self.kind {
            ChangeKind::Create => "/dev/null".to_string(),
            ChangeKind::Modify | ChangeKind::Delete => format!("a/{}", self.path),
        };
        let new_name = match self.kind {
            ChangeKind::Delete => "/dev/null".to_string(),
            ChangeKind::Modify | ChangeKind::Create => format!("b/{}", self.path),
        };
        let mode_lines = match (&self.kind, self.executable) {
            (ChangeKind::Modify, ExecutableBit::Set) => "old mode 100644\nnew mode 100755\n",
            (ChangeKind::Modify, ExecutableBit::Clear) => "old mode 100755\nnew mode 100644\n",
            (ChangeKind::Create, ExecutableBit::Set) => "new file mode 100755\n",
            (ChangeKind::Modify, ExecutableBit::Keep)
            | (ChangeKind::Create, ExecutableBit::Keep | ExecutableBit::Clear)
            | (ChangeKind::Delete, _) => "",
        };
        let text = self
            .text_diff()
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string();
        // A change of mode alone has no text diff; name the file so the line is not orphaned.
        match (mode_lines, text.is_empty()) {
            ("", _) => text,
            (_, false) => format!("{mode_lines}{text}"),
            (_, true) => format!("{mode_lines}--- {old_name}\n+++ {new_name}\n"),
        }
    }

    fn text_diff(&self) -> TextDiff<'_, '_, str> {
        TextDiff::from_lines(
            self.old.as_deref().unwrap_or(""),
            self.new.as_deref().unwrap_or(""),
        )
    }
}

impl PreparedEdit {
    /// The whole edit as one unified diff.
    pub fn unified_diff(&self) -> String {
        self.changes.iter().map(FileChange::unified_diff).collect()
    }

    /// `path: +added -removed` per file, one per line.
    pub fn summary(&self) -> String {
        self.changes
            .iter()
            .map(|change| {
                let (added, removed) = change.added_removed();
                let verb = match (&change.kind, change.executable.describe()) {
                    (ChangeKind::Create, Some(_)) => " (created, executable)".to_string(),
                    (ChangeKind::Create, None) => " (created)".to_string(),
                    (ChangeKind::Modify, Some(mode)) => format!(" ({mode})"),
                    (ChangeKind::Modify, None) => String::new(),
                    (ChangeKind::Delete, _) => " (deleted)".to_string(),
                };
                format!("{}: +{added} -{removed}{verb}", change.path)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Writes every change, or none. First, for every file, checks that it did not change since it
    /// was read and writes its new content to a temp file beside it (nothing visible yet; a stale
    /// file or a failure here leaves the tree as it was); then renames them all into place,
    /// restoring the files already replaced if a rename fails.
    pub fn commit(&self) -> Result<(), CommitError> {
        let staged = stage_all(&self.changes)?;
        swap_in(staged)
    }
}

/// One change ready to be made visible: its content in a temp file beside the target.
struct Staged<'a> {
    change: &'a FileChange,
    /// None for a deletion.
    temp: Option<tempfile::NamedTempFile>,
    /// The file's permissions before the change, to restore it with.
    permissions: Option<Permissions>,
    created_dirs: Vec<PathBuf>,
}

impl Staged<'_> {
    /// Undoes the staging: the temp file is deleted, then the directories made for it.
    fn discard(self) {
        drop(self.temp);
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Stages every change, one after the other. Not on threads: creating a file takes its
/// directory's lock, and diffs touch many files in few directories; measured on ext4, two threads
/// staging into one directory spent a quarter of their time spinning on that lock and were slower
/// than one.
fn stage_all(changes: &[FileChange]) -> Result<Vec<Staged<'_>>, CommitError> {
    let mut staged = Vec::with_capacity(changes.len());
    for change in changes {
        match stage_one(change) {
            Ok(one) => staged.push(one),
            Err(error) => {
                // Latest first, so a directory made for a later file goes before its parent.
                staged.into_iter().rev().for_each(Staged::discard);
                return Err(error);
            }
        }
    }
    Ok(staged)
}

fn stage_one(change: &FileChange) -> Result<Staged<'_>, CommitError> {
    let error = |source| CommitError::Write {
        path: change.path.clone(),
        source,
    };
    let path = &change.absolute;
    let metadata = std::fs::metadata(path).ok();
    let unchanged = match (&change.old, &metadata) {
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        // Same size and time as when read: unchanged. Otherwise compare the content, so a file
        // that was only touched is not taken for a changed one.
        (Some(old), Some(metadata)) => {
            (change.old_stamp.is_some() && change.old_stamp == FileStamp::of(metadata))
                || std::fs::read(path).is_ok_and(|bytes| bytes == old.as_bytes())
        }
    };
    if !unchanged {
        return Err(CommitError::Stale {
            path: change.path.clone(),
        });
    }
    let permissions = metadata.map(|metadata| metadata.permissions());
    let Some(new) = &change.new else {
        return Ok(Staged {
            change,
            temp: None,
            permissions,
            created_dirs: Vec::new(),
        });
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // A file that exists has its directory; only a new one may need directories made.
    let created_dirs = if change.old.is_some() {
        Vec::new()
    } else {
        missing_ancestors(dir)
    };
    let staged = (|| {
        if !created_dirs.is_empty() {
            std::fs::create_dir_all(dir)?;
        }
        temp_file_with(
            dir,
            new.as_bytes(),
            new_mode(permissions.as_ref(), change.executable),
        )
    })();
    match staged {
        Ok(temp) => Ok(Staged {
            change,
            temp: Some(temp),
            permissions,
            created_dirs,
        }),
        Err(source) => {
            for dir in created_dirs.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            Err(error(source))
        }
    }
}

/// Renames every staged file into place (or deletes), restoring earlier ones on failure.
fn swap_in(staged: Vec<Staged<'_>>) -> Result<(), CommitError> {
    let mut done: Vec<Undo<'_>> = Vec::with_capacity(staged.len());
    let mut pending = staged.into_iter();
    while let Some(item) = pending.next() {
        let change = item.change;
        let result = match item.temp {
            Some(temp) => temp
                .persist(&change.absolute)
                .map(drop)
                .map_err(|error| error.error),
            None => std::fs::remove_file(&change.absolute),
        };
        let old = match (&change.old, item.permissions) {
            (Some(old), Some(permissions)) => Some((old.as_bytes(), permissions)),
            _ => None,
        };
        let undo = Undo {
            path: change.absolute.clone(),
            old,
            created_dirs: item.created_dirs,
        };
        if let Err(source) = result {
            undo.restore();
            done.into_iter().rev().for_each(Undo::restore);
            pending.rev().for_each(Staged::discard);
            return Err(CommitError::Write {
                path: change.path.clone(),
                source,
            });
        }
        done.push(undo);
    }
    Ok(())
}

/// How to put one file back as it was.
struct Undo<'a> {
    path: PathBuf,
    old: Option<(&'a [u8], Permissions)>,
    created_dirs: Vec<PathBuf>,
}

impl Undo<'_> {
    fn restore(self) {
        // Best effort: we are already reporting the original failure.
        let _ = match self.old {
            Some((bytes, permissions)) => {
                write_atomically(&self.path, bytes, NewMode::Exactly(permissions))
            }
            None => std::fs::remove_file(&self.path),
        };
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|ancestor| !ancestor.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Writes `bytes` to a temp file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8], mode: NewMode) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    temp_file_with(dir, bytes, mode)?
        .persist(path)
        .map_err(|error| error.error)?;
    Ok(())
}

/// The permissions a file gets when it is written.
enum NewMode {
    /// Those of the file it replaces (possibly with the executable bit changed).
    Exactly(Permissions),
    /// A new file: `0o666`, or `0o777` if executable, less the process's umask, as any program
    /// creating a file would give it.
    Default { executable: bool },
}

fn new_mode(existing: Option<&Permissions>, executable: ExecutableBit) -> NewMode {
    use std::os::unix::fs::PermissionsExt;
    let Some(existing) = existing else {
        return NewMode::Default {
            executable: executable == ExecutableBit::Set,
        };
    };
    let mode = existing.mode();
    NewMode::Exactly(Permissions::from_mode(match executable {
        ExecutableBit::Keep => mode,
        // Executable by whoever may read it, as `chmod +x` under a usual umask.
        ExecutableBit::Set => mode | ((mode & 0o444) >> 2),
        ExecutableBit::Clear => mode & !0o111,
    }))
}

/// A temp file in `dir` holding `bytes`, with the permissions `mode` says: not yet visible
/// anywhere.
fn temp_file_with(
    dir: &Path,
    bytes: &[u8],
    mode: NewMode,
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let mut builder = tempfile::Builder::new();
    // The mode given at creation is reduced by the umask; only new files want that.
    if let NewMode::Default { executable } = mode {
        builder.permissions(Permissions::from_mode(if executable {
            0o777
        } else {
            0o666
        }));
    }
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    if let NewMode::Exactly(permissions) = mode {
        temp.as_file().set_permissions(permissions)?;
    }
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn change(dir: &Path, name: &str, old: Option<&str>, new: Option<&str>) -> FileChange {
        let kind = match (old, new) {
            (None, _) => ChangeKind::Create,
            (_, None) => ChangeKind::Delete,
            _ => ChangeKind::Modify,
        };
        FileChange {
            old_stamp: None,
            executable: ExecutableBit::Keep,
            path: name.into(),
            absolute: dir.join(name),
            kind,
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        }
    }

    #[test]
    fn commit_keeps_mode_bits() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "echo a\n").unwrap();
        std::fs::set_permissions(&script, Permissions::from_mode(0o755)).unwrap();
        let edit = PreparedEdit {
            changes: vec![change(
                dir.path(),
                "run.sh",
                Some("echo a\n"),
                Some("echo b\n"),
            )],
        };
        edit.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&script).unwrap(), "echo b\n");
        assert_eq!(
            std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn a_failed_write_restores_earlier_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old\n").unwrap();
        // `blocker` is a file, so creating `blocker/b.txt` fails after a.txt was replaced.
        std::fs::write(dir.path().join("blocker"), "").unwrap();
        let edit = PreparedEdit {
            changes: vec![
                change(dir.path(), "a.txt", Some("old\n"), Some("new\n")),
                change(dir.path(), "blocker/b.txt", None, Some("x\n")),
            ],
        };
        let error = edit.commit().unwrap_err();
        assert!(matches!(error, CommitError::Write { ref path, .. } if path == "blocker/b.txt"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "old\n"
        );
    }

    #[test]
    fn a_stale_file_leaves_no_new_directory_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "changed meanwhile\n").unwrap();
        let edit = PreparedEdit {
            changes: vec![
                change(dir.path(), "new/deeper/b.txt", None, Some("b\n")),
                change(dir.path(), "a.txt", Some("old\n"), Some("new\n")),
            ],
        };
        assert!(matches!(edit.commit(), Err(CommitError::Stale { .. })));
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn stale_content_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "changed meanwhile\n").unwrap();
        let edit = PreparedEdit {
            changes: vec![change(dir.path(), "a.txt", Some("old\n"), Some("new\n"))],
        };
        assert!(matches!(edit.commit(), Err(CommitError::Stale { .. })));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "changed meanwhile\n"
        );
    }

    #[test]
    fn stale_check_uses_content_not_just_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "old\n").unwrap();
        let stamp = FileStamp::of(&std::fs::metadata(&path).unwrap());
        let mut change = change(dir.path(), "a.txt", Some("old\n"), Some("new\n"));
        change.old_stamp = stamp;
        // Same size, other content: the stamp differs, the content check catches it.
        std::fs::write(&path, "odd\n").unwrap();
        let edit = PreparedEdit {
            changes: vec![change.clone()],
        };
        assert!(matches!(edit.commit(), Err(CommitError::Stale { .. })));
        // Rewritten with the very same content (a new time): not stale.
        std::fs::write(&path, "old\n").unwrap();
        edit.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn summary_counts_lines() {
        let dir = Path::new("/w");
        let edit = PreparedEdit {
            changes: vec![
                change(dir, "a", Some("1\n2\n3\n"), Some("1\nx\n3\ny\n")),
                change(dir, "b", None, Some("new\n")),
            ],
        };
        assert_eq!(edit.summary(), "a: +2 -1\nb: +1 -0 (created)");
    }
}
