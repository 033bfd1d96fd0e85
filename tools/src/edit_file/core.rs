/*!
The change an `old_string` that is not in the file still says plainly. Small models shorten what
they copy (`def add(a, b): return a - b` for a function whose docstring sits between those two
lines), yet what they change is clear: `a - b` becomes `a + b`. The part of `old_string` that
`new_string` changes, with as little of its surrounding text as makes it occur once in the file,
is replaced, and only it; the rest of the file, the docstring included, stays as it is. Whitespace
is compared loosely (any run of it matches any other, line breaks included), since models also
write a function on one line that the file spreads over several.

Taken only when every word of `old_string` is in the file, the changed part comes with at least
one word of its own context, and it occurs exactly once: otherwise the model is shown the closest
lines, as before.
*/

/// A change found this way: the byte range replaced, and its replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreChange {
    pub range: std::ops::Range<usize>,
    pub replacement: String,
    /// The text replaced, for the note to the model.
    pub replaced: String,
}

/// The unique place of the part of `old` that `new` changes, with the least context.
pub fn core_change(text: &str, old: &str, new: &str) -> Option<CoreChange> {
    if !old.split_whitespace().all(|word| text.contains(word)) {
        return None;
    }
    let prefix = common_prefix(old, new);
    let suffix = common_suffix(&old[prefix..], &new[prefix..]);
    let old_core = &old[prefix..old.len() - suffix];
    let new_core = &new[prefix..new.len() - suffix];
    let before = &old[..prefix];
    let after = &old[old.len() - suffix..];
    let left_stops = word_starts_from_end(before);
    let right_stops = word_ends(after);
    // One more word of context on each side per step, until the text occurs once.
    for step in 1..=left_stops.len().max(right_stops.len()) {
        let left = &before[*left_stops
            .get(step - 1)
            .or(left_stops.last())
            .unwrap_or(&before.len())..];
        let right = &after[..*right_stops
            .get(step - 1)
            .or(right_stops.last())
            .unwrap_or(&0)];
        if left.trim().is_empty() && right.trim().is_empty() {
            continue;
        }
        let needle = format!("{left}{old_core}{right}");
        let mut found = flexible_matches(text, &needle).into_iter();
        match (found.next(), found.next()) {
            (None, _) => return None,
            (Some(place), None) => {
                let range = place.at(left.len())..place.at(left.len() + old_core.len());
                return Some(CoreChange {
                    replaced: text[place.range.clone()].to_string(),
                    replacement: format!(
                        "{}{new_core}{}",
                        &text[place.range.start..range.start],
                        &text[range.end..place.range.end]
                    ),
                    range: place.range,
                });
            }
            (Some(_), Some(_)) => {}
        }
    }
    None
}

/// Where a needle matched, and where each of its bytes fell in the text.
struct Place {
    range: std::ops::Range<usize>,
    /// For each byte offset of the needle (and its end), the offset in the text: a byte of a
    /// whitespace run maps to where the text's run begins.
    offsets: Vec<usize>,
}

impl Place {
    fn at(&self, needle_offset: usize) -> usize {
        self.offsets
            .get(needle_offset)
            .copied()
            .unwrap_or(self.range.end)
    }
}

