//! `agent batch`: parallel tasks over several repositories in worktrees, mixed outcomes, results
//! and patches, resume after a kill, sharding and merge, invalid input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{MockGlm, Reply, Sandbox, finish, turn};

/// What a task's model does.
#[derive(Clone, Copy)]
enum Plan {
    /// Writes `out-<id>.txt`, which the check looks for.
    Succeed,
    /// Answers without writing: the check fails.
    Skip,
    /// The API refuses the request (unknown model).
    ApiError,
    /// The stream stalls until the task's timeout.
    Hang,
}

fn plan_of(index: usize) -> Plan {
    match index % 7 {
        3 => Plan::Skip,
        5 => Plan::ApiError,
        6 if index < 10 => Plan::Hang,
        _ => Plan::Succeed,
    }
}

fn replies(id: &str, plan: Plan) -> Vec<Reply> {
    match plan {
        Plan::Succeed => vec![
            turn()
                .call(
                    "w",
                    "write_file",
                    &json!({"path": format!("out-{id}.txt"), "content": format!("{id}\n")})
                        .to_string(),
                )
                .reply(),
            turn().content("written").reply(),
        ],
        Plan::Skip => vec![turn().content("nothing to do").reply()],
        Plan::ApiError => vec![Reply::Error {
            status: 400,
            code: "1211",
            retry_after: None,
        }],
        Plan::Hang => vec![Reply::Stall(turn().reasoning("hmm").chunks()[..1].to_vec())],
    }
}

struct Fixture {
    sandbox: Sandbox,
    repos: Vec<PathBuf>,
}

fn fixture() -> Fixture {
    let sandbox = Sandbox::new(&[]);
    let mut repos = Vec::new();
    for name in REPOS {
        let repo = sandbox.workspace.join(name);
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("README"), format!("{name}\n")).unwrap();
        support::init_repository(&repo);
        repos.push(repo);
    }
    Fixture { sandbox, repos }
}

const REPOS: [&str; 3] = ["alpha", "beta", "gamma"];

fn id(index: usize) -> String {
    format!("t{index:02}")
}

/// The batch file: task `i` works on repo `i % 3`; hanging tasks get a 1-second timeout.
fn batch_file(fixture: &Fixture, count: usize) -> PathBuf {
    let lines: Vec<String> = (0..count)
        .map(|index| {
            let mut task = json!({
                "id": id(index),
                "task": format!("[{}] write your file", id(index)),
                "workspace": REPOS[index % 3],
                "check": format!("test -f out-{}.txt", id(index)),
            });
            if matches!(plan_of(index), Plan::Hang) {
                task["timeout_secs"] = json!(1);
            }
            task.to_string()
        })
        .collect();
    let path = fixture.sandbox.dir.path().join("tasks.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn routes(indexes: impl Iterator<Item = usize>) -> Vec<(String, Vec<Reply>)> {
    indexes
        .map(|index| {
            (
                format!("[{}]", id(index)),
                replies(&id(index), plan_of(index)),
            )
        })
        .collect()
}

fn results(out: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|result| (result["id"].as_str().unwrap().to_string(), result))
        .collect()
}

fn expected_status(index: usize) -> &'static str {
    match plan_of(index) {
        Plan::Succeed => "ok",
        Plan::Skip => "check-failed",
        Plan::ApiError => "error",
        Plan::Hang => "timeout",
    }
}

#[tokio::test]
async fn twenty_tasks_over_three_repositories_with_mixed_outcomes() {
    let fixture = fixture();
    let file = batch_file(&fixture, 20);
    let mock = MockGlm::routed(routes(0..20), Duration::from_millis(20)).await;
    let out = fixture.sandbox.dir.path().join("out");
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "batch",
        file.to_str().unwrap(),
        "-j",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 7, "{}", run.stderr);

    let results = results(&out);
    assert_eq!(results.len(), 20);
    for index in 0..20 {
        let result = &results[&id(index)];
        assert_eq!(result["status"], expected_status(index), "{result}");
        match plan_of(index) {
            Plan::Succeed => {
                assert_eq!(result["check_exit_code"], 0);
                assert_eq!(result["turns"], 2);
                assert_eq!(result["patch"], format!("{}.patch", id(index)));
                let patch = out.join(format!("{}.patch", id(index)));
                let repo = &fixture.repos[index % 3];
                let check = Command::new("git")
                    .args(["apply", "--check", patch.to_str().unwrap()])
                    .current_dir(repo)
                    .output()
                    .unwrap();
                assert!(
                    check.status.success(),
                    "{}",
                    String::from_utf8_lossy(&check.stderr)
                );
            }
            Plan::Skip => assert_eq!(result["check_exit_code"], 1),
            Plan::ApiError => assert!(
                result["error"].as_str().unwrap().contains("1211"),
                "{result}"
            ),
            Plan::Hang => assert_eq!(result["error"], "timed out after 1s"),
        }
        assert!(out.join(format!("{}.jsonl", id(index))).is_file());
    }
    for repo in &fixture.repos {
        let status = Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(repo)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&status.stdout),
            "",
            "the user's checkout was modified"
        );
        let worktrees = Command::new("git")
            .args(["worktree", "list"])
            .current_dir(repo)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&worktrees.stdout).lines().count(),
            1
        );
    }
    assert!(run.stdout.contains("20 tasks: "), "{}", run.stdout);
}

