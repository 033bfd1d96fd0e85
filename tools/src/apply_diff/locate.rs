/*!
Finding where each hunk goes. The header's line number is only a hint: the hunk's old lines
(context and removed) are searched for in the file, at decreasing strictness — exact, then ignoring
trailing whitespace, then ignoring all surrounding whitespace, then also normalising Unicode quotes
and dashes. If that fails, up to [`MAX_FUZZ`] context lines are dropped from either end (models add
or misremember context). Several equally good places make the hunk ambiguous, and it is refused.

Context lines whose sign was lost ([`Sign::Lost`]) are compared ignoring their leading whitespace
at every level, so the level a hunk matched at is that of its signed lines; lost lines at the end
of a hunk (prose after the diff, or context the file does not have there) may all be dropped.
*/

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::parse::{Hunk, HunkLine, LineKind, Sign};

/// Context lines that may be ignored at each end of a hunk that does not match as written.
const MAX_FUZZ: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Exact,
    TrailingWhitespace,
    Whitespace,
    Unicode,
}

impl Level {
    const ALL: [Level; 4] = [
        Level::Exact,
        Level::TrailingWhitespace,
        Level::Whitespace,
        Level::Unicode,
    ];

    /// The line as compared at this level; borrowed unless Unicode normalisation changes it.
    pub fn normalize(self, line: &str) -> Cow<'_, str> {
        match self {
            Level::Exact => Cow::Borrowed(line),
            Level::TrailingWhitespace => Cow::Borrowed(line.trim_end()),
            Level::Whitespace => Cow::Borrowed(line.trim()),
            Level::Unicode if line.is_ascii() => Cow::Borrowed(line.trim()),
            Level::Unicode => Cow::Owned(line.trim().chars().map(plain_char).collect()),
        }
    }
}

fn plain_char(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{00A0}' | '\u{2007}' | '\u{202F}' => ' ',
        other => other,
    }
}

/// Where a hunk matched: its old lines (minus fuzzed context) cover `start..start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub start: usize,
    pub len: usize,
    pub level: Level,
    /// Hunk lines skipped at the front and back (fuzzed-away context).
    pub skip_front: usize,
    pub skip_back: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    /// 1-based first lines of the equally good candidates.
    Ambiguous(Vec<usize>),
    /// A hunk with neither context nor removed lines, and no line number to place it.
    NoContext,
}

/// The file's lines, with per-level indexes built on first use.
pub struct Haystack<'a> {
    lines: &'a [Cow<'a, str>],
    indexes: HashMap<Level, LineIndex<'a>>,
}

/// Where each distinct (normalized) line occurs, without an allocation per line: the first
/// occurrence and the count per line, and for every line the next line equal to it.
struct LineIndex<'a> {
    first: FxHashMap<Cow<'a, str>, (usize, usize)>,
    next: Vec<usize>,
}

impl LineIndex<'_> {
    /// Ascending positions of `line`, and how many there are.
    fn positions(&self, line: &str) -> (impl Iterator<Item = usize> + '_, usize) {
        let (first, count) = self.first.get(line).copied().unwrap_or((usize::MAX, 0));
        let next = &self.next;
        let walk = std::iter::successors(Some(first), move |&at| next.get(at).copied()).take(count);
        (walk, count)
    }
}

