/*!
`edit_file`: replaces a unique string in a file, the edit that Claude Code, Gemini CLI, Zed and
opencode give models other than GPT, and that models write correctly far more often than a diff
(no line numbers, no signs, no context to copy exactly). Several replacements in one file apply
in order, all or nothing. Prepared as an edit for review, like `apply_diff`.
*/

mod core;
mod find;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::apply_diff::read_text;
use crate::{ChangeKind, ExecutableBit, FileChange, PreparedEdit, Workspace};
use find::{Found, Loose, Miss, Occurrences};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditFileArgs {
    /// Path of the file, relative to the workspace root.
    pub path: String,
    /// The exact text to replace, copied from the file (without read_file's line numbers), with
    /// enough surrounding lines to occur only once. Empty to create a new file.
    #[serde(default)]
    pub old_string: Option<String>,
    /// The text to put in its place (empty to delete it).
    #[serde(default)]
    pub new_string: Option<String>,
    /// Replace every occurrence of old_string instead of requiring exactly one (default false).
    #[serde(default)]
    pub replace_all: Option<bool>,
    /// Several replacements in this file, applied in order after old_string/new_string if given;
    /// all are applied or none.
    #[serde(default)]
    pub edits: Option<Vec<Replacement>>,
}

/// One replacement of `edits`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// The exact text to replace.
    pub old_string: String,
    /// The text to put in its place.
    pub new_string: String,
    /// Replace every occurrence (default false).
    #[serde(default)]
    pub replace_all: Option<bool>,
}

/// An edit ready for review, and what the model should know about how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub edit: PreparedEdit,
    pub notes: Vec<String>,
}

impl EditFileArgs {
    /// Every replacement, the top-level one first.
    pub fn replacements(&self) -> Vec<Replacement> {
        let first = match (&self.old_string, &self.new_string) {
            (None, None) => None,
            (old, new) => Some(Replacement {
                old_string: old.clone().unwrap_or_default(),
                new_string: new.clone().unwrap_or_default(),
                replace_all: self.replace_all,
            }),
        };
        first
            .into_iter()
            .chain(self.edits.iter().flatten().cloned())
            .collect()
    }
}

/// Plans the replacements without touching the disk; the error is meant for the model.
pub fn prepare(workspace: &Workspace, args: &EditFileArgs) -> Result<Prepared, String> {
    let absolute = workspace
        .resolve(&args.path)
        .map_err(|error| error.to_string())?;
    let shown = workspace.relative(&absolute);
    if absolute.is_dir() {
        return Err(format!("`{shown}` is a directory"));
    }
    let replacements = args.replacements();
    if replacements.is_empty() {
        return Err("give old_string and new_string, or edits: a list of them".into());
    }
    let file = read_text(workspace, &absolute, &shown).map_err(|error| error.to_string())?;
    let Some(file) = file else {
        return create(workspace, absolute, &shown, &replacements);
    };
    let mut text = file.text.clone();
    let mut notes = Vec::new();
    for (index, replacement) in replacements.iter().enumerate() {
        let label = match replacements.len() {
            1 => String::new(),
            _ => format!("edit {} of {}: ", index + 1, replacements.len()),
        };
        let (next, note) = replace(&text, replacement)
            .map_err(|problem| format!("{label}{problem} in `{shown}`; nothing was changed"))?;
        notes.extend(note.map(|note| format!("{label}{note}")));
        text = next;
    }
    if text == file.text {
        return Err(format!(
            "the replacement leaves `{shown}` as it is (new_string equals what it replaces); nothing was changed"
        ));
    }
    let edit = PreparedEdit {
        changes: vec![FileChange {
            path: shown,
            absolute,
            kind: ChangeKind::Modify,
            old: Some(file.text),
            new: Some(text),
            old_stamp: file.stamp,
            executable: ExecutableBit::Keep,
        }],
    };
    Ok(Prepared { edit, notes })
}

/// A missing file is created by one replacement of an empty old_string.
fn create(
    workspace: &Workspace,
    absolute: std::path::PathBuf,
    shown: &str,
    replacements: &[Replacement],
) -> Result<Prepared, String> {
    match replacements {
        [only] if only.old_string.is_empty() => Ok(Prepared {
            edit: PreparedEdit {
                changes: vec![FileChange {
                    path: shown.to_string(),
                    absolute,
                    kind: ChangeKind::Create,
                    old: None,
                    new: Some(only.new_string.clone()),
                    old_stamp: None,
                    executable: ExecutableBit::Keep,
                }],
            },
            notes: Vec::new(),
        }),
        _ => Err(format!(
            "{}; to create it, give an empty old_string and its content as new_string",
            crate::missing::missing_path(workspace, shown, &absolute)
        )),
    }
}

