/*!
Parsing of unified diffs as tools and models write them: `git diff` (with its metadata lines),
`diff -u`, and the loose form (no `a/`/`b/`, `@@ @@` or no `@@` line at all, wrong counts, fenced
in ```` ``` ````, context lines without their leading space).

Every line after a hunk header belongs to that hunk until the next header: a line without a
`+`/`-`/space sign is a context line whose sign was lost (models write context as the file's
lines as they are), never the end of the hunk. So no `+` or `-` line of a diff is ever left out:
either it is applied, or the whole diff is refused.
*/

/// One file's part of a diff. Paths are as written (prefixes and all); `None` is `/dev/null`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilePatch<'a> {
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub hunks: Vec<Hunk<'a>>,
    /// Started by `diff --git`, so `a/` and `b/` are prefixes, not directories.
    pub git_format: bool,
    pub new_file: bool,
    pub deleted_file: bool,
    /// `new mode` / `new file mode`: whether the file is to be executable afterwards.
    pub executable: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Remove,
    Add,
}

/// Whether a context line's sign is known. In a hunk where some context line was written
/// without its leading space, a line that begins with a space may be a signed line or one whose
/// sign was lost (and whose space is indentation), so every context line of that hunk is matched
/// ignoring its leading whitespace, and none of them sets the indentation of added lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sign {
    #[default]
    Written,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine<'a> {
    pub kind: LineKind,
    /// Borrowed from the diff.
    pub text: &'a str,
    pub sign: Sign,
}

impl HunkLine<'_> {
    /// A line whose text is known as written: added and removed lines, and context lines of a
    /// hunk that lost no sign.
    pub fn is_strict(&self) -> bool {
        self.kind != LineKind::Context || self.sign == Sign::Written
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hunk<'a> {
    /// The `@@` line as written, quoted in error messages.
    pub header: &'a str,
    /// The old side's first line (1-based) from the header: only a hint.
    pub old_start: Option<usize>,
    pub old_count: Option<usize>,
    pub new_count: Option<usize>,
    pub lines: Vec<HunkLine<'a>>,
    /// `\ No newline at end of file` followed the old side's last line.
    pub old_missing_newline: bool,
    /// `\ No newline at end of file` followed the new side's last line.
    pub new_missing_newline: bool,
    /// How many of the last lines were blank lines without a sign.
    pub unsigned_tail: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the diff is empty: no `---`/`+++` file header and no `@@` hunk found")]
    Empty,
    #[error("line {line}: a `@@` hunk comes before any `--- a/path` / `+++ b/path` file header")]
    HunkWithoutFile { line: usize },
    #[error("`{path}`: binary patches cannot be applied; use write_file or a shell command")]
    Binary { path: String },
    #[error("`{path}`: the file header is followed by no hunk (no `@@` line and no `+`/`-` line)")]
    NoHunks { path: String },
    #[error(
        "the diff changes no line: its hunks have no `+` or `-` lines. Mark each removed line with `-` and each added line with `+`"
    )]
    NoChanges,
    #[error(
        "line {line} (`{text}`) changes a line, but the diff names no file: begin it with `--- a/PATH` and `+++ b/PATH`, then `@@` hunks"
    )]
    ChangeWithoutFile { line: usize, text: String },
    #[error(
        "line {line} (`{text}`) follows `\\ No newline at end of file`, which ends that side of the file; nothing was applied. Put the marker after the file's last line only"
    )]
    LineAfterEnd { line: usize, text: String },
    #[error(
        "`{path}`: the diff creates this file (`--- /dev/null`), but its hunks have context or removed lines, as an edit of an existing file would; nothing was applied. If the file exists, read it and write the diff against its content (`--- a/{path}`); to create it, start every line of the hunk with `+`"
    )]
    NewFileWithOldLines { path: String },
    #[error(
        "`{path}`: the diff deletes this file (`+++ /dev/null`), but its hunks have context or added lines, as an edit would; nothing was applied. To delete it, every line of the hunk starts with `-`; to change it, read it and write the diff with `+++ b/{path}`"
    )]
    DeletedFileWithNewLines { path: String },
    #[error("`{path}`: mode {mode} ({what}) cannot be applied as a diff; use a shell command")]
    UnsupportedMode {
        path: String,
        mode: String,
        what: &'static str,
    },
}

impl<'a> Hunk<'a> {
    pub fn old_lines(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.lines
            .iter()
            .filter(|line| line.kind != LineKind::Add)
            .map(|line| line.text)
    }

    pub fn old_len(&self) -> usize {
        self.old_lines().count()
    }