impl<'a> Haystack<'a> {
    pub fn lines(&self) -> &'a [Cow<'a, str>] {
        self.lines
    }

    /// The region of the file most like the hunk's old lines, for "context not found" errors:
    /// (0-based start, length), or None when no line is even similar. Each old line votes for
    /// the starts its (Unicode-level) matches imply; blank lines do not vote.
    pub fn closest_region(&mut self, hunk: &Hunk) -> Option<(usize, usize)> {
        let wanted: Vec<Cow<'_, str>> = hunk
            .old_lines()
            .map(|line| Level::Unicode.normalize(line))
            .collect();
        let total = self.lines.len();
        let index = self.index(Level::Unicode);
        let mut votes: HashMap<isize, usize> = HashMap::new();
        for (offset, line) in wanted
            .iter()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
        {
            for position in index.positions(line).0 {
                *votes
                    .entry(position as isize - offset as isize)
                    .or_default() += 1;
            }
        }
        let (start, _) = votes
            .into_iter()
            .max_by_key(|&(start, count)| (count, -start))?;
        let start = start.max(0) as usize;
        Some((start, wanted.len().min(total.saturating_sub(start)).max(1)))
    }

    pub fn new(lines: &'a [Cow<'a, str>]) -> Self {
        Self {
            lines,
            indexes: HashMap::new(),
        }
    }

    fn index(&mut self, level: Level) -> &LineIndex<'a> {
        self.build_index(level);
        &self.indexes[&level]
    }

    fn build_index(&mut self, level: Level) {
        let lines = self.lines;
        self.indexes.entry(level).or_insert_with(|| {
            let mut first: FxHashMap<Cow<'a, str>, (usize, usize)> = FxHashMap::default();
            let mut next = vec![usize::MAX; lines.len()];
            // Backwards, so each line's `next` is the following occurrence.
            for number in (0..lines.len()).rev() {
                let entry = first
                    .entry(level.normalize(&lines[number]))
                    .or_insert((usize::MAX, 0));
                next[number] = entry.0;
                *entry = (number, entry.1 + 1);
            }
            LineIndex { first, next }
        });
    }

    /// Every start where `needle` matches at `level` (its lost-sign lines at least ignoring
    /// surrounding whitespace).
    fn matches(&mut self, needle: &[&HunkLine<'_>], level: Level) -> Vec<usize> {
        let levels: Vec<Level> = needle
            .iter()
            .map(|line| match line.is_strict() {
                true => level,
                false => level.max(Level::Whitespace),
            })
            .collect();
        for line_level in &levels {
            self.build_index(*line_level);
        }
        let normalized: Vec<Cow<'_, str>> = needle
            .iter()
            .zip(&levels)
            .map(|(line, line_level)| line_level.normalize(line.text))
            .collect();
        let lines = self.lines;
        let indexes = &self.indexes;
        let positions = |offset: usize| {
            indexes
                .get(&levels[offset])
                .map(|index| index.positions(&normalized[offset]))
        };
        // Anchor on the rarest line of the needle, then verify the rest.
        let Some(anchor_offset) = (0..normalized.len())
            .min_by_key(|&offset| positions(offset).map_or(0, |(_, count)| count))
        else {
            return Vec::new();
        };
        let Some((anchors, _)) = positions(anchor_offset) else {
            return Vec::new();
        };
        anchors
            .filter_map(|position| position.checked_sub(anchor_offset))
            .filter(|&start| start + needle.len() <= lines.len())
            .filter(|&start| {
                normalized
                    .iter()
                    .zip(&levels)
                    .zip(&lines[start..])
                    .all(|((want, line_level), have)| *want == line_level.normalize(have))
            })
            .collect()
    }

    /// Places `hunk`, preferring the candidate nearest `expected` (0-based) and skipping the
    /// ranges in `taken` (hunks already placed).
    pub fn place(
        &mut self,
        hunk: &Hunk,
        expected: Option<usize>,
        taken: &[(usize, usize)],
    ) -> Result<Placement, Failure> {
        if hunk.old_len() == 0 {
            return place_pure_insertion(hunk, self.lines.len());
        }
        for (skip_front, skip_back) in fuzz_steps(hunk) {
            let end = hunk.lines.len() - skip_back;
            let needle: Vec<&HunkLine<'_>> = hunk.lines[skip_front..end]
                .iter()
                .filter(|line| line.kind != LineKind::Add)
                .collect();
            for level in Level::ALL {
                let candidates: Vec<usize> = self
                    .matches(&needle, level)
                    .into_iter()
                    .filter(|&start| !overlaps(start, needle.len(), taken))
                    .collect();
                let placed = |start| Placement {
                    start,
                    len: needle.len(),
                    level,
                    skip_front,
                    skip_back,
                };
                // The hint is where the whole hunk starts; the needle starts after the skipped lines.
                match choose(
                    &candidates,
                    expected.map(|start| start + skip_front),
                    hunk.header_is_exact(),
                ) {
                    Choice::One(start) => return Ok(placed(start)),
                    Choice::Tie(starts) => {
                        return Err(Failure::Ambiguous(
                            starts.iter().map(|start| start + 1).collect(),
                        ));
                    }
                    Choice::None => {}
                }
            }
        }
        Err(Failure::NotFound)
    }
}

