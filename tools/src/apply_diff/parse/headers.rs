/*! The numbers of a `@@` line and the paths of `---`/`+++` and `diff --git` lines. */

/// `@@ -12,5 +12,6 @@` with `side` '-' → (Some(12), Some(5)); anything unparseable gives no hint.
pub(super) fn hunk_header_numbers(line: &str, side: char) -> (Option<usize>, Option<usize>) {
    let Some(part) = line.split_whitespace().find(|part| part.starts_with(side)) else {
        return (None, None);
    };
    let mut numbers = part[1..].splitn(2, ',');
    let start = numbers.next().and_then(|start| start.parse().ok());
    let count = match numbers.next() {
        Some(count) => count.parse().ok(),
        None => start.map(|_| 1),
    };
    (start, count)
}

/// The path of a `---`/`+++` line: timestamps (after a tab) dropped, quotes removed.
pub(super) fn header_path(rest: &str) -> Option<String> {
    let path = rest.split('\t').next().unwrap_or(rest).trim();
    let path = unquote(path);
    if path == "/dev/null" || path.is_empty() {
        None
    } else {
        Some(path)
    }
}

/// `a/x b/y` from a `diff --git` line (paths without spaces; quoted ones are unquoted).
pub(super) fn git_header_paths(rest: &str) -> (Option<String>, Option<String>) {
    if let Some(split) = rest.find(" b/") {
        return (
            Some(unquote(&rest[..split])),
            Some(unquote(&rest[split + 1..])),
        );
    }
    let mut parts = rest.split_whitespace().map(unquote);
    (parts.next(), parts.next())
}

pub(super) fn unquote(path: &str) -> String {
    let path = path.trim();
    match path
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => path.to_string(),
    }
}
