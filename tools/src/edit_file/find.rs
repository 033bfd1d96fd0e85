/*!
Where `old_string` is in a file. As written first; then, when it is not there as written, as
whole lines compared without their indentation, trailing spaces and line endings (models copy
code with its indentation changed, or from a numbered listing), which must then match one place
only. Nothing found: the lines most like it, so the model can correct itself.
*/

use std::ops::Range;

/// Where a replacement goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Byte ranges of the text as written, in order.
    AsWritten(Vec<Range<usize>>),
    /// Whole lines (0-based, end exclusive) that match ignoring indentation and trailing
    /// spaces, in order; the new text must be re-indented to them.
    IgnoringIndentation(Vec<Range<usize>>),
}

/// Why `old_string` has no one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// It occurs at these (1-based) lines; `loose` when only ignoring indentation.
    Several { lines: Vec<usize>, loose: Loose },
    /// Not there; the numbered lines of the file most like it, if any are.
    Absent { closest: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loose {
    AsWritten,
    IgnoringIndentation,
}

/// How many places a replacement may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrences {
    One,
    All,
}

/// The places of `old` in `text`.
pub fn find(text: &str, old: &str, occurrences: Occurrences) -> Result<Found, Miss> {
    let exact: Vec<Range<usize>> = text
        .match_indices(old)
        .map(|(at, found)| at..at + found.len())
        .collect();
    match (exact.len(), occurrences) {
        (1, _) | (2.., Occurrences::All) => return Ok(Found::AsWritten(exact)),
        (2.., Occurrences::One) => {
            return Err(Miss::Several {
                lines: exact
                    .iter()
                    .map(|range| line_of(text, range.start))
                    .collect(),
                loose: Loose::AsWritten,
            });
        }
        (0, _) => {}
    }
    let lines: Vec<&str> = text.lines().collect();
    let wanted = wanted_lines(old);
    if wanted.iter().all(|line| line.is_empty()) {
        return Err(Miss::Absent { closest: None });
    }
    let starts = loose_starts(&lines, &wanted);
    match (starts.len(), occurrences) {
        (1, _) | (2.., Occurrences::All) => Ok(Found::IgnoringIndentation(
            starts
                .into_iter()
                .map(|start| start..start + wanted.len())
                .collect(),
        )),
        (2.., Occurrences::One) => Err(Miss::Several {
            lines: starts.iter().map(|start| start + 1).collect(),
            loose: Loose::IgnoringIndentation,
        }),
        (0, _) => Err(Miss::Absent {
            closest: closest(&lines, &wanted),
        }),
    }
}

/// `old`'s lines as compared when ignoring indentation: trimmed, without the blank lines that
/// begin or end it.
fn wanted_lines(old: &str) -> Vec<&str> {
    let lines: Vec<&str> = old.lines().map(str::trim).collect();
    let first = lines.iter().position(|line| !line.is_empty()).unwrap_or(0);
    let last = lines
        .iter()
        .rposition(|line| !line.is_empty())
        .map_or(0, |at| at + 1);
    lines.get(first..last).unwrap_or_default().to_vec()
}

/// Starts of the non-overlapping windows of `lines` equal to `wanted` once trimmed.
fn loose_starts(lines: &[&str], wanted: &[&str]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut start = 0;
    while start + wanted.len() <= lines.len() {
        let window = &lines[start..start + wanted.len()];
        if window
            .iter()
            .zip(wanted)
            .all(|(have, want)| have.trim() == *want)
        {
            starts.push(start);
            start += wanted.len();
        } else {
            start += 1;
        }
    }
    starts
}

/// The 1-based line that byte `at` of `text` is on.
pub fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