    /// The header's counts agree with the body: the diff was made by a tool, so its line number
    /// can be trusted to pick between identical places.
    pub fn header_is_exact(&self) -> bool {
        let new_len = self
            .lines
            .iter()
            .filter(|line| line.kind != LineKind::Remove)
            .count();
        self.old_start.is_some()
            && self.old_count == Some(self.old_len())
            && self.new_count == Some(new_len)
    }

    /// The first few lines of the hunk, for error messages.
    pub fn preview(&self) -> String {
        let shown: Vec<String> = self
            .lines
            .iter()
            .take(3)
            .map(|line| {
                let sign = match line.kind {
                    LineKind::Context => ' ',
                    LineKind::Remove => '-',
                    LineKind::Add => '+',
                };
                format!("{sign}{}", line.text)
            })
            .collect();
        shown.join("\n")
    }
}

impl FilePatch<'_> {
    /// The path to name in messages: the new path, or the old one for deletions.
    pub fn display_path(&self) -> String {
        let raw = self
            .new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("?");
        raw.strip_prefix("b/")
            .or_else(|| raw.strip_prefix("a/"))
            .unwrap_or(raw)
            .to_string()
    }
}

struct Parser<'a> {
    files: Vec<FilePatch<'a>>,
    file: Option<FilePatch<'a>>,
    hunk: Option<Hunk<'a>>,
    /// A `---`/`+++` pair was the last header: a signed line now begins a hunk, as if a bare
    /// `@@` line came first (models leave it out).
    after_file_header: bool,
}

/// The header of a hunk that had no `@@` line.
const IMPLIED_HEADER: &str = "@@ @@";

pub fn parse(diff: &str) -> Result<Vec<FilePatch<'_>>, ParseError> {
    let lines: Vec<&str> = super::pieces::pieces(diff)
        // A diff of a CRLF file may itself have been converted to CRLF: drop every trailing CR.
        .map(|line| line.trim_end_matches('\n').trim_end_matches('\r'))
        .filter(|line| !line.starts_with("```"))
        .collect();
    let mut parser = Parser {
        files: Vec::new(),
        file: None,
        hunk: None,
        after_file_header: false,
    };
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let next = lines.get(index + 1).copied().unwrap_or("");
        let after_next = lines.get(index + 2).copied().unwrap_or("");
        if let Some(rest) = line.strip_prefix("diff --git ") {
            parser.start_file(git_header_paths(rest), true)?;
        } else if line.starts_with("--- ")
            && next.starts_with("+++ ")
            && parser.header_ends_hunk(after_next)
        {
            parser.file_header(header_path(&line[4..]), header_path(&next[4..]))?;
            index += 1;
        } else if line.starts_with("@@") {
            parser.start_hunk(line, index + 1)?;
        } else if parser.hunk.is_some() {
            parser.hunk_line(line, index + 1)?;
        } else if parser.begins_implied_hunk(line) {
            parser.start_hunk(IMPLIED_HEADER, index + 1)?;
            parser.hunk_line(line, index + 1)?;
        } else if parser.file.is_none()
            && let Some(error) = change_without_file(index, line)
        {
            return Err(error);
        } else {
            parser.metadata(line)?;
        }
        index += 1;
    }
    parser.finish_file()?;
    if parser.files.is_empty() {
        return Err(ParseError::Empty);
    }
    let changes_nothing = |file: &FilePatch<'_>| {
        !file.hunks.is_empty()
            && file
                .hunks
                .iter()
                .flat_map(|hunk| &hunk.lines)
                .all(|line| line.kind == LineKind::Context)
    };
    if parser.files.iter().all(changes_nothing) {
        return Err(ParseError::NoChanges);
    }
    Ok(parser.files)
}

/// A line that changes something before any file header: no file to apply it to.
fn change_without_file(index: usize, line: &str) -> Option<ParseError> {
    let signed = (line.starts_with('-') && !line.starts_with("---"))
        || (line.starts_with('+') && !line.starts_with("+++"));
    signed.then(|| ParseError::ChangeWithoutFile {
        line: index + 1,
        text: line.chars().take(80).collect(),
    })
}

impl<'a> Parser<'a> {
    /// Opens the next file's part; the previous one is finished and checked as the last is.
    fn start_file(
        &mut self,
        paths: (Option<String>, Option<String>),
        git_format: bool,
    ) -> Result<(), ParseError> {
        self.finish_file()?;
        self.after_file_header = false;
        self.file = Some(FilePatch {
            old_path: paths.0,
            new_path: paths.1,
            git_format,
            ..FilePatch::default()
        });
        Ok(())
    }