/// `text` with one replacement made, and a note when it was not found as written.
fn replace(text: &str, replacement: &Replacement) -> Result<(String, Option<String>), String> {
    if replacement.old_string.is_empty() {
        return match text.is_empty() {
            true => Ok((replacement.new_string.clone(), None)),
            false => Err("old_string is empty but the file is not: give the text to replace (or use write_file to replace the whole file)".into()),
        };
    }
    if replacement.old_string == replacement.new_string {
        return Err("old_string and new_string are the same, so there is nothing to change".into());
    }
    let (old, new) = with_line_endings_of(text, replacement);
    let occurrences = match replacement.replace_all {
        Some(true) => Occurrences::All,
        Some(false) | None => Occurrences::One,
    };
    match find::find(text, &old, occurrences) {
        Ok(Found::AsWritten(ranges)) => {
            let note = (ranges.len() > 1).then(|| format!("replaced {} occurrences", ranges.len()));
            Ok((splice(text, &ranges, |_| new.clone()), note))
        }
        Ok(Found::IgnoringIndentation(lines)) => {
            let note = format!(
                "old_string was not in the file as written; it matched line{} {} ignoring indentation and trailing spaces, and new_string was re-indented to the file's indentation",
                if lines.len() > 1 || lines.iter().any(|range| range.len() > 1) {
                    "s"
                } else {
                    ""
                },
                lines
                    .iter()
                    .map(|range| format!("{}-{}", range.start + 1, range.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok((replace_lines(text, &lines, &old, &new), Some(note)))
        }
        Err(Miss::Absent { .. }) if !new.trim().is_empty() && text.contains(new.as_str()) => {
            Err(format!(
                "nothing to do: the file already has new_string (at line {}) and not old_string, so this change is made already (by an earlier call)",
                find::line_of(text, text.find(new.as_str()).unwrap_or(0))
            ))
        }
        Err(miss @ Miss::Absent { .. }) => match core::core_change(text, &old, &new) {
            Some(change) => {
                let note = format!(
                    "old_string was not in the file, not even ignoring indentation, but the part it changes occurs once: `{}` at line {} became `{}`; the rest of the file is as it was. Read the file to check",
                    change.replaced.trim(),
                    find::line_of(text, change.range.start),
                    change.replacement.trim()
                );
                let spliced = splice(text, std::slice::from_ref(&change.range), |_| {
                    change.replacement.clone()
                });
                Ok((spliced, Some(note)))
            }
            None => Err(describe(&miss)),
        },
        Err(miss) => Err(describe(&miss)),
    }
}

/// old_string and new_string with the file's line endings (a CRLF file gets CRLF).
fn with_line_endings_of(text: &str, replacement: &Replacement) -> (String, String) {
    let crlf = text.contains("\r\n") && !replacement.old_string.contains('\r');
    let convert = |value: &str| match crlf {
        true => value.replace('\n', "\r\n"),
        false => value.to_string(),
    };
    (
        convert(&replacement.old_string),
        convert(&replacement.new_string),
    )
}

/// `text` with each byte range replaced by what `with` gives for it.
fn splice(
    text: &str,
    ranges: &[std::ops::Range<usize>],
    with: impl Fn(&std::ops::Range<usize>) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for range in ranges {
        out.push_str(&text[cursor..range.start]);
        out.push_str(&with(range));
        cursor = range.end;
    }
    out.push_str(&text[cursor..]);
    out
}

/// `text` with whole line ranges replaced by `new`, re-indented to each range's first line.
fn replace_lines(text: &str, lines: &[std::ops::Range<usize>], old: &str, new: &str) -> String {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let byte = |line: usize| {
        starts
            .get(line)
            .copied()
            .unwrap_or(text.len())
            .min(text.len())
    };
    let ending = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ranges: Vec<std::ops::Range<usize>> = lines
        .iter()
        .map(|range| byte(range.start)..byte(range.end))
        .collect();
    splice(text, &ranges, |range| {
        let replaced = &text[range.clone()];
        let file_lines: Vec<&str> = replaced.lines().collect();
        let body = find::reindent(new, old, &file_lines);
        if body.is_empty() && new.trim().is_empty() {
            return String::new();
        }
        let joined = body.replace('\n', ending);
        match replaced.ends_with('\n') {
            true => format!("{joined}{ending}"),
            false => joined,
        }
    })
}

fn describe(miss: &Miss) -> String {
    match miss {
        Miss::Several { lines, loose } => {
            let how = match loose {
                Loose::AsWritten => "",
                Loose::IgnoringIndentation => " (ignoring indentation)",
            };
            format!(
                "old_string occurs {} times{how}, at lines {}: add surrounding lines to old_string so it occurs once, or set replace_all",
                lines.len(),
                lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Miss::Absent {
            closest: Some(closest),
        } => format!(
            "old_string was not found (not even ignoring indentation). The closest lines are:\n{closest}\nCopy old_string exactly from the file, without the line numbers"
        ),
        Miss::Absent { closest: None } => {
            "old_string was not found, and no line is like it; read the file again".into()
        }
    }
}

#[cfg(test)]
mod tests;
