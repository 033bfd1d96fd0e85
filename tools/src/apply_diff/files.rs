/*!
The files a diff names: its paths turned into workspace paths (`a/`/`b/` prefixes told apart from
real directories), and their text read with the size and time the commit's stale check compares.
*/

use std::path::{Path, PathBuf};

use super::ApplyError;
use super::parse::FilePatch;
use crate::workspace::Resolver;
use crate::{FileStamp, Workspace};

#[derive(Clone, Copy)]
enum Side {
    Old,
    New,
}

/// Turns a diff's paths into workspace paths. Knows whether the workspace has real top-level `a`
/// and `b` directories, which make `a/x` in a loose diff possibly a real path rather than a
/// prefix (checked once per diff).
pub(super) struct DiffPaths<'w> {
    resolver: Resolver<'w>,
    a_directory: bool,
    b_directory: bool,
}

impl<'w> DiffPaths<'w> {
    pub(super) fn of(workspace: &'w Workspace) -> Self {
        Self {
            resolver: workspace.resolver(),
            a_directory: workspace.root().join("a").is_dir(),
            b_directory: workspace.root().join("b").is_dir(),
        }
    }

    /// The path one side names. `a/`/`b/` are prefixes in git diffs, and in loose diffs unless a
    /// directory of that name really holds the file.
    fn side_path<'p>(&mut self, patch: &'p FilePatch<'_>, side: Side) -> Option<&'p str> {
        let (raw, prefix, directory_exists) = match side {
            Side::Old => (patch.old_path.as_deref()?, "a/", self.a_directory),
            Side::New => (patch.new_path.as_deref()?, "b/", self.b_directory),
        };
        match raw.strip_prefix(prefix) {
            Some(stripped) if patch.git_format || !directory_exists => Some(stripped),
            Some(stripped) if !self.resolver.resolve(raw).is_ok_and(|path| path.exists()) => {
                Some(stripped)
            }
            Some(_) | None => Some(raw),
        }
    }

    /// Both sides' absolute paths; a path both sides name is resolved once.
    pub(super) fn resolve_sides(
        &mut self,
        patch: &FilePatch<'_>,
    ) -> Result<(Option<PathBuf>, Option<PathBuf>), ApplyError> {
        let old_path = self.side_path(patch, Side::Old);
        let new_path = self.side_path(patch, Side::New);
        let old = old_path
            .map(|path| self.resolver.resolve(path))
            .transpose()?;
        let new = match new_path {
            Some(path) if Some(path) == old_path => old.clone(),
            Some(path) => Some(self.resolver.resolve(path)?),
            None => None,
        };
        Ok((old, new))
    }
}

/// A file as read from disk.
pub(crate) struct DiskFile {
    pub text: String,
    pub stamp: Option<FileStamp>,
    pub executable: bool,
}

/// A file's text (the editor's, where it holds one), stamp and executable bit, or None if it
/// does not exist.
pub(crate) fn read_text(
    workspace: &crate::Workspace,
    path: &Path,
    display: &str,
) -> Result<Option<DiskFile>, ApplyError> {
    if let Some(text) = workspace.buffered(path) {
        let executable = std::fs::metadata(path).is_ok_and(|metadata| {
            std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0
        });
        return Ok(Some(DiskFile {
            text,
            stamp: None,
            executable,
        }));
    }
    let io_error = |error: std::io::Error| ApplyError::Io {
        path: display.to_string(),
        message: error.to_string(),
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(error)),
    };
    let metadata = file.metadata().map_err(io_error)?;
    let bytes = read_all(&mut file, metadata.len()).map_err(io_error)?;
    let text = String::from_utf8(bytes).map_err(|_| ApplyError::NotText {
        path: display.to_string(),
    })?;
    Ok(Some(DiskFile {
        text,
        stamp: FileStamp::of(&metadata),
        executable: std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0,
    }))
}

/// The rest of `file`, which its metadata said is `expected_len` bytes long, in one read plus the
/// one that finds the end when that holds. (`File::read_to_end` would fetch the metadata again
/// and, without it, read in 8 KiB steps.)
fn read_all(file: &mut std::fs::File, expected_len: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(expected_len).unwrap_or(0) + 1];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            bytes.resize(bytes.len() * 2, 0);
        }
        match std::io::Read::read(file, &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}
