/*! `read_file`: the lines of a text file, numbered, a page at a time. */

use schemars::JsonSchema;
use serde::Deserialize;

use crate::missing::missing_path;
use crate::{ToolOutput, Workspace};

const DEFAULT_LIMIT: usize = 2000;
const MAX_LINE_CHARS: usize = 2000;
const MAX_OUTPUT_BYTES: usize = 100 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileArgs {
    /// Path of the file, relative to the workspace root.
    pub path: String,
    /// First line to return, 1-based (default 1).
    #[schemars(range(min = 1))]
    pub offset: Option<u32>,
    /// Number of lines to return (default 2000).
    #[schemars(range(min = 1))]
    pub limit: Option<u32>,
}

pub fn run(workspace: &Workspace, args: &ReadFileArgs) -> ToolOutput {
    let path = match workspace.resolve(&args.path) {
        Ok(path) => path,
        Err(error) => return ToolOutput::error(error.to_string()),
    };
    let read = match workspace.buffered(&path) {
        Some(text) => Ok(text.into_bytes()),
        None => std::fs::read(&path),
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(error) if path.is_dir() => {
            return ToolOutput::error(format!(
                "`{}` is a directory ({error}); use list_files to see its content",
                args.path
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return ToolOutput::error(missing_path(workspace, &args.path, &path));
        }
        Err(error) => return ToolOutput::error(format!("cannot read `{}`: {error}", args.path)),
    };
    if bytes.iter().take(8192).any(|&byte| byte == 0) {
        return ToolOutput::error(format!(
            "`{}` is a binary file ({} bytes)",
            args.path,
            bytes.len()
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    ToolOutput::success(numbered_page(&text, args))
}

fn numbered_page(text: &str, args: &ReadFileArgs) -> String {
    let total = text.lines().count();
    if total == 0 {
        return "(empty file)".to_string();
    }
    let offset = args.offset.map_or(1, |offset| offset.max(1) as usize);
    let limit = args
        .limit
        .map_or(DEFAULT_LIMIT, |limit| limit.max(1) as usize);
    if offset > total {
        return format!("(offset {offset} is past the end: the file has {total} lines)");
    }
    let mut out = String::new();
    let mut last = offset - 1;
    for (index, line) in text.lines().enumerate().skip(offset - 1).take(limit) {
        if out.len() > MAX_OUTPUT_BYTES {
            break;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let shown: String = line.chars().take(MAX_LINE_CHARS).collect();
        let clipped = if shown.len() < line.len() {
            " [line clipped]"
        } else {
            ""
        };
        out.push_str(&format!("{:>6}\t{shown}{clipped}\n", index + 1));
        last = index + 1;
    }
    if last < total {
        out.push_str(&format!(
            "(lines {offset}-{last} of {total}; read on with offset {})\n",
            last + 1
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(offset: Option<u32>, limit: Option<u32>) -> ReadFileArgs {
        ReadFileArgs {
            path: "f".into(),
            offset,
            limit,
        }
    }

    #[test]
    fn lines_are_numbered() {
        assert_eq!(
            numbered_page("a\r\nb\n", &args(None, None)),
            "     1\ta\n     2\tb\n"
        );
    }

    #[test]
    fn pages_say_where_to_continue() {
        assert_eq!(
            numbered_page("a\nb\nc\n", &args(Some(2), Some(1))),
            "     2\tb\n(lines 2-2 of 3; read on with offset 3)\n"
        );
        assert_eq!(
            numbered_page("a\n", &args(Some(5), None)),
            "(offset 5 is past the end: the file has 1 lines)"
        );
    }
}
