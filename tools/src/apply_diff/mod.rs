/*!
`apply_diff`: applies a unified diff to the workspace, all of it or nothing.

unwrap ([`unwrap`]) → parse ([`parse`]) → locate each hunk ([`locate`]) → apply in memory ([`apply`]) → a
[`PreparedEdit`] the caller reviews and commits atomically. Files touched by several parts of one
diff are edited in memory in order, so a diff may touch a file twice, rename it, create or delete it.
*/

mod apply;
mod files;
mod locate;
mod parse;
mod pieces;
mod unwrap;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::{ChangeKind, ExecutableBit, FileChange, FileStamp, PathError, PreparedEdit, Workspace};
use apply::Lines;
use files::DiffPaths;
pub(crate) use files::read_text;
use locate::{Failure, Haystack, Placement};
pub use parse::{FilePatch, Hunk, ParseError};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyDiffArgs {
    /// A unified diff: `--- a/path` and `+++ b/path` headers, then `@@` hunks with 2-3 lines of
    /// context around each change. Several files may follow one another.
    pub diff: String,
}

/// Why a diff was refused. Nothing was written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplyError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("`{path}` does not exist; to create it use `--- /dev/null` as the old file")]
    FileMissing { path: String },
    #[error("`{path}` already exists; diff against its current content instead of /dev/null")]
    FileExists { path: String },
    #[error("`{path}` is not UTF-8 text and cannot be patched")]
    NotText { path: String },
    #[error("cannot read `{path}`: {message}")]
    Io { path: String, message: String },
    #[error("{0}")]
    Hunk(Box<HunkError>),
}

