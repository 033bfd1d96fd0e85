/*!
A batch's results directory: `results.jsonl` (one line per finished task, appended and flushed as
each task ends, so a crash loses no finished result), one `<id>.patch` and one `<id>.jsonl`
transcript per task. Read back for resuming, merging, reviewing and applying.
*/

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const RESULTS_FILE: &str = "results.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The model finished and the check (if any) passed.
    Ok,
    /// The model did not finish (turn limit, repeated calls).
    Failed,
    CheckFailed,
    Timeout,
    /// Setup failed, the API failed, or the worktree could not be made.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::CheckFailed => "check-failed",
            Status::Timeout => "timeout",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub id: String,
    pub status: Status,
    pub workspace: String,
    pub turns: u32,
    pub prompt_tokens: u64,
    pub cached_tokens: u64,
    pub completion_tokens: u64,
    pub seconds: f64,
    pub check_exit_code: Option<i32>,
    /// The patch file (relative to the results directory), if the task changed anything.
    pub patch: Option<String>,
    pub denied_actions: u32,
    pub error: Option<String>,
    /// The final answer's JSON value, for a task with an `output_schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The model's plan as the task ended, when it kept one (`update_plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<crate::protocol::event::PlanStep>>,
}

/// Results read from a directory: the last line per id wins (a retried task).
pub fn read(dir: &Path) -> Result<BTreeMap<String, TaskResult>> {
    let path = dir.join(RESULTS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut results = BTreeMap::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        // A line cut by a crash mid-write is ignored: that task simply runs again.
        if let Ok(result) = serde_json::from_str::<TaskResult>(line) {
            results.insert(result.id.clone(), result);
        } else if index + 1 < text.lines().count() {
            anyhow::bail!("{} line {}: not a task result", path.display(), index + 1);
        }
    }
    Ok(results)
}

/// Appends results, one flushed line each.
pub struct ResultsWriter {
    file: File,
}

impl ResultsWriter {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = crate::records::open_for_append(&dir.join(RESULTS_FILE))?;
        Ok(Self { file })
    }

    pub fn append(&mut self, result: &TaskResult) -> Result<()> {
        let mut line = serde_json::to_string(result)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// `agent batch merge`: the results of several (shard) directories in one, with their patches
/// and transcripts copied over.
pub fn merge(sources: &[PathBuf], out: &Path) -> Result<usize> {
    let mut merged: BTreeMap<String, TaskResult> = read(out)?;
    let mut writer = ResultsWriter::open(out)?;
    let mut count = 0;
    for source in sources {
        for (id, result) in read(source)? {
            for name in [format!("{id}.patch"), format!("{id}.jsonl")] {
                let from = source.join(&name);
                if from.is_file() {
                    std::fs::copy(&from, out.join(&name))
                        .with_context(|| format!("cannot copy {}", from.display()))?;
                }
            }
            if merged.get(&id) != Some(&result) {
                writer.append(&result)?;
                merged.insert(id, result);
                count += 1;
            }
        }
    }
    Ok(count)
}
