/*!
`search`: regex search over file contents with ripgrep's own crates, honouring .gitignore and
skipping binary files.
*/

use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, SearcherBuilder, sinks::UTF8};
use ignore::{WalkBuilder, overrides::OverrideBuilder};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{ToolOutput, Workspace};

const MAX_MATCHES: usize = 500;
const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Regular expression to search for (Rust regex syntax; `(?i)` for case-insensitive).
    pub pattern: String,
    /// File or directory to search in, relative to the workspace root (default: the root).
    pub path: Option<String>,
    /// Only search files whose path matches this glob, e.g. `*.rs` or `src/**/*.ts`.
    pub glob: Option<String>,
}

pub fn run(workspace: &Workspace, args: &SearchArgs) -> ToolOutput {
    let shown = args.path.as_deref().unwrap_or(".");
    let root = match workspace.resolve(shown) {
        Ok(root) => root,
        Err(error) => return ToolOutput::error(error.to_string()),
    };
    if !root.exists() {
        return ToolOutput::error(format!("`{shown}` does not exist"));
    }
    let matcher = match RegexMatcher::new_line_matcher(&args.pattern) {
        Ok(matcher) => matcher,
        Err(error) => {
            return ToolOutput::error(format!("invalid regex `{}`: {error}", args.pattern));
        }
    };
    let mut walker = WalkBuilder::new(&root);
    walker
        .hidden(false)
        .filter_entry(|entry| entry.file_name() != ".git");
    walker.sort_by_file_path(|a, b| a.cmp(b));
    if let Some(glob) = &args.glob {
        let mut overrides = OverrideBuilder::new(&root);
        let built = overrides.add(glob).and_then(|builder| builder.build());
        match built {
            Ok(overrides) => {
                walker.overrides(overrides);
            }
            Err(error) => return ToolOutput::error(format!("invalid glob `{glob}`: {error}")),
        }
    }
    let mut searcher = SearcherBuilder::new()
        .binary_detection(BinaryDetection::quit(b'\x00'))
        .line_number(true)
        .build();
    let mut lines = Vec::new();
    let mut truncated = false;
    for entry in walker.build().flatten() {
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let relative = workspace.relative(entry.path());
        let sink = UTF8(|number, line| {
            if lines.len() >= MAX_MATCHES {
                truncated = true;
                return Ok(false);
            }
            let text: String = line.trim_end().chars().take(MAX_LINE_CHARS).collect();
            lines.push(format!("{relative}:{number}:{text}"));
            Ok(true)
        });
        // A file that vanished or cannot be decoded is skipped, like ripgrep does.
        let _ = searcher.search_path(&matcher, entry.path(), sink);
        if truncated {
            break;
        }
    }
    if lines.is_empty() {
        return ToolOutput::success(format!("no matches for `{}` in `{shown}`", args.pattern));
    }
    let mut out = lines.join("\n");
    if truncated {
        out.push_str(&format!(
            "\n(stopped at {MAX_MATCHES} matches; narrow the pattern, path or glob)"
        ));
    }
    ToolOutput::success(out)
}
