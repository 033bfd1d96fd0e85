/*!
Applying located hunks to a file's lines: the file's own line endings and final-newline state are
kept, context lines are taken from the file (not from the diff), and when a hunk matched only
after ignoring indentation its added lines are re-indented to the file's indentation.
*/

use std::borrow::Cow;

use super::locate::{Level, Placement};
use super::parse::{Hunk, HunkLine, LineKind};
use super::pieces::pieces;

/// A text split into lines, each with its own ending (`""` for a last line without newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lines<'a> {
    /// Borrowed from the file's text, owned only for lines a hunk adds.
    pub texts: Vec<Cow<'a, str>>,
    pub endings: Vec<&'static str>,
}

impl<'a> Lines<'a> {
    pub fn split(text: &'a str) -> Self {
        let mut texts = Vec::new();
        let mut endings = Vec::new();
        for piece in pieces(text) {
            let (body, ending) = if let Some(body) = piece.strip_suffix("\r\n") {
                (body, "\r\n")
            } else if let Some(body) = piece.strip_suffix('\n') {
                (body, "\n")
            } else {
                (piece, "")
            };
            texts.push(Cow::Borrowed(body));
            endings.push(ending);
        }
        Self { texts, endings }
    }

    pub fn join(&self) -> String {
        let size = self.texts.iter().map(|text| text.len() + 2).sum();
        let mut out = String::with_capacity(size);
        for (text, ending) in self.texts.iter().zip(&self.endings) {
            out.push_str(text);
            out.push_str(ending);
        }
        out
    }

    /// The ending most lines use; `\n` for a file with none.
    fn dominant_ending(&self) -> &'static str {
        let crlf = self
            .endings
            .iter()
            .filter(|ending| **ending == "\r\n")
            .count();
        let lf = self
            .endings
            .iter()
            .filter(|ending| **ending == "\n")
            .count();
        if crlf > lf { "\r\n" } else { "\n" }
    }

    fn ends_with_newline(&self) -> bool {
        self.endings.last().is_none_or(|ending| !ending.is_empty())
    }
}

