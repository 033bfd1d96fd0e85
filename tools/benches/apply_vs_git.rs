//! `apply_diff` against `git apply` on the same diffs, in the same run: one large diff (5,000
//! hunks across 200 files) and one huge file (100,000 lines, 2,000 hunks). Each side applies to a
//! fresh copy of the tree; the two take turns, 9 runs each, and each one's median is kept; both results are checked against the
//! expected files. Prints the time ratio (goal: no slower than `git apply`, ratio ≤ 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
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

fn fresh_tree(scenario: &Scenario, base: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(base).unwrap();
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

const RUNS: usize = 9;

/// Runs `git` and `ours` alternately, [`RUNS`] times each, on trees all made beforehand, and
/// returns each one's median time. Each choice keeps the comparison fair on a noisy disk: an ext4
/// without a journal (this project's CI machines) slows down allocating inodes while many were
/// deleted in the last half minute, so deleting trees between runs, or running one side's runs
/// after the other's, would measure the benchmark's own churn; and the median, unlike the best,
/// is not decided by one side's single lucky run.
fn medians_alternating(scenario: &Scenario, diff: &str, base: &Path) -> (Duration, Duration) {
    let trees: Vec<(tempfile::TempDir, tempfile::TempDir)> = (0..RUNS)
        .map(|_| (fresh_tree(scenario, base), fresh_tree(scenario, base)))
        .collect();
    let (mut git, mut ours): (Vec<Duration>, Vec<Duration>) = trees
        .iter()
        .map(|(for_git, for_us)| {
            (
                git_apply(scenario, diff, for_git.path()),
                apply_diff(scenario, diff, for_us.path()),
            )
        })
        .unzip();
    git.sort_unstable();
    ours.sort_unstable();
    (git[RUNS / 2], ours[RUNS / 2])
}

fn git_apply(scenario: &Scenario, diff: &str, tree: &Path) -> Duration {
    let diff_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(diff_file.path(), diff).unwrap();
    let started = Instant::now();
    let status = std::process::Command::new("git")
        .arg("apply")
        .arg(diff_file.path())
        .current_dir(tree)
        .status()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(status.success());
    check(tree, scenario, "git apply");
    elapsed
}

fn apply_diff(scenario: &Scenario, diff: &str, tree: &Path) -> Duration {
    let started = Instant::now();
    let workspace = Workspace::new(tree).unwrap();
    prepare(&workspace, diff).unwrap().commit().unwrap();
    let elapsed = started.elapsed();
    check(tree, scenario, "apply_diff");
    elapsed
}

/// Where the trees go: the system's temp directory (a disk), and a RAM file system where there is
/// one, which shows the work itself without the disk's inode allocator.
fn bases() -> Vec<(&'static str, PathBuf)> {
    let mut bases = vec![("temp dir", std::env::temp_dir())];
    let ram = Path::new("/dev/shm");
    if ram.is_dir() {
        bases.push(("tmpfs", ram.to_path_buf()));
    }
    bases
}

/// The file system `path` is on, as /proc/self/mounts says (the longest mount point above it),
/// and for ext4 whether it has a journal (/proc/fs/jbd2 lists the devices that have one): on an
/// ext4 without one, allocating inodes slows down while many were recently deleted, so the disk
/// timings of both sides follow the machine's recent history.
fn file_system_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let Some((device, kind)) = mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let (device, point, kind) = (*fields.first()?, *fields.get(1)?, *fields.get(2)?);
            path.starts_with(point)
                .then_some((point.len(), device, kind))
        })
        .max_by_key(|(length, _, _)| *length)
        .map(|(_, device, kind)| (device.to_string(), kind.to_string()))
    else {
        return "unknown file system".into();
    };
    if kind != "ext4" {
        return kind;
    }
    let name = device.trim_start_matches("/dev/");
    let journaled = std::fs::read_dir("/proc/fs/jbd2")
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        });
    match journaled {
        true => "ext4 with a journal".into(),
        false => {
            "ext4 without a journal, so disk timings follow recent deletions; see README".into()
        }
    }
}

fn main() {
    for (name, base) in bases() {
        println!("{name}: {} ({})", base.display(), file_system_of(&base));
    }
    for scenario in scenarios() {
        let diff = diff_of(&scenario);
        let hunks = diff.lines().filter(|line| line.starts_with("@@")).count();
        for (base_name, base) in bases() {
            let (git, ours) = medians_alternating(&scenario, &diff, &base);
            println!(
                "{:<34} {hunks:>5} hunks  {base_name:<8}  apply_diff {:>7.1} ms  git apply {:>7.1} ms  ratio {:.2}",
                scenario.name,
                ours.as_secs_f64() * 1000.0,
                git.as_secs_f64() * 1000.0,
                ours.as_secs_f64() / git.as_secs_f64()
            );
        }
    }
}
