/*!
Code a model wrote in its reply instead of calling a tool. Small models whose calls come as text
write edits as Aider's formats ([`blocks`]: SEARCH/REPLACE after a path, or a path and the file
in a fence), or end with "here is the fixed code" and a fenced block, having changed nothing
(3 of 10 tasks, measured with Qwen2.5-Coder-1.5B). Where the text says plainly what it replaces,
that is proposed as an ordinary edit, which review then shows like any other:

- a SEARCH/REPLACE block: an `edit_file`;
- a path and a fenced block holding one definition the file has once: an `edit_file` of that
  definition (the rest of the file stays); any other path and block: a `write_file`;

and for a block with no path:

- one definition (`def last(items): …`) whose name is defined exactly once in the workspace:
  an `edit_file` of that definition;
- a block holding every definition of exactly one file of the workspace: a `write_file` of it.

Anything else (a snippet, a command, a block that matches several places) proposes nothing.
*/

use crate::Workspace;
mod blocks;

use blocks::Block;

use crate::apply_diff::ApplyDiffArgs;
use crate::definitions::{definition, names};
use crate::edit_file::EditFileArgs;
use crate::write_file::WriteFileArgs;

/// Files larger than this are not searched for the definition.
const MAX_FILE_BYTES: u64 = 256 * 1024;
/// The search gives up after this many files: a proposal must stay cheap in a large tree.
const MAX_FILES: usize = 5_000;

/// An edit the shown code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    Edit(EditFileArgs),
    Write(WriteFileArgs),
    /// A diff shown in a ```` ```diff ```` block that applies to the workspace as it is.
    Diff(ApplyDiffArgs),
}

/// The edits `reply` stands for: its edit blocks, or else its one code block's; empty when it
/// says no edit plainly.
pub fn proposals(workspace: &Workspace, reply: &str) -> Vec<Proposal> {
    let blocks = blocks::edits_in(reply);
    let mut files = Files::of(workspace);
    if blocks.is_empty() {
        return shown(workspace, &mut files, reply);
    }
    blocks
        .into_iter()
        .filter_map(|block| match block {
            Block::SearchReplace {
                path,
                search,
                replace,
            } => Some(Proposal::Edit(EditFileArgs {
                path: path_holding(workspace, &mut files, path, &search),
                old_string: Some(search),
                new_string: Some(replace),
                replace_all: None,
                edits: None,
            })),
            Block::WholeFile { path, content } => named(workspace, &path, &content),
        })
        .collect()
}

/// The file a SEARCH/REPLACE block edits: the path it names when that file exists; else the one
/// file of the workspace that holds its SEARCH text (small models copy the example's
/// `path/to/file`), else the path as named (the edit then says the file does not exist).
fn path_holding(workspace: &Workspace, files: &mut Files, named: String, search: &str) -> String {
    let exists = workspace.resolve(&named).is_ok_and(|path| path.is_file());
    if exists || search.trim().is_empty() {
        return named;
    }
    let mut holding = files.all().iter().filter(|(_, text)| text.contains(search));
    match (holding.next(), holding.next()) {
        (Some((path, _)), None) => path.clone(),
        _ => named,
    }
}

/// A block named with a path: the replacement of the one definition it holds when the file has
/// it once (the rest of the file stays), else the whole file; nothing when the file already
/// reads so.
fn named(workspace: &Workspace, path: &str, content: &str) -> Option<Proposal> {
    let absolute = workspace.resolve(path).ok()?;
    let text = std::fs::read_to_string(&absolute).ok();
    if let (Some(text), Some((keyword, name, indent))) = (&text, single_definition(content)) {
        let places = text
            .lines()
            .filter(|line| definition(line) == Some((keyword, name)))
            .count();
        if places == 1 {
            let file = [(workspace.relative(&absolute), text.clone())];
            return replace_definition(&file, content, keyword, name, indent);
        }
    }
    (text.as_deref() != Some(content)).then(|| {
        Proposal::Write(WriteFileArgs {
            path: path.to_string(),
            content: content.to_string(),
        })
    })
}