impl Haystack<'_> {
    /// The hunk as written, exactly at the line its header names, when that header is one a tool
    /// made (its counts match its body); None otherwise. Checks that one place only, without
    /// indexing the file.
    pub fn exact_at_header(&self, hunk: &Hunk) -> Option<Placement> {
        if !hunk.header_is_exact() {
            return None;
        }
        let len = hunk.old_len();
        if len == 0 {
            return place_pure_insertion(hunk, self.lines.len()).ok();
        }
        let start = hunk.old_start?.max(1) - 1;
        let mut have = self.lines.get(start..start.checked_add(len)?)?.iter();
        hunk.old_lines()
            .all(|want| have.next().is_some_and(|line| line == want))
            .then_some(Placement {
                start,
                len,
                level: Level::Exact,
                skip_front: 0,
                skip_back: 0,
            })
    }
}

fn place_pure_insertion(hunk: &Hunk, file_len: usize) -> Result<Placement, Failure> {
    // `@@ -N,0 +M,k @@` inserts after old line N; an empty file takes it at 0.
    let start = match (hunk.old_start, file_len) {
        (_, 0) => 0,
        (Some(after), len) => after.min(len),
        (None, _) => return Err(Failure::NoContext),
    };
    Ok(Placement {
        start,
        len: 0,
        level: Level::Exact,
        skip_front: 0,
        skip_back: 0,
    })
}

/// (front, back) context lines to drop, fewest first; removed lines are never dropped. Lost-sign
/// lines at the end may all go, beyond [`MAX_FUZZ`].
fn fuzz_steps(hunk: &Hunk) -> Vec<(usize, usize)> {
    let leading = hunk
        .lines
        .iter()
        .take_while(|line| line.kind == LineKind::Context)
        .count();
    let trailing = hunk
        .lines
        .iter()
        .rev()
        .take_while(|line| line.kind == LineKind::Context)
        .count();
    let lost_tail = hunk
        .lines
        .iter()
        .rev()
        .take_while(|line| line.kind == LineKind::Context && line.sign == Sign::Lost)
        .count();
    let max_back = MAX_FUZZ.max(lost_tail);
    let old_len = hunk.old_len();
    let mut steps = Vec::new();
    for total in 0..=MAX_FUZZ + max_back {
        for front in 0..=total.min(MAX_FUZZ).min(leading) {
            let back = total - front;
            if back <= max_back && back <= trailing && front + back < old_len {
                steps.push((front, back));
            }
        }
    }
    steps
}

fn overlaps(start: usize, len: usize, taken: &[(usize, usize)]) -> bool {
    taken.iter().any(|&(other_start, other_len)| {
        start < other_start + other_len && other_start < start + len
    })
}

enum Choice {
    None,
    One(usize),
    Tie(Vec<usize>),
}

/// How far from the hint (in lines) a candidate may be for the hint to pick it...
const HINT_WINDOW: usize = 3;
/// ...when no other candidate is within this many lines of the hint.
const HINT_CLEARANCE: usize = 20;

/// Picks among equally good candidates. A hint from a header whose counts match its body (a
/// tool-made diff) decides when it points exactly at one. Otherwise the hint decides only when
/// one candidate is near it and every other one is far: a hint that is off by some lines must not
/// silently select a duplicate.
fn choose(candidates: &[usize], expected: Option<usize>, trusted: bool) -> Choice {
    match (candidates, expected) {
        ([], _) => Choice::None,
        ([only], _) => Choice::One(*only),
        (many, None) => Choice::Tie(many.to_vec()),
        (many, Some(expected)) => {
            let mut by_distance: Vec<usize> = many.to_vec();
            by_distance.sort_by_key(|start| (start.abs_diff(expected), *start));
            let nearest = by_distance[0].abs_diff(expected);
            let next = by_distance[1].abs_diff(expected);
            if (trusted && nearest == 0) || (nearest <= HINT_WINDOW && next > HINT_CLEARANCE) {
                Choice::One(by_distance[0])
            } else {
                let mut tied: Vec<usize> = by_distance.into_iter().take(2).collect();
                tied.sort_unstable();
                Choice::Tie(tied)
            }
        }
    }
}
