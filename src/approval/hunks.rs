/*!
A file change split into hunks for per-hunk review, the rebuild of the file from the accepted
hunks only, and the colored rendering with line numbers.
*/

use std::ops::Range;

use agent_tools::{ChangeKind, ExecutableBit, FileChange, PreparedEdit};
use console::style;
use similar::{ChangeTag, TextDiff};

/// One reviewable hunk of a file change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub header: String,
    old: Range<usize>,
    new: Range<usize>,
    /// Colored, with old and new line numbers.
    pub rendered: String,
    /// The hunk as a unified diff has it (header, then ` `, `-`, `+` lines).
    pub text: String,
}

/// What a reviewer took of one file of an edit: which of its hunks, and whether its mode change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePick {
    pub hunks: Vec<bool>,
    pub mode: bool,
}

pub fn hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        let ops = hunk.ops();
        let (Some(first), Some(last)) = (ops.first(), ops.last()) else {
            continue;
        };
        let header = hunk.header().to_string();
        let mut rendered = format!("{}\n", style(&header).cyan());
        let mut text = format!("{header}\n");
        for op in ops {
            for change in diff.iter_changes(op) {
                let number = |index: Option<usize>| {
                    index.map_or("     ".to_string(), |index| format!("{:>5}", index + 1))
                };
                let value = change.value().trim_end_matches(['\n', '\r']);
                let line = format!(
                    "{} {} ",
                    number(change.old_index()),
                    number(change.new_index())
                );
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                let plain = format!("{sign}{value}");
                let body = match change.tag() {
                    ChangeTag::Equal => plain.clone(),
                    ChangeTag::Delete => style(&plain).red().to_string(),
                    ChangeTag::Insert => style(&plain).green().to_string(),
                };
                rendered.push_str(&format!("{}{body}\n", style(line).dim()));
                text.push_str(&plain);
                text.push('\n');
            }
        }
        out.push(Hunk {
            header,
            old: first.old_range().start..last.old_range().end,
            new: first.new_range().start..last.new_range().end,
            rendered,
            text,
        });
    }
    out
}

/// The file as it is when only the hunks marked `true` are applied.
pub fn rebuild(old: &str, new: &str, hunks: &[Hunk], accepted: &[bool]) -> String {
    let diff = TextDiff::from_lines(old, new);
    let old_lines: Vec<&str> = (0..diff.old_len())
        .filter_map(|index| diff.old_slice(index))
        .collect();
    let new_lines: Vec<&str> = (0..diff.new_len())
        .filter_map(|index| diff.new_slice(index))
        .collect();
    let mut out = String::new();
    let mut cursor = 0;
    for (hunk, &take) in hunks.iter().zip(accepted) {
        old_lines[cursor..hunk.old.start]
            .iter()
            .for_each(|line| out.push_str(line));
        let lines = if take {
            &new_lines[hunk.new.clone()]
        } else {
            &old_lines[hunk.old.clone()]
        };
        lines.iter().for_each(|line| out.push_str(line));
        cursor = hunk.old.end;
    }
    old_lines[cursor..]
        .iter()
        .for_each(|line| out.push_str(line));
    out
}

/// The edit made of the picked hunks only (one pick per file, in order), with a note for the
/// model saying what was applied and what was rejected; None when nothing was picked.
pub fn picked(edit: &PreparedEdit, picks: &[FilePick]) -> Option<(PreparedEdit, String)> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for (change, pick) in edit.changes.iter().zip(picks) {
        let (old, new) = (
            change.old.as_deref().unwrap_or(""),
            change.new.as_deref().unwrap_or(""),
        );
        let split = hunks(old, new);
        let headers = |wanted: bool| -> Vec<String> {
            split
                .iter()
                .zip(pick.hunks.iter().chain(std::iter::repeat(&false)))
                .filter(|(_, take)| **take == wanted)
                .map(|(hunk, _)| hunk.header.clone())
                .collect()
        };
        let (taken, left) = (headers(true), headers(false));
        let mut partial = change.clone();
        let has_mode_change =
            matches!(change.kind, ChangeKind::Modify) && change.executable.describe().is_some();
        if !pick.mode && matches!(change.kind, ChangeKind::Modify) {
            partial.executable = ExecutableBit::Keep;
        }
        match (taken.is_empty(), has_mode_change && pick.mode) {
            (true, true) => {
                notes.push(format!("`{}`: only its mode change applied", change.path));
                partial.new = partial.old.clone();
                changes.push(partial);
                continue;
            }
            (true, false) => {
                notes.push(format!(
                    "`{}`: all {} hunks rejected",
                    change.path,
                    split.len()
                ));
                continue;
            }
            (false, _) => {}
        }
        let rejected = match left.is_empty() {
            true => String::new(),
            false => format!("; rejected: {}", left.join(", ")),
        };
        notes.push(format!(
            "`{}`: applied {} of {} hunks{rejected}",
            change.path,
            taken.len(),
            split.len(),
        ));
        if matches!(change.kind, ChangeKind::Modify) {
            partial.new = Some(rebuild(old, new, &split, &pick.hunks));
        }
        changes.push(partial);
    }
    match changes.is_empty() {
        true => None,
        false => Some((PreparedEdit { changes }, notes.join("; "))),
    }
}

/// A file's header line for review.
pub fn file_header(change: &FileChange) -> String {
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

/// The whole change, colored, with line numbers.
pub fn render_change(change: &FileChange) -> String {
    let mut out = format!("{}\n", file_header(change));
    for hunk in hunks(
        change.old.as_deref().unwrap_or(""),
        change.new.as_deref().unwrap_or(""),
    ) {
        out.push_str(&hunk.rendered);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_hunks_only_are_applied() {
        let old: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 25\n", "line twenty-five\n");
        let split = hunks(&old, &new);
        assert_eq!(split.len(), 2);
        assert_eq!(
            rebuild(&old, &new, &split, &[true, false]),
            old.replace("line 2\n", "line two\n")
        );
        assert_eq!(
            rebuild(&old, &new, &split, &[false, true]),
            old.replace("line 25\n", "line twenty-five\n")
        );
        assert_eq!(rebuild(&old, &new, &split, &[true, true]), new);
        assert_eq!(rebuild(&old, &new, &split, &[false, false]), old);
    }
}
