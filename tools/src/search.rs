/*!
`search`: regex search over file contents with ripgrep's own crates, honouring .gitignore and
skipping binary files.
*/

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use grep_searcher::{BinaryDetection, SearcherBuilder, sinks::UTF8};
use ignore::WalkState;
use ignore::overrides::OverrideBuilder;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::missing::missing_path;
use crate::{ToolOutput, Workspace};

const MAX_MATCHES: usize = 500;
const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Regular expression to search for (Rust regex syntax; `(?i)` for case-insensitive), or
    /// plain text with `literal`.
    pub pattern: String,
    /// File or directory to search in, relative to the workspace root (default: the root).
    pub path: Option<String>,
    /// Only search files whose path matches this glob, e.g. `*.md` or `docs/**/*.txt`.
    pub glob: Option<String>,
    /// Match the pattern as plain text, not as a regex (default false).
    pub literal: Option<bool>,
}

/// How a pattern is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Regex,
    Literal,
    /// Both in one walk: models write code as patterns (`def add(a, b):`), so a regex that
    /// matches nothing is answered with the matches of the text it spells.
    RegexOrLiteral,
}

/// The matches found, and whether the search stopped at [`MAX_MATCHES`].
#[derive(Debug, Default)]
struct Found {
    lines: Vec<String>,
    truncated: bool,
}

impl Found {
    /// Takes one more line; false once full (the line is dropped and the search may stop).
    fn take(&mut self, line: impl FnOnce() -> String) -> bool {
        if self.lines.len() >= MAX_MATCHES {
            self.truncated = true;
            return false;
        }
        self.lines.push(line());
        true
    }
}

/// What one walk found: the pattern's matches as a regex, and as literal text.
#[derive(Debug, Default)]
struct Searched {
    regex: Found,
    literal: Found,
}

pub fn run(workspace: &Workspace, args: &SearchArgs) -> ToolOutput {
    let shown = args.path.as_deref().unwrap_or(".");
    let root = match workspace.resolve(shown) {
        Ok(root) => root,
        Err(error) => return ToolOutput::error(error.to_string()),
    };
    if !root.exists() {
        return ToolOutput::error(missing_path(workspace, shown, &root));
    }
    let pattern = &args.pattern;
    let reading = match args.literal {
        Some(true) => Reading::Literal,
        Some(false) | None if has_regex_syntax(pattern) => Reading::RegexOrLiteral,
        Some(false) | None => Reading::Regex,
    };
    let (found, note) = match search(workspace, &root, args, reading) {
        // A pattern that is no valid regex is searched as the text it spells.
        Err(SearchError::Regex(error)) => (
            search(workspace, &root, args, Reading::Literal).map(|searched| searched.literal),
            Some(format!(
                "`{pattern}` is not a valid regex ({}); searched it as literal text",
                first_line(&error)
            )),
        ),
        Err(error) => (Err(error), None),
        Ok(searched) => match reading {
            Reading::Literal => (Ok(searched.literal), None),
            Reading::Regex => (Ok(searched.regex), None),
            Reading::RegexOrLiteral
                if searched.regex.lines.is_empty() && !searched.literal.lines.is_empty() =>
            {
                (
                    Ok(searched.literal),
                    Some(format!(
                        "the regex `{pattern}` matches nothing; these are matches of it as literal text"
                    )),
                )
            }
            Reading::RegexOrLiteral => (Ok(searched.regex), None),
        },
    };
    let found = match found {
        Ok(found) => found,
        Err(error) => return ToolOutput::error(error.to_string()),
    };
    if found.lines.is_empty() {
        let how = match reading {
            Reading::RegexOrLiteral => " (as a regex or as literal text)",
            Reading::Regex | Reading::Literal => "",
        };
        return ToolOutput::success(format!("no matches for `{pattern}`{how} in `{shown}`"));
    }
    let mut out = String::new();
    if let Some(note) = note {
        out.push_str(&format!("({note})\n"));
    }
    out.push_str(&found.lines.join("\n"));
    if found.truncated {
        out.push_str(&format!(
            "\n(stopped at {MAX_MATCHES} matches; narrow the pattern, path or glob)"
        ));
    }
    ToolOutput::success(out)
}

#[derive(Debug, thiserror::Error)]
enum SearchError {
    #[error("invalid regex: {0}")]
    Regex(String),
    #[error("invalid glob `{glob}`: {message}")]
    Glob { glob: String, message: String },
}

/// The matcher of one walk for `reading`, and the regex alone when lines must be told apart.
fn matchers(
    pattern: &str,
    reading: Reading,
) -> Result<(RegexMatcher, Option<RegexMatcher>), SearchError> {
    let build = |pattern: &str, fixed: bool| {
        RegexMatcherBuilder::new()
            .fixed_strings(fixed)
            .line_terminator(Some(b'\n'))
            .build(pattern)
            .map_err(|error| SearchError::Regex(error.to_string()))
    };
    match reading {
        Reading::Regex => Ok((build(pattern, false)?, None)),
        Reading::Literal => Ok((build(pattern, true)?, None)),
        Reading::RegexOrLiteral => {
            let regex = build(pattern, false)?;
            let either = format!("(?:{pattern})|{}", regex_syntax::escape(pattern));
            Ok((build(&either, false)?, Some(regex)))
        }
    }
}

/// A matching line: where, its text, and which readings of the pattern it matches.
struct Hit {
    path: String,
    number: u64,
    text: String,
    regex: bool,
    literal: bool,
}

