//! `search` against ripgrep on the same tree of 15,000 files, in the same run: a regex that
//! matches nothing (so `search` also looks for it as literal text: one walk must do both), a
//! regex that matches, and a literal. The two take turns, 7 runs each, medians kept. ripgrep runs
//! as it does by default (a thread per core, files in any order) and, for reference, with
//! `--sort path` (one thread, files in order). `search` walks on every core too and sorts its
//! answer after. Prints the ratios (goal: `search` at most 1.2 times `rg` in each case). Skipped
//! without `rg`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use agent_tools::Workspace;
use agent_tools::search::{SearchArgs, run};

const RUNS: usize = 7;

fn build_tree(root: &Path) {
    for dir in 0..150 {
        let dir_path = root.join(format!("pkg_{dir}"));
        std::fs::create_dir_all(&dir_path).unwrap();
        for file in 0..100 {
            let lines: String = (0..40)
                .map(|line| {
                    format!(
                        "    let value_{dir}_{file}_{line} = compute({}, \"{}\");\n",
                        (line * 7 + file) % 97,
                        (dir * 31 + file * 7 + line) % 10007
                    )
                })
                .collect();
            std::fs::write(dir_path.join(format!("mod_{file}.rs")), lines).unwrap();
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ours(workspace: &Workspace, pattern: &str, literal: Option<bool>) -> Duration {
    let args = SearchArgs {
        pattern: pattern.to_string(),
        path: None,
        glob: None,
        literal,
    };
    let started = Instant::now();
    let output = run(workspace, &args);
    let elapsed = started.elapsed();
    assert!(!output.content.is_empty());
    elapsed
}

fn ripgrep(root: &Path, pattern: &str, literal: Option<bool>, sorted: bool) -> Duration {
    let mut command = Command::new("rg");
    command.args(["-n", "--no-heading"]).current_dir(root);
    if sorted {
        command.args(["--sort", "path"]);
    }
    if literal == Some(true) {
        command.arg("-F");
    }
    command.arg(pattern);
    let started = Instant::now();
    let output = command.output().unwrap();
    let elapsed = started.elapsed();
    assert!(output.status.code() == Some(0) || output.status.code() == Some(1));
    elapsed
}

fn main() {
    if Command::new("rg").arg("--version").output().is_err() {
        println!("search_vs_rg: skipped (no `rg` on PATH; apt-get install ripgrep)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    build_tree(dir.path());
    let workspace = Workspace::new(dir.path()).unwrap();
    let cases = [
        ("regex, no match", r"compute\(98, ", None),
        ("regex, 150 matches", r"value_\d+_7_3 =", None),
        ("literal, 1 match", "\"5003\");", Some(true)),
    ];
    println!("search_vs_rg: 15,000 files, {RUNS} alternating runs each, medians");
    for (name, pattern, literal) in cases {
        let (mut search, mut sorted, mut threaded) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            search.push(ours(&workspace, pattern, literal));
            sorted.push(ripgrep(dir.path(), pattern, literal, true));
            threaded.push(ripgrep(dir.path(), pattern, literal, false));
        }
        let (search, sorted, threaded) = (median(search), median(sorted), median(threaded));
        println!(
            "  {name:<20} search {:>6.1} ms   rg {:>6.1} ms   ratio {:.2}   (rg --sort path {:.1} ms, ratio {:.2})",
            search.as_secs_f64() * 1e3,
            threaded.as_secs_f64() * 1e3,
            search.as_secs_f64() / threaded.as_secs_f64(),
            sorted.as_secs_f64() * 1e3,
            search.as_secs_f64() / sorted.as_secs_f64(),
        );
    }
}
