/*!
A file change split into hunks for per-hunk review, and the rebuild of the file from the accepted
hunks only. Front ends render the hunks their own way (the terminal in color, with line numbers).
*/

use std::ops::Range;

use agent_tools::{ChangeKind, ExecutableBit, PreparedEdit};
use similar::{ChangeTag, TextDiff};

/// One reviewable hunk of a file change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub header: String,
    old: Range<usize>,
    new: Range<usize>,
    /// Its lines, with their old and new line numbers.
    pub lines: Vec<HunkLine>,
    /// The hunk as a unified diff has it (header, then ` `, `-`, `+` lines).
    pub text: String,
}

/// One line of a hunk: its number (1-based) in the old and the new file where it is there, its
/// sign (` `, `-`, `+`) and its text without the line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    pub sign: char,
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
        let mut text = format!("{header}\n");
        let mut lines = Vec::new();
        for op in ops {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                let value = change.value().trim_end_matches(['\n', '\r']);
                text.push(sign);
                text.push_str(value);
                text.push('\n');
                lines.push(HunkLine {
                    old_number: change.old_index().map(|index| index + 1),
                    new_number: change.new_index().map(|index| index + 1),
                    sign,
                    text: value.to_string(),
                });
            }
        }
        out.push(Hunk {
            header,
            old: first.old_range().start..last.old_range().end,
            new: first.new_range().start..last.new_range().end,
            lines,
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
