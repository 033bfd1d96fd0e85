/*!
Files through an editor: when the session's front end holds the files (an ACP client that offers
`fs/read_text_file` and `fs/write_text_file`), tools read its buffers, so unsaved changes are seen,
and edits land in its buffers and undo history instead of on disk behind its back.

Edits stay all-or-nothing: every file is prepared from the editor's text first (the texts are
fetched into the workspace's buffers before a tool runs), then written one by one; if a write
fails, the files already written get their old text back, and the failure is reported.
*/

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use agent_tools::{Buffers, ChangeKind, ExecutableBit, PreparedEdit};

/// Reading and writing files through the session's front end.
pub trait EditorFiles: Send + Sync {
    /// The editor's text of the file, or None when it has none (no such file).
    fn read(&self, path: PathBuf) -> Pin<Box<dyn Future<Output = Option<String>> + Send>>;
    fn write(
        &self,
        path: PathBuf,
        text: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
}

/// An editor's files, and the buffers the workspace reads from.
#[derive(Clone)]
pub struct Editor {
    pub files: Arc<dyn EditorFiles>,
    pub buffers: Buffers,
}

impl Editor {
    /// Fetches the editor's texts of `paths` into the buffers (or forgets them).
    pub async fn fetch(&self, paths: Vec<PathBuf>) {
        for path in paths {
            let text = self.files.read(path.clone()).await;
            let mut buffers = crate::sync::lock(&self.buffers);
            match text {
                Some(text) => buffers.insert(path, text),
                None => buffers.remove(&path),
            };
        }
    }

    /// Whether the editor can make this edit: new and changed files only (deletions, renames and
    /// mode changes have no ACP method and go to disk).
    pub fn can_write(edit: &PreparedEdit) -> bool {
        edit.changes.iter().all(|change| {
            matches!(change.kind, ChangeKind::Create | ChangeKind::Modify)
                && change.new.is_some()
                && matches!(change.executable, ExecutableBit::Keep)
        })
    }

    /// Writes every file of the edit through the editor; on a failure, restores those already
    /// written and says what failed.
    pub async fn write(&self, edit: &PreparedEdit) -> Result<(), String> {
        let mut written: Vec<(&Path, Option<&String>)> = Vec::new();
        for change in &edit.changes {
            let text = change.new.clone().unwrap_or_default();
            if let Err(error) = self.files.write(change.absolute.clone(), text).await {
                for (path, old) in written.into_iter().rev() {
                    let old = old.cloned().unwrap_or_default();
                    let _ = self.files.write(path.to_path_buf(), old).await;
                }
                return Err(format!(
                    "the editor could not write `{}` ({error}); files written before it were restored, nothing was applied",
                    change.path
                ));
            }
            written.push((&change.absolute, change.old.as_ref()));
        }
        Ok(())
    }
}
