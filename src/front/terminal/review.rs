/*!
The terminal as the place approval questions are answered: one-key prompts, read on a blocking
thread.

Edits: `y` apply, `n` reject, `s` hunk by hunk, `e` edit in `$EDITOR`, `a` accept this and all later
edits, `d` reject with a reason, `q` reject and stop. Commands: `y`, `n`, `a` (always allow this
command prefix in this session), `d`, `q`.
*/

use std::future::Future;
use std::io::Write;
use std::pin::Pin;

use agent_tools::{ChangeKind, FileChange, PreparedEdit};
use console::{Term, style};

use crate::approval::{Answer, Asker, FilePick, Hunk, Question, picked, split_hunks};

/// Asks the person at this terminal.
pub struct TerminalAsker;

impl Asker for TerminalAsker {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || answer(&question))
                .await
                .unwrap_or(Answer::Cancelled)
        })
    }
}

fn answer(question: &Question) -> Answer {
    match question {
        Question::Edit { edit, .. } => ask_edit(edit),
        Question::Command {
            command, warning, ..
        } => {
            let shown = match warning {
                Some(warning) => format!("$ {command}\n  ({warning})"),
                None => format!("$ {command}"),
            };
            ask_to_run(
                &shown,
                "Run? [y]es [n]o [a]lways allow this command [d]eny with reason [q]uit",
            )
        }
        Question::ToolCall {
            tool, arguments, ..
        } => ask_to_run(
            &format!("{tool} {arguments}"),
            "Call? [y]es [n]o [a]lways allow this tool [d]eny with reason [q]uit",
        ),
    }
}

fn ask_edit(edit: &PreparedEdit) -> Answer {
    let term = Term::stderr();
    let _ = term.write_line(&render_edit(edit));
    loop {
        let key = read_key(
            &term,
            "Apply? [y]es [n]o [s]plit hunks [e]dit [a]ll edits [d]eny with reason [q]uit",
        );
        match key {
            Some('s') => return by_hunk(&term, edit),
            Some('e') => return in_editor(&term, edit),
            other => {
                if let Some(answer) = common_answer(&term, other) {
                    return answer;
                }
            }
        }
    }
}

fn ask_to_run(shown: &str, question: &str) -> Answer {
    let term = Term::stderr();
    let _ = term.write_line(&style(shown).bold().to_string());
    loop {
        if let Some(answer) = common_answer(&term, read_key(&term, question)) {
            return answer;
        }
    }
}

/// What the keys every question takes mean (`y`, `n`, `a`, `d` then a reason, `q`; a terminal
/// gone is `q`); None for another key, to ask again.
fn common_answer(term: &Term, key: Option<char>) -> Option<Answer> {
    match key {
        Some('y') => Some(Answer::AllowOnce),
        Some('n') => Some(Answer::RejectOnce { reason: None }),
        Some('a') => Some(Answer::AllowAlways),
        Some('d') => Some(Answer::RejectOnce {
            reason: Some(read_reason(term)),
        }),
        Some('q') | None => Some(Answer::Cancelled),
        Some(_) => None,
    }
}

/// Shows the question and reads one key; None when the terminal is gone.
fn read_key(term: &Term, question: &str) -> Option<char> {
    let _ = write!(&*term, "{} ", style(question).yellow());
    let _ = term.flush();
    let key = term.read_char().ok()?;
    let _ = term.write_line(&key.to_string());
    Some(key.to_ascii_lowercase())
}

fn read_reason(term: &Term) -> String {
    let _ = write!(&*term, "{}", style("Why? ").yellow());
    let _ = term.flush();
    term.read_line()
        .map(|line| line.trim().to_string())
        .unwrap_or_default()
}

/// Asks whether to apply an existing file's mode change (a new file's mode comes with it):
/// whether there was one and it was accepted.
fn ask_mode_change(term: &Term, change: &FileChange) -> bool {
    match (&change.kind, change.executable.describe()) {
        (ChangeKind::Modify, Some(mode)) => {
            read_key(term, &format!("Apply the mode change ({mode})? [y/n]")) == Some('y')
        }
        (ChangeKind::Modify | ChangeKind::Create | ChangeKind::Delete, _) => false,
    }
}