/// A hunk that could not be placed, with what the model needs to fix it.
#[derive(Debug, PartialEq, Eq)]
pub struct HunkError {
    pub path: String,
    /// 1-based position of the hunk in this file's part of the diff.
    pub number: usize,
    pub header: String,
    pub preview: String,
    pub problem: HunkProblem,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HunkProblem {
    /// The old lines were not found; the closest region of the file, numbered, if any.
    NotFound {
        closest: Option<String>,
    },
    Ambiguous {
        lines: Vec<usize>,
    },
    NoContext,
    Overlaps {
        other: usize,
    },
}

impl fmt::Display for HunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` hunk {} (`{}`, starting:\n{}\n): ",
            self.path, self.number, self.header, self.preview
        )?;
        match &self.problem {
            HunkProblem::NotFound {
                closest: Some(region),
            } => write!(
                f,
                "its context and removed lines were not found in the file. The closest region is:\n{region}\nRead the file again and make the diff's ` ` and `-` lines match it exactly."
            ),
            HunkProblem::NotFound { closest: None } => write!(
                f,
                "its context and removed lines were not found in the file, nothing similar either. Read the file again."
            ),
            HunkProblem::Ambiguous { lines } => write!(
                f,
                "it matches equally well at lines {}; add more context lines so it matches only one place",
                lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            HunkProblem::NoContext => write!(
                f,
                "it has no context or removed lines and no line number; add 2-3 context lines"
            ),
            HunkProblem::Overlaps { other } => {
                write!(f, "it overlaps hunk {other} of the same file")
            }
        }
    }
}

/// A file's content and executable bit before the diff and as the diff has left them so far.
struct FileState {
    display: String,
    original: Option<String>,
    current: Option<String>,
    stamp: Option<FileStamp>,
    was_executable: bool,
    executable: bool,
}

/// Plans the diff without writing anything.
pub fn prepare(workspace: &Workspace, diff: &str) -> Result<PreparedEdit, ApplyError> {
    let diff = unwrap::unwrap(diff);
    let patches = parse::parse(&diff)?;
    let mut paths = DiffPaths::of(workspace);
    if let Some(prepared) = prepare_independent(workspace, &patches, &mut paths) {
        return prepared;
    }
    let mut files: BTreeMap<PathBuf, FileState> = BTreeMap::new();
    let mut order: Vec<PathBuf> = Vec::new();
    for patch in &patches {
        let (old, new) = paths.resolve_sides(patch)?;
        let (source, was_executable) = match &old {
            Some(path) => {
                let state = load(workspace, &mut files, &mut order, path)?;
                let content = state
                    .current
                    .clone()
                    .ok_or_else(|| ApplyError::FileMissing {
                        path: state.display.clone(),
                    })?;
                let applied = apply_hunks(&state.display, &content, &patch.hunks)?;
                (applied, state.executable)
            }
            None => (new_file_content(&patch.hunks), false),
        };
        if let Some(path) = &old
            && old != new
        {
            load(workspace, &mut files, &mut order, path)?.current = None;
        }
        if let Some(path) = &new {
            let state = load(workspace, &mut files, &mut order, path)?;
            if old.is_none() && state.current.is_some() {
                return Err(ApplyError::FileExists {
                    path: state.display.clone(),
                });
            }
            if old.as_ref() != Some(path) && old.is_some() && state.current.is_some() {
                return Err(ApplyError::FileExists {
                    path: state.display.clone(),
                });
            }
            state.current = Some(source);
            // A renamed file stays executable unless the diff says otherwise.
            state.executable = patch.executable.unwrap_or(was_executable);
        }
    }
    Ok(PreparedEdit {
        changes: order
            .into_iter()
            .filter_map(|path| into_change(path, &mut files))
            .collect(),
    })
}

/// The paths a diff touches, for one-line summaries; empty if it does not parse.
pub fn touched_paths(diff: &str) -> Vec<String> {
    parse::parse(&unwrap::unwrap(diff))
        .map(|patches| patches.iter().map(FilePatch::display_path).collect())
        .unwrap_or_default()
}

fn into_change(path: PathBuf, files: &mut BTreeMap<PathBuf, FileState>) -> Option<FileChange> {
    let state = files.remove(&path)?;
    let executable = executable_bit(state.was_executable, state.executable);
    let kind = match (&state.original, &state.current) {
        (None, None) => return None,
        (Some(old), Some(new)) if old == new && executable == ExecutableBit::Keep => return None,
        (None, Some(_)) => ChangeKind::Create,
        (Some(_), None) => ChangeKind::Delete,
        (Some(_), Some(_)) => ChangeKind::Modify,
    };
    Some(FileChange {
        path: state.display,
        absolute: path,
        kind,
        old: state.original,
        new: state.current,
        old_stamp: state.stamp,
        executable,
    })
}

/// How the executable bit must change to go from `before` to `after`.
fn executable_bit(before: bool, after: bool) -> ExecutableBit {
    match (before, after) {
        (false, false) | (true, true) => ExecutableBit::Keep,
        (false, true) => ExecutableBit::Set,
        (true, false) => ExecutableBit::Clear,
    }
}

/// From this many files, a diff whose parts each modify a different existing file is prepared on
/// several threads (each file's work is independent then).
const PARALLEL_FILES: usize = 16;

/// The parallel path of [`prepare`]; None when the diff does not qualify (fewer files, new,
/// deleted or renamed files, a file touched twice), which the sequential path then handles.
fn prepare_independent(
    workspace: &Workspace,
    patches: &[FilePatch<'_>],
    paths: &mut DiffPaths<'_>,
) -> Option<Result<PreparedEdit, ApplyError>> {
    if patches.len() < PARALLEL_FILES {
        return None;
    }
    let mut work = Vec::with_capacity(patches.len());
    let mut seen = std::collections::HashSet::new();
    for patch in patches {
        match paths.resolve_sides(patch) {
            Ok((Some(old), Some(new))) if old == new && seen.insert(old.clone()) => {
                work.push((patch, old))
            }
            Ok(_) => return None,
            Err(error) => return Some(Err(error)),
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = work.len().div_ceil(threads);
    let results: Vec<Result<FileChange, ApplyError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(patch, path)| modify_one(workspace, patch, path))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    if results.len() != patches.len() {
        return None;
    }
    // Collecting in diff order reports the first failing file, as the sequential path would.
    let changes: Result<Vec<FileChange>, ApplyError> = results.into_iter().collect();
    Some(changes.map(|changes| {
        PreparedEdit {
            changes: changes
                .into_iter()
                .filter(|change| {
                    change.old != change.new || change.executable != ExecutableBit::Keep
                })
                .collect(),
        }
    }))
}

fn modify_one(
    workspace: &Workspace,
    patch: &FilePatch,
    path: &Path,
) -> Result<FileChange, ApplyError> {
    let display = workspace.relative(path);
    let file = read_text(workspace, path, &display)?.ok_or_else(|| ApplyError::FileMissing {
        path: display.clone(),
    })?;
    let new = apply_hunks(&display, &file.text, &patch.hunks)?;
    Ok(FileChange {
        path: display,
        absolute: path.to_path_buf(),
        kind: ChangeKind::Modify,
        old: Some(file.text),
        new: Some(new),
        old_stamp: file.stamp,
        executable: executable_bit(file.executable, patch.executable.unwrap_or(file.executable)),
    })
}

fn load<'a>(
    workspace: &Workspace,
    files: &'a mut BTreeMap<PathBuf, FileState>,
    order: &mut Vec<PathBuf>,
    path: &PathBuf,
) -> Result<&'a mut FileState, ApplyError> {
    if !files.contains_key(path) {
        let display = workspace.relative(path);
        let file = read_text(workspace, path, &display)?;
        let was_executable = file.as_ref().is_some_and(|file| file.executable);
        let (original, stamp) = file.map_or((None, None), |file| (Some(file.text), file.stamp));
        order.push(path.clone());
        files.insert(
            path.clone(),
            FileState {
                display,
                current: original.clone(),
                original,
                stamp,
                was_executable,
                executable: was_executable,
            },
        );
    }
    files.get_mut(path).ok_or_else(|| ApplyError::Io {
        path: workspace.relative(path),
        message: "lost track of file".into(),
    })
}

fn new_file_content(hunks: &[Hunk]) -> String {
    let mut content = String::new();
    for hunk in hunks {
        for line in hunk
            .lines
            .iter()
            .filter(|line| line.kind != parse::LineKind::Remove)
        {
            content.push_str(line.text);
            content.push('\n');
        }
    }
    if hunks.last().is_some_and(|hunk| hunk.new_missing_newline) {
        content.pop();
    }
    content
}

/// Places every hunk, checks that none overlap, and applies them.
///
/// Hunks that match one place only are placed first; they tell how far the diff's line numbers
/// are off (the drift), which then sharpens the hints of the hunks that match several places.
fn apply_hunks(path: &str, content: &str, hunks: &[Hunk]) -> Result<String, ApplyError> {
    let lines = Lines::split(content);
    let mut haystack = Haystack::new(&lines.texts);
    // When every hunk matches exactly where its tool-made header says, the search below would
    // place each one there too (unique ones directly, repeated ones by a drift of zero), so the
    // search, and the index of the file it needs, can be skipped.
    let placements = match hunks
        .iter()
        .map(|hunk| haystack.exact_at_header(hunk))
        .collect::<Option<Vec<Placement>>>()
    {
        Some(placements) => placements,
        None => search_placements(path, &mut haystack, hunks)?,
    };
    let mut placed: Vec<(usize, &Hunk, Placement)> = placements
        .into_iter()
        .zip(hunks)
        .enumerate()
        .map(|(number, (placement, hunk))| (number, hunk, placement))
        .collect();
    placed.sort_by_key(|(_, _, placement)| (placement.start, placement.len));
    for pair in placed.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        if first.2.start + first.2.len > second.2.start {
            let problem = HunkProblem::Overlaps { other: first.0 + 1 };
            return Err(hunk_error(path, second.0, second.1, problem));
        }
    }
    let ordered: Vec<(&Hunk, Placement)> = placed
        .iter()
        .map(|(_, hunk, placement)| (*hunk, *placement))
        .collect();
    Ok(apply::apply(&lines, &ordered).join())
}

/// Every hunk's place, found by searching the file.
fn search_placements(
    path: &str,
    haystack: &mut Haystack<'_>,
    hunks: &[Hunk],
) -> Result<Vec<Placement>, ApplyError> {
    let mut placements: Vec<Option<Placement>> = vec![None; hunks.len()];
    let mut ambiguous = Vec::new();
    for (number, hunk) in hunks.iter().enumerate() {
        match haystack.place(hunk, None, &[]) {
            Ok(placement) => placements[number] = Some(placement),
            Err(Failure::Ambiguous(_)) => ambiguous.push(number),
            Err(failure) => {
                return Err(placement_error(path, haystack, number, hunk, failure));
            }
        }
    }
    for number in ambiguous {
        let hunk = &hunks[number];
        let from = if hunk.header_is_exact() {
            DriftFrom::ExactHeaders
        } else {
            DriftFrom::AnyHunk
        };
        let expected = hunk.old_start.map(|start| {
            let hinted = start.max(1) as isize - 1 + drift_near(number, hunks, &placements, from);
            hinted.max(0) as usize
        });
        let taken: Vec<(usize, usize)> = placements
            .iter()
            .flatten()
            .map(|p| (p.start, p.len))
            .collect();
        let placement = haystack
            .place(hunk, expected, &taken)
            .map_err(|failure| placement_error(path, haystack, number, hunk, failure))?;
        placements[number] = Some(placement);
    }
    Ok(placements.into_iter().flatten().collect())
}

/// Which placed hunks may say how far the line numbers are off.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DriftFrom {
    AnyHunk,
    /// Only hunks whose headers match their bodies. A hunk with a line missing from its body
    /// (a model dropped a context line) matches a line away from its header, and that is no
    /// reason to move a hunk whose own header is exact: in a run of identical lines it would land
    /// one line off.
    ExactHeaders,
}

/// How far off the line numbers of the placed hunk nearest to hunk `number` were.
fn drift_near(
    number: usize,
    hunks: &[Hunk],
    placements: &[Option<Placement>],
    from: DriftFrom,
) -> isize {
    let drift_of = |index: usize| {
        if from == DriftFrom::ExactHeaders && !hunks[index].header_is_exact() {
            return None;
        }
        let placement = placements[index]?;
        let start = hunks[index].old_start?;
        Some(placement.start as isize - (start.max(1) as isize - 1) - placement.skip_front as isize)
    };
    let before = (0..number).rev().find_map(drift_of);
    let after = (number + 1..hunks.len()).find_map(drift_of);
    before.or(after).unwrap_or(0)
}

fn placement_error(
    path: &str,
    haystack: &mut Haystack<'_>,
    number: usize,
    hunk: &Hunk,
    failure: Failure,
) -> ApplyError {
    let problem = match failure {
        Failure::NotFound => HunkProblem::NotFound {
            closest: closest(haystack, hunk),
        },
        Failure::Ambiguous(lines) => HunkProblem::Ambiguous { lines },
        Failure::NoContext => HunkProblem::NoContext,
    };
    hunk_error(path, number, hunk, problem)
}

fn hunk_error(path: &str, index: usize, hunk: &Hunk, problem: HunkProblem) -> ApplyError {
    ApplyError::Hunk(Box::new(HunkError {
        path: path.to_string(),
        number: index + 1,
        header: hunk.header.to_string(),
        preview: hunk.preview(),
        problem,
    }))
}

fn closest(haystack: &mut Haystack<'_>, hunk: &Hunk) -> Option<String> {
    let (start, len) = haystack.closest_region(hunk)?;
    let lines = haystack.lines();
    let from = start.saturating_sub(2);
    let to = (start + len + 2).min(lines.len());
    Some(
        (from..to)
            .map(|index| format!("{:>6}\t{}", index + 1, lines[index]))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests;
