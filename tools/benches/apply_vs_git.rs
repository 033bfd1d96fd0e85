//! `apply_diff` against `git apply` on the same diffs, in the same run: one large diff (5,000
//! hunks across 200 files) and one huge file (100,000 lines, 2,000 hunks). Each side applies to a
//! fresh copy of the tree; the best of 7 runs is kept; both results are checked against the
//! expected files. Prints the time ratio (goal: no slower than `git apply`, ratio ≤ 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use agent_tools::Workspace;
use agent_tools::apply_diff::prepare;
use similar::TextDiff;

struct Scenario {
    name: &'static str,
    files: Vec<(String, String, String)>,
}

fn file_lines(seed: usize, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            format!(
                "    let value_{seed}_{i} = compute({i}, \"{}\");",
                (i * 7919 + seed) % 10007
            )
        })
        .collect()
}

/// `count` lines, with one line changed every `every` lines.
fn old_and_new(seed: usize, count: usize, every: usize) -> (String, String) {
    let old = file_lines(seed, count);
    let new: Vec<String> = old
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i % every == every / 2 {
                format!("{line} // edited")
            } else {
                line.clone()
            }
        })
        .collect();
    (old.join("\n") + "\n", new.join("\n") + "\n")
}

fn scenarios() -> Vec<Scenario> {
    let many = (0..200)
        .map(|file| {
            let (old, new) = old_and_new(file, 625, 25);
            (format!("src/module_{file}.rs"), old, new)
        })
        .collect();
    let (old, new) = old_and_new(9999, 100_000, 50);
    vec![
        Scenario {
            name: "200 files, 5,000 hunks",
            files: many,
        },
        Scenario {
            name: "1 file of 100k lines, 2,000 hunks",
            files: vec![("big.rs".to_string(), old, new)],
        },
    ]
}

fn diff_of(scenario: &Scenario) -> String {
    scenario
        .files
        .iter()
        .map(|(path, old, new)| {
            TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string()
        })
        .collect()
}

fn fresh_tree(scenario: &Scenario) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, old, _) in &scenario.files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, old).unwrap();
    }
    dir
}

fn check(dir: &Path, scenario: &Scenario, who: &str) {
    for (path, _, new) in &scenario.files {
        assert!(
            std::fs::read_to_string(dir.join(path)).unwrap() == *new,
            "{who} produced a wrong {path}"
        );
    }
}

fn best_of<F: FnMut() -> Duration>(runs: usize, mut run: F) -> Duration {
    (0..runs).map(|_| run()).min().unwrap()
}

fn main() {
    for scenario in scenarios() {
        let diff = diff_of(&scenario);
        let hunks = diff.lines().filter(|line| line.starts_with("@@")).count();
        let git = best_of(7, || {
            let tree = fresh_tree(&scenario);
            std::fs::write(tree.path().join("change.diff"), &diff).unwrap();
            let started = Instant::now();
            let status = std::process::Command::new("git")
                .args(["apply", "change.diff"])
                .current_dir(tree.path())
                .status()
                .unwrap();
            let elapsed = started.elapsed();
            assert!(status.success());
            check(tree.path(), &scenario, "git apply");
            elapsed
        });
        let ours = best_of(7, || {
            let tree = fresh_tree(&scenario);
            let started = Instant::now();
            let workspace = Workspace::new(tree.path()).unwrap();
            prepare(&workspace, &diff).unwrap().commit().unwrap();
            let elapsed = started.elapsed();
            check(tree.path(), &scenario, "apply_diff");
            elapsed
        });
        println!(
            "{:<36} {hunks:>5} hunks  apply_diff {:>8.1} ms  git apply {:>8.1} ms  ratio {:.2}",
            scenario.name,
            ours.as_secs_f64() * 1000.0,
            git.as_secs_f64() * 1000.0,
            ours.as_secs_f64() / git.as_secs_f64()
        );
    }
}