#[tokio::test]
async fn a_killed_batch_resumes_without_rerunning_finished_tasks() {
    let fixture = fixture();
    let count = 12;
    let lines: Vec<String> = (0..count)
        .map(|index| {
            json!({"id": id(index), "task": format!("[{}] go", id(index)), "workspace": "alpha"})
                .to_string()
        })
        .collect();
    let file = fixture.sandbox.dir.path().join("resume.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = fixture.sandbox.dir.path().join("out");
    let all: Vec<(String, Vec<Reply>)> = (0..count)
        .map(|index| {
            (
                format!("[{}]", id(index)),
                vec![turn().content("done").reply()],
            )
        })
        .collect();
    let mock = MockGlm::routed(all.clone(), Duration::from_millis(150)).await;
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "batch",
        file.to_str().unwrap(),
        "-j",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut child = command.spawn().unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        while std::fs::read_to_string(out.join("results.jsonl"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
            < 3
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    child.kill().await.unwrap();
    let finished_before: Vec<String> = results(&out).into_keys().collect();
    assert!(
        finished_before.len() >= 3 && finished_before.len() < count,
        "{finished_before:?}"
    );

    let mock = MockGlm::routed(all, Duration::ZERO).await;
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "batch",
        file.to_str().unwrap(),
        "-j",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "skipping {} tasks already finished",
            finished_before.len()
        )),
        "{}",
        run.stderr
    );
    let asked = mock.tasks_asked();
    for done in &finished_before {
        assert!(
            !asked.iter().any(|task| task.contains(&format!("[{done}]"))),
            "{done} ran again"
        );
    }
    let results = results(&out);
    assert_eq!(results.len(), count);
    assert!(results.values().all(|result| result["status"] == "ok"));
}

#[tokio::test]
async fn two_shards_cover_every_task_once_and_merge() {
    let fixture = fixture();
    let file = batch_file(&fixture, 10);
    let succeed_only: Vec<(String, Vec<Reply>)> = (0..10)
        .map(|index| {
            (
                format!("[{}]", id(index)),
                replies(&id(index), Plan::Succeed),
            )
        })
        .collect();
    let mock = MockGlm::routed(succeed_only, Duration::ZERO).await;
    let mut shards = Vec::new();
    for shard in ["0/2", "1/2"] {
        let out = fixture
            .sandbox
            .dir
            .path()
            .join(format!("shard-{}", &shard[..1]));
        let mut command = fixture.sandbox.agent(&mock);
        command.args([
            "batch",
            file.to_str().unwrap(),
            "--shard",
            shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        let run = finish(command).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        shards.push(out);
    }
    let first: Vec<String> = results(&shards[0]).into_keys().collect();
    let second: Vec<String> = results(&shards[1]).into_keys().collect();
    assert!(!first.is_empty() && !second.is_empty());
    assert!(first.iter().all(|id| !second.contains(id)));
    let mut union: Vec<String> = first.iter().chain(&second).cloned().collect();
    union.sort();
    assert_eq!(union, (0..10).map(id).collect::<Vec<_>>());

    let merged = fixture.sandbox.dir.path().join("merged");
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "batch",
        "merge",
        "--out",
        merged.to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]);
    let run = finish(command).await;
    assert_eq!(
        (run.code, run.stdout.trim()),
        (
            0,
            format!("merged 10 results into {}", merged.display()).as_str()
        )
    );
    assert_eq!(results(&merged).len(), 10);
    assert!(merged.join("t03.patch").is_file());

    // Applying chosen patches to the real repositories.
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "apply",
        merged.to_str().unwrap(),
        "--ids",
        "t00,t01",
        "--yes",
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(fixture.repos[0].join("out-t00.txt")).unwrap(),
        "t00\n"
    );
    assert_eq!(
        std::fs::read_to_string(fixture.repos[1].join("out-t01.txt")).unwrap(),
        "t01\n"
    );
    assert!(!fixture.repos[2].join("out-t02.txt").exists());
}

#[tokio::test]
async fn an_invalid_batch_file_is_rejected_with_line_numbers() {
    let fixture = fixture();
    let file = fixture.sandbox.dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"a\",\"task\":\"x\"}\n{\"id\":\"b\"}\nnot json\n{\"id\":\"a\",\"task\":\"y\"}\n",
    )
    .unwrap();
    let mock = MockGlm::routed(Vec::new(), Duration::ZERO).await;
    let out = fixture.sandbox.dir.path().join("out");
    let mut command = fixture.sandbox.agent(&mock);
    command.args([
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = finish(command).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: invalid batch file, nothing was run:\nline 2: missing field `task`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 3: expected ident"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests().len(), 0);
    assert!(!out.exists());
}
