/*! `write_file`: create a file or replace its content, prepared as an edit for review. */

use schemars::JsonSchema;
use serde::Deserialize;

use crate::{ChangeKind, ExecutableBit, FileChange, PreparedEdit, Workspace};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFileArgs {
    /// Path of the file, relative to the workspace root; missing directories are created.
    pub path: String,
    /// The complete new content of the file.
    pub content: String,
}

/// Plans the write without touching the disk.
pub fn prepare(workspace: &Workspace, args: &WriteFileArgs) -> Result<PreparedEdit, String> {
    let absolute = workspace
        .resolve(&args.path)
        .map_err(|error| error.to_string())?;
    if absolute.is_dir() {
        return Err(format!("`{}` is a directory", args.path));
    }
    let read = match workspace.buffered(&absolute) {
        Some(text) => Ok(text.into_bytes()),
        None => std::fs::read(&absolute),
    };
    let old = match read {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
            format!(
                "`{}` is not UTF-8 text; refusing to overwrite it",
                args.path
            )
        })?),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(format!("cannot read `{}`: {error}", args.path)),
    };
    // The file has this content already: no change (a model sending a write again learns so,
    // where "+0 -0" read as another edit made).
    if old.as_deref() == Some(args.content.as_str()) {
        return Ok(PreparedEdit {
            changes: Vec::new(),
        });
    }
    let kind = if old.is_some() {
        ChangeKind::Modify
    } else {
        ChangeKind::Create
    };
    Ok(PreparedEdit {
        changes: vec![FileChange {
            path: workspace.relative(&absolute),
            absolute,
            kind,
            old,
            new: Some(args.content.clone()),
            old_stamp: None,
            executable: ExecutableBit::Keep,
        }],
    })
}

/// What a rewrite of an existing file leaves out, when it leaves out most of it and either a
/// definition is gone or the file is less than half as long: the lines, and the definitions no
/// longer there. Models asked to change one function sometimes write back only that function;
/// said in the result, the loss is noticed. A small file rewritten whole with its definitions
/// kept (every line restyled, a parameter added) is not a loss: told it was, a model read it as
/// its mistake (Qwen2.5-Coder-1.5B, bench task `words`).
pub fn loss_note(old: &str, new: &str) -> Option<String> {
    let non_blank = |text: &str| text.lines().filter(|line| !line.trim().is_empty()).count();
    let old_lines = non_blank(old);
    let kept: std::collections::HashSet<&str> = new.lines().map(str::trim).collect();
    let lost = old
        .lines()
        .filter(|line| !line.trim().is_empty() && !kept.contains(line.trim()))
        .count();
    if old_lines < 3 || lost * 2 <= old_lines {
        return None;
    }
    let now_defined = crate::definitions::names(new);
    let gone: Vec<&str> = crate::definitions::names(old)
        .into_iter()
        .filter(|name| !now_defined.contains(name))
        .collect();
    let definitions = match (gone.is_empty(), non_blank(new) * 2 < old_lines) {
        (true, false) => return None,
        (true, true) => String::new(),
        (false, _) => format!("; no longer defined: {}", gone.join(", ")),
    };
    Some(format!(
        "this replaced the whole file: {lost} of its {old_lines} non-blank lines are gone{definitions}. If you meant to change only part of it, write the file again with everything it should keep, or change just that part with an edit"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: writing a file's own content again was "applied: +0 -0", read as a new edit.
    #[test]
    fn writing_what_the_file_holds_changes_nothing() {
        let (_dir, workspace) = crate::test_tree::tree(&[("f.txt", "a\nc")]);
        let same = WriteFileArgs {
            path: "f.txt".into(),
            content: "a\nc".into(),
        };
        assert_eq!(prepare(&workspace, &same).unwrap().changes.len(), 0);
        let other = WriteFileArgs {
            path: "f.txt".into(),
            content: "a\nc\n".into(),
        };
        assert_eq!(prepare(&workspace, &other).unwrap().changes.len(), 1);
    }

    #[test]
    fn a_rewrite_that_keeps_one_function_of_many_says_what_is_gone() {
        let old = "import os\n\ndef add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n\nclass Calc:\n    def mul(self, a, b):\n        return a * b\n";
        let new = "def sub(a, b):\n    return b - a\n";
        assert_eq!(
            loss_note(old, new),
            Some("this replaced the whole file: 7 of its 8 non-blank lines are gone; no longer defined: add, Calc, mul. If you meant to change only part of it, write the file again with everything it should keep, or change just that part with an edit".into())
        );
        assert_eq!(loss_note(old, &old.replace("a - b", "b - a")), None);
        assert_eq!(loss_note("a\nb\n", "c\n"), None);
    }

    /// Regression: every line of a small file restyled, its function kept, was called a loss.
    #[test]
    fn a_whole_rewrite_that_keeps_the_definitions_is_no_loss() {
        let old = "def join_words(words):\n    \"\"\"Join words with a single space.\"\"\"\n    return \" \".join(words)\n";
        let new = "def join_words(words, sep=' '):\n    \"\"\"Join words with sep.\"\"\"\n    return sep.join(words)\n";
        assert_eq!(loss_note(old, new), None);
        let notes = "one\ntwo\nthree\nfour\nfive\n";
        assert_eq!(
            loss_note(notes, "six\n"),
            Some("this replaced the whole file: 5 of its 5 non-blank lines are gone. If you meant to change only part of it, write the file again with everything it should keep, or change just that part with an edit".into())
        );
    }
}
