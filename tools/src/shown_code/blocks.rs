/*!
Edits a model wrote as text, without any JSON: small models whose calls come as text escape code
badly inside JSON strings (a docstring's quotes, a regex's backslashes) but write these forms
well, as Aider's measurements found:

- a SEARCH/REPLACE block after a line naming the file: an `edit_file` call;
  ```text
  calc.py
  <<<<<<< SEARCH
  def add(a, b):
      return a - b
  =======
  def add(a, b):
      return a + b
  >>>>>>> REPLACE
  ```
- a line naming the file, then a fenced block with its whole new content: a `write_file` call.

They become ordinary calls, so they are reviewed, journaled and undone like any other edit.
*/

/// An edit written as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    SearchReplace {
        path: String,
        search: String,
        replace: String,
    },
    WholeFile {
        path: String,
        content: String,
    },
}

/// The edit blocks of `content`, in order; empty when it has none.
pub fn edits_in(content: &str) -> Vec<Block> {
    let lines: Vec<&str> = content.lines().collect();
    let mut calls = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if is_marker(lines[index], '<', "SEARCH")
            && let Some((call, next)) = search_replace(&lines, index)
        {
            calls.push(call);
            index = next;
        } else if let Some((call, next)) = whole_file(&lines, index) {
            calls.push(call);
            index = next;
        } else {
            index += 1;
        }
    }
    calls
}

/// `<<<<<<< SEARCH`, `>>>>>>> REPLACE` (any run of 5 to 9 marks, spaces around the word).
fn is_marker(line: &str, mark: char, word: &str) -> bool {
    let trimmed = line.trim();
    let marks = trimmed.chars().take_while(|c| *c == mark).count();
    (5..=9).contains(&marks) && trimmed[marks..].trim() == word
}

fn is_divider(line: &str) -> bool {
    let trimmed = line.trim();
    (5..=9).contains(&trimmed.len()) && trimmed.chars().all(|c| c == '=')
}

/// The block whose `SEARCH` marker is line `start`, and the line after it.
fn search_replace(lines: &[&str], start: usize) -> Option<(Block, usize)> {
    let path = path_before(lines, start)?;
    let divider = (start + 1..lines.len()).find(|&i| is_divider(lines[i]))?;
    let end = (divider + 1..lines.len()).find(|&i| is_marker(lines[i], '>', "REPLACE"))?;
    let text = |from: usize, to: usize| -> String {
        lines[from..to]
            .iter()
            .map(|line| format!("{line}\n"))
            .collect()
    };
    let block = Block::SearchReplace {
        path,
        search: text(start + 1, divider),
        replace: text(divider + 1, end),
    };
    Some((block, end + 1))
}

/// The path named just above line `at`: the line before it, or before the fence it opens.
fn path_before(lines: &[&str], at: usize) -> Option<String> {
    let mut above = lines[..at]
        .iter()
        .rev()
        .filter(|line| !line.trim().is_empty());
    let mut line = *above.next()?;
    if line.trim_start().starts_with("```") {
        line = above.next()?;
    }
    as_path(line)
}

/// A path on a line of its own, as models mark it: `calc.py`, **calc.py**, `# calc.py`,
/// `File: calc.py`, `calc.py:`. None for prose.
fn as_path(line: &str) -> Option<String> {
    let mut text = line.trim().trim_start_matches('#').trim();
    for prefix in ["File:", "file:", "Path:", "path:", "Filename:", "filename:"] {
        text = text.strip_prefix(prefix).unwrap_or(text).trim();
    }
    let text = text
        .trim_end_matches(':')
        .trim_matches(|c| matches!(c, '`' | '*' | '"' | '\''));
    let plausible = !text.is_empty()
        && !text.contains(char::is_whitespace)
        && (text.contains('.') || text.contains('/'))
        && !text.ends_with('.')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "._-/".contains(c));
    plausible.then(|| text.to_string())
}

/// The path a comment naming the file gives (`# calc.py`, `// greeting.js`), as models start a
/// block with; None for any other line.
pub fn path_comment(line: &str) -> Option<String> {
    let text = line.trim();
    let rest = ["#", "//", "--"]
        .into_iter()
        .find_map(|mark| text.strip_prefix(mark))?;
    as_path(rest)
}

/// A path line at `at` followed by a fenced block (not a call's JSON): the whole new file.
fn whole_file(lines: &[&str], at: usize) -> Option<(Block, usize)> {
    let path = as_path(lines[at])?;
    let fence = lines.get(at + 1)?.trim_start();
    let info = fence.strip_prefix("```")?.trim();
    if matches!(info, "json" | "tool_call" | "tool_code" | "diff") {
        return None;
    }
    let close = (at + 2..lines.len()).find(|&i| lines[i].trim_start().starts_with("```"))?;
    let body = &lines[at + 2..close];
    if body.iter().any(|line| is_marker(line, '<', "SEARCH")) {
        return None;
    }
    let content: String = body.iter().map(|line| format!("{line}\n")).collect();
    Some((Block::WholeFile { path, content }, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search_replace(path: &str, search: &str, replace: &str) -> Block {
        Block::SearchReplace {
            path: path.into(),
            search: search.into(),
            replace: replace.into(),
        }
    }

    #[test]
    fn search_replace_blocks_after_a_path_are_edit_calls() {
        let reply = "The bug is in the sign.\n\ncalc.py\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n\n**util/x.py**\n<<<<<<< SEARCH\nA = 1\n=======\n>>>>>>> REPLACE\n";
        assert_eq!(
            edits_in(reply),
            vec![
                search_replace("calc.py", "    return a - b\n", "    return a + b\n"),
                search_replace("util/x.py", "A = 1\n", ""),
            ]
        );
    }

    #[test]
    fn a_path_line_then_a_fence_is_the_whole_file() {
        let reply = "Here is the fix.\n\n### `greet.js`\n```javascript\nconst greet = (name) => `Hello, ${name}!`;\nmodule.exports = greet;\n```\n";
        assert_eq!(
            edits_in(reply),
            vec![Block::WholeFile {
                path: "greet.js".into(),
                content: "const greet = (name) => `Hello, ${name}!`;\nmodule.exports = greet;\n"
                    .into()
            }]
        );
    }

    #[test]
    fn prose_and_unnamed_code_are_no_edit() {
        assert_eq!(edits_in("I fixed it.\n```python\nx = 1\n```\n"), vec![]);
        assert_eq!(edits_in("Run this:\n```sh\nls\n```\n"), vec![]);
        assert_eq!(
            edits_in("calc.py\n```json\n{\"name\": \"read_file\"}\n```\n"),
            vec![]
        );
        assert_eq!(edits_in("calc.py\n<<<<<<< SEARCH\nx\n"), vec![]);
    }
}