    fn file_header(&mut self, old: Option<String>, new: Option<String>) -> Result<(), ParseError> {
        self.finish_hunk();
        match &mut self.file {
            // `diff --git` already opened this file: the ---/+++ lines just confirm the paths.
            Some(file) if file.git_format && file.hunks.is_empty() => {
                file.new_file |= old.is_none();
                file.deleted_file |= new.is_none();
                file.old_path = old;
                file.new_path = new;
            }
            Some(_) | None => self.start_file((old, new), false)?,
        }
        self.after_file_header = true;
        Ok(())
    }

    /// Whether `line`, outside any hunk, begins one that had no `@@` line: a `+` or `-` line of a
    /// file (no git metadata line begins so), or a context line right after a `---`/`+++` pair.
    fn begins_implied_hunk(&self, line: &str) -> bool {
        self.file.is_some()
            && (line.starts_with(['-', '+']) || (self.after_file_header && line.starts_with(' ')))
    }

    /// Whether a `---`/`+++` pair (followed by `after`) is the next file's header rather than a
    /// removed line beginning `-- ` and an added one beginning `++ `: inside a hunk whose header
    /// counts more lines than it has had, it is the hunk's, unless a `@@` line follows it.
    fn header_ends_hunk(&self, after: &str) -> bool {
        let Some(hunk) = &self.hunk else { return true };
        if after.starts_with("@@") {
            return true;
        }
        let (Some(old_count), Some(new_count)) = (hunk.old_count, hunk.new_count) else {
            return true;
        };
        let new_len = hunk.lines.len()
            - hunk
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Remove)
                .count();
        hunk.old_len() >= old_count && new_len >= new_count
    }

    fn start_hunk(&mut self, line: &'a str, line_number: usize) -> Result<(), ParseError> {
        self.finish_hunk();
        self.after_file_header = false;
        if self.file.is_none() {
            return Err(ParseError::HunkWithoutFile { line: line_number });
        }
        let (old_start, old_count) = hunk_header_numbers(line, '-');
        let (_, new_count) = hunk_header_numbers(line, '+');
        self.hunk = Some(Hunk {
            header: line,
            old_start,
            old_count,
            new_count,
            ..Hunk::default()
        });
        Ok(())
    }

    fn hunk_line(&mut self, line: &'a str, line_number: usize) -> Result<(), ParseError> {
        // Models drop the sign of blank lines; editors strip it too. In a file being created
        // (or deleted) such a line can only be the file's own.
        let blank = match &self.file {
            Some(file) if file.old_path.is_none() => LineKind::Add,
            Some(file) if file.new_path.is_none() => LineKind::Remove,
            Some(_) | None => LineKind::Context,
        };
        let Some(hunk) = &mut self.hunk else {
            return Ok(());
        };
        let (kind, text, sign) = match line.chars().next() {
            Some(' ') => (LineKind::Context, &line[1..], Sign::Written),
            Some('-') => (LineKind::Remove, &line[1..], Sign::Written),
            Some('+') => (LineKind::Add, &line[1..], Sign::Written),
            None => (blank, "", Sign::Written),
            Some('\\') => {
                match hunk.lines.last().map(|last| last.kind) {
                    Some(LineKind::Remove) => hunk.old_missing_newline = true,
                    Some(LineKind::Add) => hunk.new_missing_newline = true,
                    Some(LineKind::Context) => {
                        hunk.old_missing_newline = true;
                        hunk.new_missing_newline = true;
                    }
                    None => {}
                }
                return Ok(());
            }
            // A line without a sign is the file's line as it is: context that lost its space.
            Some(_) => (LineKind::Context, line, Sign::Lost),
        };
        // After `\ No newline at end of file`, that side of the file has ended: a blank line
        // for it (the one that ends the diff text) is no part of the hunk, anything else is
        // a line the diff cannot mean.
        let past_end = match kind {
            LineKind::Context => hunk.old_missing_newline || hunk.new_missing_newline,
            LineKind::Remove => hunk.old_missing_newline,
            LineKind::Add => hunk.new_missing_newline,
        };
        if past_end {
            if line.trim().is_empty() {
                return Ok(());
            }
            return Err(ParseError::LineAfterEnd {
                line: line_number,
                text: line.chars().take(80).collect(),
            });
        }
        hunk.unsigned_tail = match line.is_empty() {
            true => hunk.unsigned_tail + 1,
            false => 0,
        };
        hunk.lines.push(HunkLine { kind, text, sign });
        Ok(())
    }

    fn metadata(&mut self, line: &str) -> Result<(), ParseError> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if line.starts_with("GIT binary patch")
            || (line.starts_with("Binary files ") && line.ends_with(" differ"))
        {
            return Err(ParseError::Binary {
                path: file.display_path(),
            });
        }
        if let Some(mode) = line.strip_prefix("new file mode ") {
            file.new_file = true;
            file.executable = Some(executable_mode(file, mode)?);
        } else if let Some(mode) = line.strip_prefix("new mode ") {
            file.executable = Some(executable_mode(file, mode)?);
        } else if line.starts_with("deleted file mode") {
            file.deleted_file = true;
        } else if let Some(from) = line.strip_prefix("rename from ") {
            file.old_path = Some(format!("a/{}", unquote(from)));
        } else if let Some(to) = line.strip_prefix("rename to ") {
            file.new_path = Some(format!("b/{}", unquote(to)));
        }
        Ok(())
    }

    fn finish_hunk(&mut self) {
        let Some(mut hunk) = self.hunk.take() else {
            return;
        };
        trim_trailing_blank_context(&mut hunk);
        if hunk.lines.iter().any(|line| line.sign == Sign::Lost) {
            for line in &mut hunk.lines {
                if line.kind == LineKind::Context {
                    line.sign = Sign::Lost;
                }
            }
        }
        if let Some(file) = &mut self.file
            && !hunk.lines.is_empty()
        {
            file.hunks.push(hunk);
        }
    }

    fn finish_file(&mut self) -> Result<(), ParseError> {
        self.finish_hunk();
        if let Some(mut file) = self.file.take() {
            if file.new_file {
                file.old_path = None;
            }
            if file.deleted_file {
                file.new_path = None;
            }
            check_creation_and_deletion(&file)?;
            let is_rename = file.old_path.is_some() && file.new_path.is_some() && file.git_format;
            let mode_only = file.git_format && file.executable.is_some();
            if file.hunks.is_empty()
                && !(file.new_file || file.deleted_file || is_rename || mode_only)
            {
                return Err(ParseError::NoHunks {
                    path: file.display_path(),
                });
            }
            self.files.push(file);
        }
        Ok(())
    }
}