/// The edits the reply's code blocks (with no path line above them) stand for: each block that
/// is one definition defined once in the workspace and differs from it, or one named by its
/// first line (`# calc.py`); else, for a reply of one block, the file whose every definition
/// it holds.
fn shown(workspace: &Workspace, files: &mut Files, reply: &str) -> Vec<Proposal> {
    let blocks = code_blocks(reply);
    let mut proposals: Vec<Proposal> = Vec::new();
    // Only the last block shown for a place is the model's word: an earlier one (the code as it
    // was) is no edit, even once the file has the later one (a reply sent again would undo it).
    let last_words = blocks
        .iter()
        .enumerate()
        .filter(|(at, block)| {
            !blocks[at + 1..]
                .iter()
                .any(|later| same_place(block, later))
        })
        .map(|(_, block)| block);
    for block in last_words {
        let proposal = match (&block.path, single_definition(&block.code)) {
            _ if block.kind == Kind::Diff => applying_diff(workspace, &block.code),
            (Some(path), _) => named(workspace, path, &block.code),
            (None, Some((keyword, name, indent))) => {
                replace_definition(files.all(), &block.code, keyword, name, indent)
            }
            (None, None) => None,
        };
        if let Some(proposal) = proposal {
            // A later block for the same place is the model's last word.
            proposals.retain(|earlier| target(earlier) != target(&proposal));
            proposals.push(proposal);
        }
    }
    if !proposals.is_empty() {
        return proposals;
    }
    match blocks.as_slice() {
        [only]
            if only.kind == Kind::Code
                && only.path.is_none()
                && single_definition(&only.code).is_none() =>
        {
            whole_file_of(files.all(), &only.code).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// Whether two blocks show the same place: the same named file, or the same definition.
fn same_place(block: &CodeBlock, later: &CodeBlock) -> bool {
    match (block.kind, later.kind, &block.path, &later.path) {
        (Kind::Code, Kind::Code, Some(path), Some(later_path)) => path == later_path,
        (Kind::Code, Kind::Code, None, None) => {
            let definition =
                |code| single_definition(code).map(|(keyword, name, _)| (keyword, name));
            definition(&block.code).is_some() && definition(&block.code) == definition(&later.code)
        }
        _ => false,
    }
}

/// What a proposal replaces: its file, and the text it replaces there.
fn target(proposal: &Proposal) -> (&str, Option<&str>) {
    match proposal {
        Proposal::Edit(args) => (&args.path, args.old_string.as_deref()),
        Proposal::Write(args) => (&args.path, None),
        Proposal::Diff(args) => (&args.diff, None),
    }
}

/// A shown diff that applies to the workspace as it is and changes something.
fn applying_diff(workspace: &Workspace, diff: &str) -> Option<Proposal> {
    let edit = crate::apply_diff::prepare(workspace, diff).ok()?;
    (!edit.changes.is_empty()).then(|| {
        Proposal::Diff(ApplyDiffArgs {
            diff: diff.to_string(),
        })
    })
}

/// The one file all of whose definitions `code` holds, rewritten as `code`.
fn whole_file_of(files: &[(String, String)], code: &str) -> Option<Proposal> {
    let shown = names(code);
    if shown.is_empty() {
        return None;
    }
    let mut whole = files.iter().filter(|(_, text)| {
        let defined = names(text);
        !defined.is_empty() && defined.iter().all(|name| shown.contains(name))
    });
    match (whole.next(), whole.next()) {
        (Some((path, text)), None) if text != code => Some(Proposal::Write(WriteFileArgs {
            path: path.clone(),
            content: code.to_string(),
        })),
        _ => None,
    }
}

/// A fenced block of code in a reply, and the path its first line names, if it does.
struct CodeBlock {
    kind: Kind,
    path: Option<String>,
    code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Code,
    Diff,
}

/// The reply's fenced blocks of code and diffs (not JSON or shell sessions), each without the
/// indentation of its fence (blocks inside list items are indented).
fn code_blocks(reply: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut lines = reply.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let fence_indent = line.len() - line.trim_start().len();
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|line| !line.trim_start().starts_with("```"))
            .map(|line| {
                let indent = (line.len() - line.trim_start().len()).min(fence_indent);
                &line[indent..]
            })
            .collect();
        let kind = match info.trim() {
            "diff" | "patch" => Kind::Diff,
            "json" | "sh" | "bash" | "shell" | "console" | "text" | "tool_call" => continue,
            _ => Kind::Code,
        };
        let path = match kind {
            Kind::Code => body.first().and_then(|first| blocks::path_comment(first)),
            Kind::Diff => None,
        };
        let code: String = body
            .iter()
            .skip(usize::from(path.is_some()))
            .map(|line| format!("{line}\n"))
            .collect();
        if !code.trim().is_empty() {
            blocks.push(CodeBlock { kind, path, code });
        }
    }
    blocks
}

/// The definition `code` is, when it is one and nothing else: its first line starts it, and
/// every other line belongs to it (indented deeper, or its closing brace).
fn single_definition(code: &str) -> Option<(&str, &str, usize)> {
    let lines: Vec<&str> = code
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let first = lines.first()?;
    let (keyword, name) = definition(first)?;
    let indent = indentation(first);
    let body_inside = lines[1..].iter().enumerate().all(|(index, line)| {
        indentation(line) > indent || (index == lines.len() - 2 && line.trim().starts_with('}'))
    });
    (lines.len() > 1 && body_inside).then_some((keyword, name, indent))
}

/// An `edit_file` of the one place `name` is defined as `keyword`.
fn replace_definition(
    files: &[(String, String)],
    code: &str,
    keyword: &str,
    name: &str,
    code_indent: usize,
) -> Option<Proposal> {
    let mut places = files.iter().flat_map(|(path, text)| {
        let lines: Vec<&str> = text.lines().collect();
        (0..lines.len())
            .filter(move |&at| definition(lines[at]) == Some((keyword, name)))
            .map(move |at| (path, text, at))
            .collect::<Vec<_>>()
    });
    let (path, text, at) = places.next()?;
    if places.next().is_some() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let end = definition_end(&lines, at);
    let old: String = lines[at..=end]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    let file_indent = &lines[at][..indentation(lines[at])];
    let new: String = code
        .lines()
        .map(|line| match line.trim().is_empty() {
            true => "\n".to_string(),
            false => format!(
                "{file_indent}{}\n",
                line.get(code_indent..).unwrap_or(line.trim_start())
            ),
        })
        .collect();
    let new = format!("{}\n", new.trim_end_matches('\n'));
    (old != new).then(|| {
        Proposal::Edit(EditFileArgs {
            path: path.clone(),
            old_string: Some(old),
            new_string: Some(new),
            replace_all: None,
            edits: None,
        })
    })
}

/// The last line of the definition starting at line `at`: its closing brace when it opens one,
/// else the last line indented deeper than it.
fn definition_end(lines: &[&str], at: usize) -> usize {
    let indent = indentation(lines[at]);
    if lines[at].contains('{') {
        let mut depth: isize = 0;
        for (index, line) in lines.iter().enumerate().skip(at) {
            depth += line.matches('{').count() as isize - line.matches('}').count() as isize;
            if depth <= 0 {
                return index;
            }
        }
        return lines.len() - 1;
    }
    let mut end = at;
    for (index, line) in lines.iter().enumerate().skip(at + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indentation(line) <= indent {
            break;
        }
        end = index;
    }
    end
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The workspace's text files, read on first need: most replies (a final answer, a block that
/// names its file) need no walk of the tree.
struct Files<'w> {
    workspace: &'w Workspace,
    read: Option<Vec<(String, String)>>,
}

impl<'w> Files<'w> {
    fn of(workspace: &'w Workspace) -> Self {
        Self {
            workspace,
            read: None,
        }
    }

    fn all(&mut self) -> &[(String, String)] {
        let workspace = self.workspace;
        self.read.get_or_insert_with(|| text_files(workspace))
    }
}

/// The workspace's text files (paths relative to its root), as the tools see them.
fn text_files(workspace: &Workspace) -> Vec<(String, String)> {
    Workspace::walker(workspace.root())
        .build()
        .flatten()
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .filter(|entry| {
            entry
                .metadata()
                .is_ok_and(|meta| meta.len() <= MAX_FILE_BYTES)
        })
        .take(MAX_FILES)
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            Some((workspace.relative(entry.path()), text))
        })
        .collect()
}

#[cfg(test)]
mod tests;