/// How many matching lines a walk collects before it stops: the answer shows the first
/// [`MAX_MATCHES`] in path order of those.
const COLLECTED: usize = 8 * MAX_MATCHES;

/// Walks the tree on every core (as ripgrep does), each file searched once for every reading
/// asked; the lines are put in path order after.
fn search(
    workspace: &Workspace,
    root: &std::path::Path,
    args: &SearchArgs,
    reading: Reading,
) -> Result<Searched, SearchError> {
    let (matcher, regex_alone) = matchers(&args.pattern, reading)?;
    let mut walker = Workspace::walker(root);
    if let Some(glob) = &args.glob {
        let mut overrides = OverrideBuilder::new(root);
        let built = overrides.add(glob).and_then(|builder| builder.build());
        match built {
            Ok(overrides) => {
                walker.overrides(overrides);
            }
            Err(error) => {
                return Err(SearchError::Glob {
                    glob: glob.clone(),
                    message: error.to_string(),
                });
            }
        }
    }
    let literal = memchr::memmem::Finder::new(args.pattern.as_bytes());
    let hits = Mutex::new(Vec::new());
    let counted = AtomicUsize::new(0);
    walker.build_parallel().run(|| {
        let mut searcher = SearcherBuilder::new()
            .binary_detection(BinaryDetection::quit(b'\x00'))
            .line_number(true)
            .build();
        let (matcher, regex_alone, literal) = (&matcher, &regex_alone, &literal);
        let (hits, counted) = (&hits, &counted);
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|kind| kind.is_file()) {
                return WalkState::Continue;
            }
            let path = workspace.relative(entry.path());
            let mut found = Vec::new();
            let sink = UTF8(|number, line| {
                let (regex, literal) = match (reading, regex_alone) {
                    (Reading::Regex, _) => (true, false),
                    (Reading::Literal, _) => (false, true),
                    (Reading::RegexOrLiteral, Some(regex)) => (
                        regex.is_match(line.as_bytes()).unwrap_or(false),
                        literal.find(line.as_bytes()).is_some(),
                    ),
                    (Reading::RegexOrLiteral, None) => (true, false),
                };
                found.push(Hit {
                    path: path.clone(),
                    number,
                    text: line.trim_end().chars().take(MAX_LINE_CHARS).collect(),
                    regex,
                    literal,
                });
                Ok(found.len() < COLLECTED)
            });
            // A file that vanished or cannot be decoded is skipped, like ripgrep does.
            let _ = searcher.search_path(matcher, entry.path(), sink);
            if found.is_empty() {
                return WalkState::Continue;
            }
            let total = counted.fetch_add(found.len(), Ordering::Relaxed) + found.len();
            hits.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend(found);
            match total >= COLLECTED {
                true => WalkState::Quit,
                false => WalkState::Continue,
            }
        })
    });
    let mut hits = hits
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    hits.sort_by(|a, b| (&a.path, a.number).cmp(&(&b.path, b.number)));
    Ok(Searched {
        regex: found_of(&hits, |hit| hit.regex),
        literal: found_of(&hits, |hit| hit.literal),
    })
}

/// The lines `wanted` picks, at most [`MAX_MATCHES`] of them.
fn found_of(hits: &[Hit], wanted: impl Fn(&Hit) -> bool) -> Found {
    let mut found = Found::default();
    for hit in hits.iter().filter(|hit| wanted(hit)) {
        if !found.take(|| format!("{}:{}:{}", hit.path, hit.number, hit.text)) {
            break;
        }
    }
    found
}

/// Whether the pattern means something else as a regex than as text.
fn has_regex_syntax(pattern: &str) -> bool {
    pattern.contains(|c: char| "\\.+*?()|[]{}^$".contains(c))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("regex parse error"))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("calc.py"),
            "def add(a, b):\n    return a - b\n",
        )
        .unwrap();
        let workspace = Workspace::new(dir.path()).unwrap();
        (dir, workspace)
    }

    fn search_for(workspace: &Workspace, pattern: &str, literal: Option<bool>) -> String {
        let args = SearchArgs {
            pattern: pattern.into(),
            path: None,
            glob: None,
            literal,
        };
        run(workspace, &args).content
    }

    #[test]
    fn code_that_is_no_match_as_a_regex_is_found_as_text() {
        let (_dir, workspace) = workspace();
        assert_eq!(
            search_for(&workspace, "def add(a, b):", None),
            "(the regex `def add(a, b):` matches nothing; these are matches of it as literal text)\ncalc.py:1:def add(a, b):"
        );
        assert_eq!(
            search_for(&workspace, "def add(a, b):", Some(true)),
            "calc.py:1:def add(a, b):"
        );
    }

    #[test]
    fn an_invalid_regex_is_searched_as_text_and_said_so() {
        let (_dir, workspace) = workspace();
        let found = search_for(&workspace, "add(a", None);
        assert!(
            found.starts_with("(`add(a` is not a valid regex (")
                && found.ends_with("; searched it as literal text)\ncalc.py:1:def add(a, b):"),
            "{found}"
        );
    }

    #[test]
    fn regexes_still_work_and_misses_say_how_they_were_searched() {
        let (_dir, workspace) = workspace();
        assert_eq!(
            search_for(&workspace, r"return a \W b", None),
            "calc.py:2:    return a - b"
        );
        assert_eq!(
            search_for(&workspace, "mul(a, b)", None),
            "no matches for `mul(a, b)` (as a regex or as literal text) in `.`"
        );
    }
}