/// A diff that creates a file has nothing but added lines, one that deletes it nothing but removed
/// ones. A "new file" holding context or removed lines is an edit of a file the model has not read:
/// taking its context as content would write a wrong file.
fn check_creation_and_deletion(file: &FilePatch<'_>) -> Result<(), ParseError> {
    let lines = || file.hunks.iter().flat_map(|hunk| hunk.lines.iter());
    if file.old_path.is_none() && lines().any(|line| line.kind != LineKind::Add) {
        return Err(ParseError::NewFileWithOldLines {
            path: file.display_path(),
        });
    }
    if file.new_path.is_none() && lines().any(|line| line.kind != LineKind::Remove) {
        return Err(ParseError::DeletedFileWithNewLines {
            path: file.display_path(),
        });
    }
    Ok(())
}

/// Whether a git file mode (`100755`, `100644`) is executable; symlinks and submodules are
/// refused, since what a diff holds for them is not a file's text.
fn executable_mode(file: &FilePatch<'_>, mode: &str) -> Result<bool, ParseError> {
    let unsupported = |what| ParseError::UnsupportedMode {
        path: file.display_path(),
        mode: mode.trim().to_string(),
        what,
    };
    match mode.trim() {
        "100755" => Ok(true),
        "100644" | "100664" => Ok(false),
        "120000" => Err(unsupported("a symlink")),
        "160000" => Err(unsupported("a submodule")),
        _ => Err(unsupported("unknown")),
    }
}

/// Blank lines at the end of a hunk are usually the blank line that ends the diff text, not context
/// (nor, without a sign, lines of a file being created or deleted), unless the header counts them.
fn trim_trailing_blank_context(hunk: &mut Hunk<'_>) {
    while let Some(last) = hunk.lines.last() {
        let side_len = |kind| hunk.lines.iter().filter(|line| line.kind != kind).count();
        let surplus = match last.kind {
            LineKind::Context => hunk.old_count.is_none_or(|count| hunk.old_len() > count),
            LineKind::Add if hunk.unsigned_tail > 0 => hunk
                .new_count
                .is_none_or(|count| side_len(LineKind::Remove) > count),
            LineKind::Remove if hunk.unsigned_tail > 0 => {
                hunk.old_count.is_none_or(|count| hunk.old_len() > count)
            }
            LineKind::Add | LineKind::Remove => false,
        };
        if !(last.text.is_empty() && surplus) {
            break;
        }
        hunk.lines.pop();
        hunk.unsigned_tail = hunk.unsigned_tail.saturating_sub(1);
    }
}

mod headers;
#[cfg(test)]
mod tests;

use headers::{git_header_paths, header_path, hunk_header_numbers, unquote};