/// The region of the file most like `wanted`, numbered: each wanted line found in the file
/// votes for where the region would start; the most voted start wins. With no vote, the line
/// most similar to the first wanted line.
fn closest(lines: &[&str], wanted: &[&str]) -> Option<String> {
    let mut votes: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (offset, want) in wanted.iter().enumerate().filter(|(_, want)| want.len() > 2) {
        for (number, line) in lines.iter().enumerate() {
            if line.trim() == *want {
                *votes.entry(number.saturating_sub(offset)).or_default() += 1;
            }
        }
    }
    let start = match votes
        .into_iter()
        .max_by_key(|&(start, count)| (count, usize::MAX - start))
    {
        Some((start, _)) => start,
        None => most_similar(lines, wanted.first()?)?,
    };
    let from = start.saturating_sub(2);
    let to = (start + wanted.len() + 2).min(lines.len());
    Some(
        (from..to)
            .map(|index| format!("{:>6}\t{}", index + 1, lines[index]))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// The line most like `want` (at least 60 % alike), by `similar`'s ratio.
fn most_similar(lines: &[&str], want: &str) -> Option<usize> {
    lines
        .iter()
        .enumerate()
        .map(|(number, line)| {
            let ratio = similar::TextDiff::from_chars(line.trim(), want).ratio();
            (number, ratio)
        })
        .filter(|(_, ratio)| *ratio >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(number, _)| number)
}

/// `new` re-indented from `old`'s indentation to that of `file_lines`, the lines `old` matched
/// ignoring indentation. Each non-blank line of `old` pairs its indentation with its file
/// line's; a line of `new` indented as one of `old`'s gets that file indentation, and other
/// depths follow the step the pairs show (two spaces in `old` for four in the file, say).
pub fn reindent(new: &str, old: &str, file_lines: &[&str]) -> String {
    let pairs: Vec<(usize, &str)> = old
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .zip(file_lines.iter().filter(|line| !line.trim().is_empty()))
        .map(|(old_line, file_line)| (indentation(old_line).len(), indentation(file_line)))
        .collect();
    new.lines()
        .map(|line| match line.trim().is_empty() {
            true => String::new(),
            false => format!(
                "{}{}",
                file_indentation(&pairs, indentation(line).len()),
                line.trim_start()
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The file's indentation for a line of `new` indented `width` characters.
fn file_indentation(pairs: &[(usize, &str)], width: usize) -> String {
    if let Some((_, file)) = pairs.iter().find(|(old, _)| *old == width) {
        return file.to_string();
    }
    let Some(&(low_old, low_file)) = pairs.iter().min_by_key(|(old, _)| *old) else {
        return " ".repeat(width);
    };
    let unit = if low_file.contains('\t') { "\t" } else { " " };
    let high = pairs
        .iter()
        .max_by_key(|(old, _)| *old)
        .filter(|(old, _)| *old > low_old);
    let file_width = match high {
        // The step between two depths: file characters per character of old_string's indentation.
        Some(&(high_old, high_file)) => {
            let scale =
                (high_file.len() as f64 - low_file.len() as f64) / (high_old - low_old) as f64;
            (low_file.len() as f64 + (width as f64 - low_old as f64) * scale)
                .round()
                .max(0.0) as usize
        }
        None => (low_file.len() + width).saturating_sub(low_old),
    };
    unit.repeat(file_width)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    const TEXT: &str = "def a():\n    return 1\n\ndef b():\n    return 1\n";

    #[test]
    fn as_written_once_or_every_time() {
        assert_eq!(
            find(TEXT, "def b", Occurrences::One),
            Ok(Found::AsWritten(vec![23..28]))
        );
        assert_eq!(
            find(TEXT, "return 1", Occurrences::One),
            Err(Miss::Several {
                lines: vec![2, 5],
                loose: Loose::AsWritten
            })
        );
        assert_eq!(
            find(TEXT, "return 1", Occurrences::All),
            Ok(Found::AsWritten(vec![13..21, 36..44]))
        );
    }

    #[test]
    fn ignoring_indentation_when_not_there_as_written() {
        assert_eq!(
            find(TEXT, "def b():\n  return 1  \n", Occurrences::One),
            Ok(Found::IgnoringIndentation(vec![3..5]))
        );
        assert_eq!(
            find(TEXT, "return 1 \n", Occurrences::One),
            Err(Miss::Several {
                lines: vec![2, 5],
                loose: Loose::IgnoringIndentation
            })
        );
    }

    #[test]
    fn absent_text_shows_the_closest_lines() {
        let Err(Miss::Absent {
            closest: Some(closest),
        }) = find(TEXT, "def b():\n    return 2\n", Occurrences::One)
        else {
            panic!("expected a miss")
        };
        assert_eq!(
            closest,
            "     2\t    return 1\n     3\t\n     4\tdef b():\n     5\t    return 1"
        );
        assert_eq!(
            find(TEXT, "class C:\n", Occurrences::One),
            Err(Miss::Absent { closest: None })
        );
    }

    #[test]
    fn new_text_takes_the_file_indentation() {
        assert_eq!(
            reindent(
                "if x:\n    y()\n\nz()",
                "if x:\n    pass",
                &["        if x:", "            pass"]
            ),
            "        if x:\n            y()\n\n        z()"
        );
        // Two spaces a step in old_string, four in the file: deeper lines follow the step.
        assert_eq!(
            reindent(
                "def f():\n  if a:\n    return 1\n  return 2",
                "def f():\n  return 2",
                &["def f():", "    return 2"]
            ),
            "def f():\n    if a:\n        return 1\n    return 2"
        );
        assert_eq!(
            reindent("x = 1\n  y", "x = 0", &["\tx = 0"]),
            "\tx = 1\n\t\t\ty"
        );
    }
}