/// Asks y/n for every hunk of every file; applies only the accepted ones.
fn by_hunk(term: &Term, edit: &PreparedEdit) -> Answer {
    let mut picks = Vec::new();
    for change in &edit.changes {
        let _ = term.write_line(&file_header(change));
        let split = split_hunks(
            change.old.as_deref().unwrap_or(""),
            change.new.as_deref().unwrap_or(""),
        );
        let mut accepted = Vec::new();
        for hunk in &split {
            let _ = term.write_line(rendered(hunk).trim_end());
            accepted.push(read_key(term, "Apply this hunk? [y/n]") == Some('y'));
        }
        picks.push(FilePick {
            hunks: accepted,
            mode: ask_mode_change(term, change),
        });
    }
    match picked(edit, &picks) {
        Some((edit, note)) => Answer::AllowChanged {
            edit,
            note: format!("the user reviewed hunk by hunk: {note}"),
        },
        None => Answer::RejectOnce {
            reason: Some("the user rejected every hunk".into()),
        },
    }
}

/// Opens each new file content in `$VISUAL`/`$EDITOR` and applies what the user saved.
fn in_editor(term: &Term, edit: &PreparedEdit) -> Answer {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut changes = Vec::new();
    for change in &edit.changes {
        match edit_one(&editor, change) {
            Ok(edited) => changes.push(edited),
            Err(error) => {
                let _ =
                    term.write_line(&style(format!("editor failed: {error}")).red().to_string());
                return Answer::RejectOnce {
                    reason: Some(format!(
                        "the user tried to edit the change but the editor failed ({error})"
                    )),
                };
            }
        }
    }
    let paths: Vec<&str> = changes.iter().map(|change| change.path.as_str()).collect();
    let note = format!(
        "the user edited your change in their editor before applying it; {} now hold(s) their version, read before editing again",
        paths.join(", ")
    );
    Answer::AllowChanged {
        edit: PreparedEdit { changes },
        note,
    }
}

fn edit_one(editor: &str, change: &FileChange) -> anyhow::Result<FileChange> {
    let Some(new) = &change.new else {
        return Ok(change.clone());
    };
    let name = change.path.rsplit('/').next().unwrap_or("edit");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(name);
    std::fs::write(&path, new)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()?;
    if !status.success() {
        anyhow::bail!("`{editor}` exited with {status}");
    }
    let mut edited = change.clone();
    edited.new = Some(std::fs::read_to_string(&path)?);
    Ok(edited)
}

/// The whole edit, colored, with line numbers.
pub fn render_edit(edit: &PreparedEdit) -> String {
    edit.changes
        .iter()
        .map(render_change)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A file's header line for review.
fn file_header(change: &FileChange) -> String {
    let (added, removed) = change.added_removed();
    let what = match change.kind {
        ChangeKind::Create => "new file",
        ChangeKind::Modify => "modified",
        ChangeKind::Delete => "deleted",
    };
    let mode = change
        .executable
        .describe()
        .map(|mode| format!(", {mode}"))
        .unwrap_or_default();
    format!(
        "{} ({what}, +{added} -{removed}{mode})",
        style(&change.path).bold()
    )
}

/// One file's change, colored, with line numbers.
fn render_change(change: &FileChange) -> String {
    let mut out = format!("{}\n", file_header(change));
    for hunk in split_hunks(
        change.old.as_deref().unwrap_or(""),
        change.new.as_deref().unwrap_or(""),
    ) {
        out.push_str(&rendered(&hunk));
    }
    out
}

/// A hunk, colored, with its old and new line numbers.
fn rendered(hunk: &Hunk) -> String {
    let number = |number: Option<usize>| number.map_or("     ".to_string(), |n| format!("{n:>5}"));
    let mut out = format!("{}\n", style(&hunk.header).cyan());
    for line in &hunk.lines {
        let numbers = format!("{} {} ", number(line.old_number), number(line.new_number));
        let plain = format!("{}{}", line.sign, line.text);
        let body = match line.sign {
            '-' => style(&plain).red().to_string(),
            '+' => style(&plain).green().to_string(),
            _ => plain,
        };
        out.push_str(&format!("{}{body}\n", style(numbers).dim()));
    }
    out
}
