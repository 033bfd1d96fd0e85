//! Corpus test for `apply_diff`: real source files (the crates in the local cargo registry, plus
//! generated files with CRLF endings, missing final newlines and repeated blocks) are mutated at
//! random, diffed with `diff -u`, and the diff applied: the result must be the mutated file, byte
//! for byte. Then the diffs are degraded the way models degrade them (no line numbers, shifted
//! numbers, a missing context line, re-indented, CRLF, context lines without their sign, the whole
//! diff indented) and must still apply exactly or be refused;
//! a wrong result is a failure. Seeded: `CORPUS_SEED=<n>` replays a run, `CORPUS_CASES` sizes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_tools::Workspace;
use agent_tools::apply_diff::prepare;
use fastrand::Rng;

struct Case {
    name: String,
    old: String,
    new: String,
}

fn registry_sources() -> Vec<PathBuf> {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap()).join(".cargo"));
    let mut files = Vec::new();
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return files;
    };
    for registry in registries.flatten() {
        for krate in std::fs::read_dir(registry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let src = krate.path().join("src");
            for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|ext| ext == "rs") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

fn generated(rng: &mut Rng, index: usize) -> String {
    let ending = if index.is_multiple_of(3) {
        "\r\n"
    } else {
        "\n"
    };
    let mut text = String::new();
    for block in 0..rng.usize(5..40) {
        // Repeated blocks make ambiguity common: only line numbers or context tell them apart.
        let body = if rng.bool() {
            "    return x;".to_string()
        } else {
            format!("    value_{} += {};", block % 4, rng.u8(..5))
        };
        for line in ["fn f() {", body.as_str(), "}", ""] {
            text.push_str(line);
            text.push_str(ending);
        }
    }
    if index.is_multiple_of(2) {
        text.truncate(text.trim_end().len());
    }
    text
}

fn mutate(rng: &mut Rng, old: &str) -> String {
    let ending = if old.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    for _ in 0..rng.usize(1..=6) {
        let at = rng.usize(..=lines.len());
        let count = rng.usize(1..=3);
        match rng.u8(..3) {
            0 => {
                for n in 0..count {
                    let source = if lines.is_empty() {
                        String::new()
                    } else {
                        lines[rng.usize(..lines.len())].clone()
                    };
                    lines.insert(at.min(lines.len()), format!("{source} // inserted {n}"));
                }
            }
            1 => {
                let end = (at + count).min(lines.len());
                lines.drain(at.min(end)..end);
            }
            _ => {
                for line in lines.iter_mut().skip(at).take(count) {
                    *line = format!("{} /* changed */", line.trim_end());
                }
            }
        }
    }
    let mut new = lines.join(ending);
    let final_newline = old.ends_with('\n') != (rng.u8(..10) == 0);
    if final_newline && !new.is_empty() {
        new.push_str(ending);
    }
    new
}

fn unified_diff(dir: &Path, old: &str, new: &str) -> String {
    std::fs::write(dir.join("old"), old).unwrap();
    std::fs::write(dir.join("new"), new).unwrap();
    let output = Command::new("diff")
        .args([
            "-u",
            "--label",
            "a/file.rs",
            "--label",
            "b/file.rs",
            "old",
            "new",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Exact,
    Refused,
    Wrong,
}

fn apply(workspace_dir: &Path, old: &str, new: &str, diff: &str) -> Verdict {
    let path = workspace_dir.join("file.rs");
    std::fs::write(&path, old).unwrap();
    let workspace = Workspace::new(workspace_dir).unwrap();
    match prepare(&workspace, diff) {
        Err(_) => {
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                old,
                "a refused diff changed the file"
            );
            Verdict::Refused
        }
        Ok(edit) => {
            edit.commit().unwrap();
            if std::fs::read_to_string(&path).unwrap() == new {
                Verdict::Exact
            } else {
                Verdict::Wrong
            }
        }
    }
}

/// Rewrites every `@@` header with `header(old_start)`.
fn rewrite_headers(diff: &str, header: impl Fn(usize) -> String) -> String {
    diff.split_inclusive('\n')
        .map(|line| match line.strip_prefix("@@ -") {
            Some(rest) => {
                let start: usize = rest.split([',', ' ']).next().unwrap().parse().unwrap();
                format!("{}\n", header(start))
            }
            None => line.to_string(),
        })
        .collect()
}

fn drop_leading_context(rng: &mut Rng, diff: &str) -> String {
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("@@"))
        .collect();
    let Some(&header) = headers.get(rng.usize(..headers.len().max(1))) else {
        return diff.to_string();
    };
    let mut out: Vec<&str> = lines.clone();
    if lines
        .get(header + 1)
        .is_some_and(|line| line.starts_with(' '))
    {
        out.remove(header + 1);
    }
    out.concat()
}

/// Indents every hunk line by two more spaces, as models drift. `None` when some hunk has no
/// non-blank old line: with nothing to compare indentation against, the shifted added lines are
/// what the diff asks for.
fn reindent(diff: &str) -> Option<String> {
    let mut has_reference = true;
    let mut in_hunk_reference = None;
    for line in diff.lines() {
        if line.starts_with("@@") {
            has_reference &= in_hunk_reference.unwrap_or(true);
            in_hunk_reference = Some(false);
        } else if (line.starts_with(' ') || (line.starts_with('-') && !line.starts_with("---")))
            && !line[1..].trim().is_empty()
        {
            in_hunk_reference = Some(true);
        }
    }
    if !(has_reference && in_hunk_reference.unwrap_or(true)) {
        return None;
    }
    Some(
        diff.split_inclusive('\n')
            .map(|line| match line.chars().next() {
                Some(sign @ (' ' | '+' | '-'))
                    if !line.starts_with("---") && !line.starts_with("+++") && line.len() > 2 =>
                {
                    format!("{sign}  {}", &line[1..])
                }
                _ => line.to_string(),
            })
            .collect(),
    )
}

/// Which context lines of a hunk lose their leading space, as models write them.
#[derive(Clone, Copy)]
enum LostSigns {
    /// The first context line of each hunk.
    First,
    /// Every context line.
    All,
    /// Each context line with even odds.
    Some,
}

/// The diff with context lines written as the file's lines, without their sign. Lines whose text
/// would then read as a sign or a header (`-x`, `+x`, `\`, `@@`) keep theirs: without it such a
/// diff is truly ambiguous.
fn lose_signs(rng: &mut Rng, diff: &str, which: LostSigns) -> String {
    let mut first_in_hunk = false;
    diff.split_inclusive('\n')
        .map(|line| {
            if line.starts_with("@@") {
                first_in_hunk = true;
                return line.to_string();
            }
            let Some(text) = line.strip_prefix(' ') else {
                return line.to_string();
            };
            let first = std::mem::take(&mut first_in_hunk);
            let readable = !text.starts_with(['-', '+', '\\', '@', '`', '\n', '\r']);
            let lose = match which {
                LostSigns::First => first,
                LostSigns::All => true,
                LostSigns::Some => rng.bool(),
            };
            if lose && readable {
                text.to_string()
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// The whole diff indented, as written inside an indented block.
fn indent_whole(diff: &str) -> String {
    diff.split_inclusive('\n')
        .map(|line| format!("    {line}"))
        .collect()
}

/// The diff posing as one that creates the file (`--- /dev/null`), as models write an edit of a
/// file they have not read. `None` when the diff has no context or removed line (then it could
/// be a creation).
fn posed_as_new_file(diff: &str) -> Option<String> {
    let edits_old_lines = diff
        .lines()
        .any(|line| (line.starts_with(' ') || line.starts_with('-')) && !line.starts_with("---"));
    edits_old_lines.then(|| diff.replacen("--- a/file.rs", "--- /dev/null", 1))
}

/// Applies `diff` where `file.rs` does not exist: it must be refused and create nothing.
fn refused_without_the_file(workspace_dir: &Path, diff: &str) -> bool {
    let path = workspace_dir.join("file.rs");
    let _ = std::fs::remove_file(&path);
    let workspace = Workspace::new(workspace_dir).unwrap();
    prepare(&workspace, diff).is_err() && !path.exists()
}

#[derive(Default, Debug)]
struct Tally {
    exact: usize,
    refused: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn add(&mut self, verdict: Verdict, name: &str) {
        match verdict {
            Verdict::Exact => self.exact += 1,
            Verdict::Refused => self.refused += 1,
            Verdict::Wrong => self.wrong.push(name.to_string()),
        }
    }
    fn exact_share(&self) -> f64 {
        self.exact as f64 / (self.exact + self.refused + self.wrong.len()).max(1) as f64
    }
}

#[test]
fn mutated_sources_round_trip_through_diff_and_apply() {
    let seed: u64 = std::env::var("CORPUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let cases: usize = std::env::var("CORPUS_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!("corpus seed {seed}, {cases} cases");
    let mut rng = Rng::with_seed(seed);
    let sources = registry_sources();
    let scratch = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();

    let mut corpus = Vec::new();
    for index in 0..cases {
        let from_registry = !sources.is_empty() && index % 4 != 0;
        let (name, old) = if from_registry {
            let path = &sources[rng.usize(..sources.len())];
            match std::fs::read_to_string(path) {
                Ok(text) if text.lines().count() < 5000 => (path.display().to_string(), text),
                _ => (format!("generated-{index}"), generated(&mut rng, index)),
            }
        } else {
            (format!("generated-{index}"), generated(&mut rng, index))
        };
        let new = mutate(&mut rng, &old);
        if new != old {
            corpus.push(Case {
                name: format!("case {index} ({name})"),
                old,
                new,
            });
        }
    }

    let mut exact = Tally::default();
    let mut stripped = Tally::default();
    let mut shifted = Tally::default();
    let mut dropped = Tally::default();
    let mut reindented = Tally::default();
    let mut crlf = Tally::default();
    let mut first_lost = Tally::default();
    let mut all_lost = Tally::default();
    let mut some_lost = Tally::default();
    let mut indented = Tally::default();
    for case in &corpus {
        let diff = unified_diff(scratch.path(), &case.old, &case.new);
        let verdict = apply(workspace.path(), &case.old, &case.new, &diff);
        assert_eq!(
            verdict,
            Verdict::Exact,
            "{} (seed {seed})\n{diff}",
            case.name
        );
        exact.add(verdict, &case.name);

        stripped.add(
            apply(
                workspace.path(),
                &case.old,
                &case.new,
                &rewrite_headers(&diff, |_| "@@ @@".into()),
            ),
            &case.name,
        );
        let shift = rng.usize(1..=15) as isize * if rng.bool() { 1 } else { -1 };
        let shifted_diff = rewrite_headers(&diff, |start| {
            format!(
                "@@ -{} +{} @@",
                (start as isize + shift).max(1),
                (start as isize + shift).max(1)
            )
        });
        shifted.add(
            apply(workspace.path(), &case.old, &case.new, &shifted_diff),
            &case.name,
        );
        dropped.add(
            apply(
                workspace.path(),
                &case.old,
                &case.new,
                &drop_leading_context(&mut rng, &diff),
            ),
            &case.name,
        );
        if let Some(reindented_diff) = reindent(&diff) {
            let verdict = apply(workspace.path(), &case.old, &case.new, &reindented_diff);
            reindented.add(verdict, &case.name);
        }
        crlf.add(
            apply(
                workspace.path(),
                &case.old,
                &case.new,
                &diff.replace('\n', "\r\n"),
            ),
            &case.name,
        );
        for (which, tally) in [
            (LostSigns::First, &mut first_lost),
            (LostSigns::All, &mut all_lost),
            (LostSigns::Some, &mut some_lost),
        ] {
            let degraded = lose_signs(&mut rng, &diff, which);
            tally.add(
                apply(workspace.path(), &case.old, &case.new, &degraded),
                &case.name,
            );
        }
        let verdict = apply(workspace.path(), &case.old, &case.new, &indent_whole(&diff));
        assert_eq!(verdict, Verdict::Exact, "{} indented as a whole", case.name);
        indented.add(verdict, &case.name);
        if let Some(posed) = posed_as_new_file(&diff) {
            let verdict = apply(workspace.path(), &case.old, &case.new, &posed);
            assert_eq!(
                verdict,
                Verdict::Refused,
                "{} posed as a new file",
                case.name
            );
            assert!(
                refused_without_the_file(workspace.path(), &posed),
                "{}: a new-file diff with old lines created the file",
                case.name
            );
        }
    }
    for (label, tally) in [
        ("exact", &exact),
        ("no numbers", &stripped),
        ("shifted numbers", &shifted),
        ("dropped context", &dropped),
        ("re-indented", &reindented),
        ("crlf diff", &crlf),
        ("first sign lost", &first_lost),
        ("all signs lost", &all_lost),
        ("some signs lost", &some_lost),
        ("indented", &indented),
    ] {
        println!(
            "{label:>16}: {:>5} exact, {:>4} refused, {:>3} wrong ({:.1}% exact)",
            tally.exact,
            tally.refused,
            tally.wrong.len(),
            tally.exact_share() * 100.0
        );
    }
    assert_eq!(
        crlf.exact,
        corpus.len(),
        "a CRLF diff must apply like the LF one"
    );
    for (label, tally, minimum) in [
        ("no numbers", &stripped, 0.75),
        ("shifted numbers", &shifted, 0.8),
        ("dropped context", &dropped, 0.8),
        ("re-indented", &reindented, 0.95),
        ("first sign lost", &first_lost, 0.95),
        ("all signs lost", &all_lost, 0.95),
        ("some signs lost", &some_lost, 0.95),
    ] {
        assert!(
            tally.wrong.is_empty(),
            "{label}: wrong results (seed {seed}): {:?}",
            &tally.wrong[..tally.wrong.len().min(5)]
        );
        assert!(
            tally.exact_share() >= minimum,
            "{label}: only {:.1}% applied",
            tally.exact_share() * 100.0
        );
    }
}
