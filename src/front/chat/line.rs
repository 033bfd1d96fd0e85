/*!
The conversation's prompt: a line editor (rustyline) with the user's history kept across sessions
(Up, Ctrl-R), several lines in one message (Alt-Enter, a trailing `\`, or a paste), and Tab
completing slash commands and `@` paths. It blocks, so it reads on a blocking thread.
*/

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, CompletionType, Config, Editor, EventHandler, Helper, Highlighter, Hinter, KeyCode,
    KeyEvent, Modifiers,
};

use super::input::COMMANDS;

/// What reading a line gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Line(String),
    /// Ctrl-C at the prompt.
    Interrupted,
    /// Ctrl-D on an empty line, or the terminal is gone.
    Eof,
}

pub struct LineEditor {
    /// Out while a line is being read on the blocking thread.
    editor: Option<Editor<ChatHelper, FileHistory>>,
    history: PathBuf,
}

impl LineEditor {
    /// An editor completing `@` paths under `root`, its history in `history`.
    pub fn new(root: &Path, history: PathBuf) -> Result<Self> {
        let config = Config::builder()
            .auto_add_history(false)
            .history_ignore_space(true)
            .completion_type(CompletionType::List)
            .bracketed_paste(true)
            .max_history_size(10_000)
            .context("history size")?
            .build();
        let mut editor: Editor<ChatHelper, FileHistory> =
            Editor::with_config(config).context("cannot set up the line editor")?;
        editor.set_helper(Some(ChatHelper {
            root: root.to_path_buf(),
        }));
        editor.bind_sequence(
            KeyEvent(KeyCode::Enter, Modifiers::ALT),
            EventHandler::Simple(Cmd::Newline),
        );
        // No history yet is fine; a damaged file costs the old entries, not the session.
        let _ = editor.load_history(&history);
        Ok(Self {
            editor: Some(editor),
            history,
        })
    }

    /// Reads one message (it may span lines), starting from `initial` (text given back after a
    /// turn failed or a mention could not be read).
    pub async fn read(&mut self, prompt: String, initial: String) -> Result<Read> {
        let Some(mut editor) = self.editor.take() else {
            anyhow::bail!("the line editor is already reading");
        };
        let (editor, read) = tokio::task::spawn_blocking(move || {
            let read = editor.readline_with_initial(&prompt, (&initial, ""));
            (editor, read)
        })
        .await
        .context("the line editor stopped")?;
        self.editor = Some(editor);
        Ok(match read {
            Ok(line) => Read::Line(line.replace("\\\n", "\n")),
            Err(ReadlineError::Interrupted) => Read::Interrupted,
            Err(ReadlineError::Eof) => Read::Eof,
            Err(error) => return Err(error).context("cannot read the terminal"),
        })
    }

    /// Keeps `line` in the history, on disk at once (another session's history is not lost).
    pub fn remember(&mut self, line: &str) {
        let Some(editor) = &mut self.editor else {
            return;
        };
        if editor.add_history_entry(line).unwrap_or(false) {
            if let Some(parent) = self.history.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = editor.append_history(&self.history);
        }
    }
}

#[derive(Helper, Highlighter, Hinter)]
struct ChatHelper {
    root: PathBuf,
}

impl Completer for ChatHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _context: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(char::is_whitespace)
            .map_or(0, |index| index + 1);
        let word = &before[start..];
        if start == 0 && word.starts_with('/') {
            let candidates = COMMANDS
                .iter()
                .filter(|(name, _)| name.starts_with(word))
                .map(|(name, _)| Pair {
                    display: (*name).to_string(),
                    replacement: format!("{name} "),
                })
                .collect();
            return Ok((0, candidates));
        }
        match word.strip_prefix('@') {
            Some(partial) => Ok((start + 1, paths_under(&self.root, partial))),
            None => Ok((pos, Vec::new())),
        }
    }
}

/// The entries of `root` that complete `partial` (a path relative to it); directories end in `/`.
fn paths_under(root: &Path, partial: &str) -> Vec<Pair> {
    let (dir, prefix) = match partial.rsplit_once('/') {
        Some((dir, prefix)) => (format!("{dir}/"), prefix),
        None => (String::new(), partial),
    };
    let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
        return Vec::new();
    };
    let mut found: Vec<Pair> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            if hidden || !name.starts_with(prefix) {
                return None;
            }
            let slash = match entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                true => "/",
                false => "",
            };
            Some(Pair {
                display: format!("{name}{slash}"),
                replacement: format!("{dir}{name}{slash}"),
            })
        })
        .collect();
    found.sort_by(|a, b| a.display.cmp(&b.display));
    found
}

impl Validator for ChatHelper {
    /// A line ending in `\` goes on on the next line.
    fn validate(&self, context: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(match context.input().ends_with('\\') {
            true => ValidationResult::Incomplete,
            false => ValidationResult::Valid(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_paths_complete_under_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "").unwrap();
        std::fs::write(dir.path().join("setup.py"), "").unwrap();
        std::fs::write(dir.path().join(".env"), "").unwrap();
        let names = |partial: &str| -> Vec<String> {
            paths_under(dir.path(), partial)
                .into_iter()
                .map(|pair| pair.replacement)
                .collect()
        };
        assert_eq!(names("s"), vec!["setup.py".to_string(), "src/".to_string()]);
        assert_eq!(names("src/m"), vec!["src/main.rs".to_string()]);
        assert_eq!(names(".e"), vec![".env".to_string()]);
    }
}
