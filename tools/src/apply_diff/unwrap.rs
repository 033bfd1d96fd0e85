/*!
The diff inside the text a model sent: models wrap diffs the way they would show them to a
person. A diff indented as a whole (written inside an indented block), quoted line by line
(`> `), wrapped in one pair of quotes, or sent with its line breaks escaped (`\n` as two
characters, a JSON string inside a JSON string) is turned back into the diff itself. Fences
(```` ``` ````) are dropped by the parser. Text that needs none of this is returned as it is.
*/

use std::borrow::Cow;

/// The diff `text` holds, unwrapped.
pub fn unwrap(text: &str) -> Cow<'_, str> {
    let mut diff = Cow::Borrowed(text);
    if let Some(unescaped) = unescape_line_breaks(&diff) {
        diff = Cow::Owned(unescaped);
    }
    if let Some(inner) = strip_quotes(&diff) {
        diff = Cow::Owned(inner.to_string());
    }
    if let Some(unquoted) = strip_line_prefix(&diff, Prefix::Quote) {
        diff = Cow::Owned(unquoted);
    }
    if let Some(dedented) = strip_line_prefix(&diff, Prefix::Indent) {
        diff = Cow::Owned(dedented);
    }
    diff
}

/// Whether a line begins a diff's structure: a file header or a hunk header.
fn is_header(line: &str) -> bool {
    line.starts_with("--- ")
        || line.starts_with("+++ ")
        || line.starts_with("@@")
        || line.starts_with("diff --git ")
}

/// A diff sent with `\n` written as two characters and no real line break at all.
fn unescape_line_breaks(text: &str) -> Option<String> {
    if text.trim_end().contains('\n') || !text.contains("\\n") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => {}
            Some(other @ ('"' | '\\' | '\'')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out.lines().any(is_header).then_some(out)
}

/// A diff wrapped whole in one pair of quotes (`"--- a/x … "`).
fn strip_quotes(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    ['"', '\'', '`'].into_iter().find_map(|quote| {
        let inner = trimmed.strip_prefix(quote)?.strip_suffix(quote)?;
        let first = inner.lines().find(|line| !line.trim().is_empty())?;
        is_header(first.trim_start()).then_some(inner)
    })
}

#[derive(Clone, Copy)]
enum Prefix {
    /// `> ` in front of every line (a quoted block).
    Quote,
    /// The same indentation in front of every line.
    Indent,
}

/// The text without the prefix every non-blank line shares, when there is one and a header
/// then begins a line (so a diff whose lines all start with a space, being context, is left
/// alone: it has headers at the start of lines already).
fn strip_line_prefix(text: &str, kind: Prefix) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut non_blank = lines.iter().filter(|line| !line.trim().is_empty());
    let prefix: &str = match kind {
        Prefix::Quote => {
            if !non_blank.all(|line| line.starts_with('>')) {
                return None;
            }
            ">"
        }
        Prefix::Indent => {
            let first = non_blank.next()?;
            let mut common = &first[..first.len() - first.trim_start().len()];
            for line in non_blank {
                let shared = common
                    .char_indices()
                    .zip(line.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(common.len().min(line.len()), |((at, _), _)| at);
                common = &common[..shared];
            }
            common
        }
    };
    if prefix.is_empty() || lines.iter().any(|line| is_header(line)) {
        return None;
    }
    let strip = |line: &str| -> String {
        let rest = line.get(prefix.len()..).unwrap_or("");
        match kind {
            // `> ` or `>`: the space after the marker is the quote's, not the diff's, unless
            // the line is a context line quoted without it (`>  x` keeps one space).
            Prefix::Quote => rest.strip_prefix(' ').unwrap_or(rest).to_string(),
            Prefix::Indent => rest.to_string(),
        }
    };
    let stripped: Vec<String> = lines.iter().map(|line| strip(line)).collect();
    if !stripped.iter().any(|line| is_header(line)) {
        return None;
    }
    let mut out = stripped.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str =
        "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n";

    #[test]
    fn a_plain_diff_is_left_as_it_is() {
        assert!(matches!(unwrap(DIFF), Cow::Borrowed(text) if text == DIFF));
    }

    #[test]
    fn an_indented_diff_is_dedented() {
        let indented: String = DIFF.lines().map(|line| format!("    {line}\n")).collect();
        assert_eq!(unwrap(&indented), DIFF);
        let with_blank = "  --- a/x\n  +++ b/x\n  @@ @@\n   a\n\n  -b\n  +c\n";
        assert_eq!(
            unwrap(with_blank),
            "--- a/x\n+++ b/x\n@@ @@\n a\n\n-b\n+c\n"
        );
    }

    #[test]
    fn quoted_and_escaped_diffs_are_unwrapped() {
        let quoted: String = DIFF.lines().map(|line| format!("> {line}\n")).collect();
        assert_eq!(unwrap(&quoted), DIFF);
        assert_eq!(unwrap(&format!("\"{DIFF}\"")), DIFF);
        let escaped = DIFF.replace('\n', "\\n");
        assert_eq!(unwrap(&escaped), DIFF);
    }

    #[test]
    fn escapes_inside_a_real_diff_are_content() {
        let diff = "--- a/x\n+++ b/x\n@@ @@\n-print(\"a\\n\")\n+print(\"b\\n\")\n";
        assert_eq!(unwrap(diff), diff);
    }
}