/// Every place `needle` occurs in `text`, each run of whitespace in it matching any run of
/// whitespace (and no whitespace matching none). Leading and trailing whitespace of the needle
/// maps to the place's ends.
fn flexible_matches(text: &str, needle: &str) -> Vec<Place> {
    let lead = needle.len() - needle.trim_start().len();
    let core = needle.trim();
    let Some(first) = core
        .split(char::is_whitespace)
        .next()
        .filter(|word| !word.is_empty())
    else {
        return Vec::new();
    };
    text.match_indices(first)
        .filter_map(|(start, _)| {
            let mut offsets = vec![start; lead];
            let mut at = start;
            let mut chars = core.char_indices().peekable();
            while let Some((_, c)) = chars.next() {
                if c.is_whitespace() {
                    let run_start = at;
                    let run = text[at..].len() - text[at..].trim_start().len();
                    if run == 0 {
                        return None;
                    }
                    at += run;
                    offsets.extend(std::iter::repeat_n(run_start, c.len_utf8()));
                    while let Some(&(_, next)) = chars.peek() {
                        if !next.is_whitespace() {
                            break;
                        }
                        offsets.extend(std::iter::repeat_n(run_start, next.len_utf8()));
                        chars.next();
                    }
                } else {
                    if !text[at..].starts_with(c) {
                        return None;
                    }
                    offsets.extend((0..c.len_utf8()).map(|byte| at + byte));
                    at += c.len_utf8();
                }
            }
            offsets.extend(std::iter::repeat_n(at, needle.len() - lead - core.len()));
            offsets.push(at);
            Some(Place {
                range: start..at,
                offsets,
            })
        })
        .collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((at, _), _)| at)
}

fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum()
}

/// Where each word of `text` starts, from its last word back to its first.
fn word_starts_from_end(text: &str) -> Vec<usize> {
    let mut starts: Vec<usize> = text
        .char_indices()
        .filter(|&(at, c)| {
            !c.is_whitespace() && (at == 0 || text[..at].ends_with(char::is_whitespace))
        })
        .map(|(at, _)| at)
        .collect();
    starts.reverse();
    starts
}

/// Where each word of `text` ends, from its first word on.
fn word_ends(text: &str) -> Vec<usize> {
    text.char_indices()
        .filter(|&(at, c)| {
            !c.is_whitespace()
                && text[at + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(at, c)| at + c.len_utf8())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALC: &str = "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";

    #[test]
    fn a_shortened_old_string_still_says_its_change() {
        assert_eq!(
            core_change(
                CALC,
                "def add(a, b): return a - b",
                "def add(a, b): return a + b"
            ),
            Some(CoreChange {
                range: 63..68,
                replacement: "a + b".into(),
                replaced: "a - b".into(),
            })
        );
    }

    #[test]
    fn a_function_written_on_one_line_changes_the_file_s_lines() {
        let file = "function greet(name) {\n  if (name === \"\") {\n    return \"Hello, \" + name + \"!\";\n  }\n  return \"Hello, \" + name + \"!\";\n}\n";
        let old = "function greet(name) { if (name === \"\") { return \"Hello, \" + name + \"!\"; } return \"Hello, \" + name + \"!\"; }";
        let new = "function greet(name) { if (name === \"\") { return \"Hello, world!\"; } return \"Hello, \" + name + \"!\"; }";
        let change = core_change(file, old, new).unwrap();
        let mut changed = file.to_string();
        changed.replace_range(change.range, &change.replacement);
        assert_eq!(
            changed,
            file.replacen(
                "return \"Hello, \" + name + \"!\";\n  }",
                "return \"Hello, world!\";\n  }",
                1
            )
        );
        let count = "def count_to(n):\n    return list(range(1, n))\n";
        let change = core_change(
            count,
            "return list(range(1, n))",
            "return list(range(1, n + 1))",
        )
        .unwrap();
        let mut changed = count.to_string();
        changed.replace_range(change.range, &change.replacement);
        assert_eq!(
            changed,
            "def count_to(n):\n    return list(range(1, n + 1))\n"
        );
    }

    #[test]
    fn words_not_in_the_file_or_a_change_found_twice_take_nothing() {
        assert_eq!(
            core_change(
                CALC,
                "def add(a, b): return x - b",
                "def add(a, b): return x + b"
            ),
            None
        );
        let twice = "x = a - b\ny = a - b\n";
        assert_eq!(core_change(twice, "a - b", "a + b"), None);
        assert_eq!(
            core_change(twice, "y = a - b", "y = a + b"),
            Some(CoreChange {
                range: 10..19,
                replacement: "y = a + b".into(),
                replaced: "y = a - b".into(),
            })
        );
    }
}