/// Applies placed hunks, which must be sorted by start and not overlap.
pub fn apply<'a>(file: &Lines<'a>, placed: &[(&Hunk<'a>, Placement)]) -> Lines<'a> {
    let ending = file.dominant_ending();
    let mut out = Lines {
        texts: Vec::new(),
        endings: Vec::new(),
    };
    let mut cursor = 0;
    let mut touched_end: Option<&Hunk<'_>> = None;
    for (hunk, placement) in placed {
        copy_lines(file, cursor..placement.start, &mut out);
        cursor = placement.start;
        let body = &hunk.lines[placement.skip_front..hunk.lines.len() - placement.skip_back];
        for (index, line) in body.iter().enumerate() {
            match line.kind {
                LineKind::Context => {
                    copy_lines(file, cursor..cursor + 1, &mut out);
                    cursor += 1;
                }
                LineKind::Remove => cursor += 1,
                LineKind::Add => {
                    let text = match placement.level {
                        Level::Exact | Level::TrailingWhitespace => Cow::Borrowed(line.text),
                        Level::Whitespace | Level::Unicode => {
                            Cow::Owned(reindent(body, index, &file.texts[placement.start..]))
                        }
                    };
                    out.texts.push(text);
                    out.endings.push(ending);
                }
            }
        }
        if cursor == file.texts.len() {
            touched_end = Some(hunk);
        }
    }
    copy_lines(file, cursor..file.texts.len(), &mut out);
    fix_endings(&mut out, file, touched_end, ending);
    out
}

fn copy_lines<'a>(file: &Lines<'a>, range: std::ops::Range<usize>, out: &mut Lines<'a>) {
    out.texts.extend_from_slice(&file.texts[range.clone()]);
    out.endings.extend_from_slice(&file.endings[range]);
}

/// Every line but the last ends with a newline; the last follows the diff's markers if the diff
/// touched the end of the file, and the original file otherwise.
fn fix_endings(
    out: &mut Lines<'_>,
    file: &Lines<'_>,
    touched_end: Option<&Hunk<'_>>,
    ending: &'static str,
) {
    let count = out.endings.len();
    for line_ending in out.endings.iter_mut().take(count.saturating_sub(1)) {
        if line_ending.is_empty() {
            *line_ending = ending;
        }
    }
    let final_newline = match touched_end {
        Some(hunk) if hunk.new_missing_newline => false,
        Some(hunk) if hunk.old_missing_newline => true,
        Some(_) | None => file.ends_with_newline(),
    };
    if let Some(last) = out.endings.last_mut() {
        *last = if final_newline { ending } else { "" };
    }
}

/// Re-indents the added line at `index` of `body` by the indentation difference between the
/// nearest old line of the hunk whose indentation can be trusted and the file line it matched.
///
/// Not trusted: a context line that lost its sign ([`HunkLine::is_strict`]), and a signed
/// context line exactly one space short of the file's line, which is the same thing with the
/// line's first space taken for the sign. Models shift whole hunks by whole indentation steps,
/// not by one space, so that line says nothing about how the added lines are indented.
fn reindent(body: &[HunkLine<'_>], index: usize, file_from_start: &[Cow<'_, str>]) -> String {
    let text = body[index].text;
    let old_position = |position: usize| {
        body[..position]
            .iter()
            .filter(|line| line.kind != LineKind::Add)
            .count()
    };
    let trusted = |i: usize| {
        let line = &body[i];
        let one_space_short = || {
            file_from_start
                .get(old_position(i))
                .is_some_and(|file_line| {
                    file_line.trim_end().strip_prefix(' ') == Some(line.text.trim_end())
                })
        };
        line.kind != LineKind::Add
            && line.is_strict()
            && !line.text.trim().is_empty()
            && !(line.kind == LineKind::Context && one_space_short())
    };
    let before = (0..index).rev().find(|&i| trusted(i));
    let after = (index + 1..body.len()).find(|&i| trusted(i));
    let Some(reference) = before.or(after) else {
        return text.to_string();
    };
    let Some(file_line) = file_from_start.get(old_position(reference)) else {
        return text.to_string();
    };
    shift_indentation(
        text,
        indentation(body[reference].text),
        indentation(file_line),
    )
}

/// Moves `text` from the hunk's indentation to the file's: deeper or shallower by the same amount
/// when one indentation extends the other (at its end or, for shallower, at its start), or with
/// the hunk's prefix swapped for the file's (tabs for spaces) otherwise.
fn shift_indentation(text: &str, hunk_indent: &str, file_indent: &str) -> String {
    if let Some(extra) = file_indent.strip_prefix(hunk_indent) {
        return format!("{extra}{text}");
    }
    if hunk_indent.starts_with(file_indent) {
        let surplus = hunk_indent.len() - file_indent.len();
        let own = indentation(text);
        return if own.len() >= surplus {
            text[surplus..].to_string()
        } else {
            text.trim_start().to_string()
        };
    }
    // The hunk's indentation has something in front of the file's (two spaces before tabs, say):
    // the added lines lose it too.
    if let Some(surplus) = hunk_indent.strip_suffix(file_indent)
        && let Some(rest) = text.strip_prefix(surplus)
    {
        return rest.to_string();
    }
    match text.strip_prefix(hunk_indent) {
        Some(rest) => format!("{file_indent}{rest}"),
        None => text.to_string(),
    }
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indentation_shifts_both_ways() {
        assert_eq!(shift_indentation("    }", "      ", "    "), "  }");
        assert_eq!(shift_indentation("  x", "  ", "    "), "    x");
        assert_eq!(shift_indentation("        y", "    ", "\t"), "\t    y");
        assert_eq!(shift_indentation("z", "    ", "  "), "z");
        // Spaces put in front of tab indentation come off again, however deep the line.
        assert_eq!(
            shift_indentation("  \t\t\tx", "  \t\t\t\t", "\t\t\t\t"),
            "\t\t\tx"
        );
    }

    #[test]
    fn split_and_join_round_trip() {
        for text in ["", "a", "a\n", "a\r\nb\r\n", "a\nb", "\n\n"] {
            assert_eq!(Lines::split(text).join(), text);
        }
    }
}
