/*!
Batch input: JSONL (one task per line) or TOML (`[[task]]` tables), from a file or stdin. The
whole file is checked before anything runs; every bad line is reported with its line number.
*/

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::agent::OutputSchema;
use crate::approval::ApprovalMode;
use crate::protocol::modes::{EditFormat, SandboxSetting};

/// One task of a batch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub id: String,
    pub task: String,
    /// Repository or directory to work on (default: the current directory).
    pub workspace: Option<PathBuf>,
    /// Shell command run in the task's worktree before the agent.
    pub setup: Option<String>,
    /// Shell command run after the agent; its exit code is the verdict.
    pub check: Option<String>,
    pub model: Option<String>,
    pub max_turns: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub approval: Option<ApprovalMode>,
    /// A JSON Schema the final answer must satisfy: a file, or the schema itself.
    pub output_schema: Option<SchemaSource>,
    /// The sandbox of the task's commands (default: the batch's).
    pub sandbox: Option<SandboxSetting>,
    /// Which tools the model edits with (default: the batch's).
    pub edit_format: Option<EditFormat>,
}

/// Where a task's output schema is: a file (relative to the current directory) or inline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SchemaSource {
    File(PathBuf),
    Inline(serde_json::Value),
}

impl SchemaSource {
    pub fn load(&self, cwd: &Path) -> Result<OutputSchema> {
        match self {
            SchemaSource::File(path) => OutputSchema::load(&cwd.join(path)),
            SchemaSource::Inline(schema) => OutputSchema::new(schema.clone()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlBatch {
    task: Vec<TaskSpec>,
}

/// Reads and checks a batch file (`-` for stdin).
pub fn load(file: &str) -> Result<Vec<TaskSpec>> {
    let text = if file == "-" {
        crate::cli::read_stdin("the batch")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
    };
    let looks_toml = file.ends_with(".toml") || text.trim_start().starts_with("[[task]]");
    let (tasks, lines) = if looks_toml {
        parse_toml(&text)?
    } else {
        parse_jsonl(&text)?
    };
    check(&tasks, &lines, &std::env::current_dir()?)?;
    Ok(tasks)
}

/// Tasks with the line each starts on.
fn parse_jsonl(text: &str) -> Result<(Vec<TaskSpec>, Vec<usize>)> {
    let mut tasks = Vec::new();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match serde_json::from_str::<TaskSpec>(line) {
            Ok(task) => {
                tasks.push(task);
                lines.push(index + 1);
            }
            Err(error) => errors.push(format!("line {}: {error}", index + 1)),
        }
    }
    if !errors.is_empty() {
        bail!(
            "invalid batch file, nothing was run:\n{}",
            errors.join("\n")
        );
    }
    Ok((tasks, lines))
}

fn parse_toml(text: &str) -> Result<(Vec<TaskSpec>, Vec<usize>)> {
    let batch: TomlBatch = toml::from_str(text)
        .map_err(|error| anyhow::anyhow!("invalid batch file, nothing was run:\n{error}"))?;
    // The line of each `[[task]]` header, for messages.
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == "[[task]]")
        .map(|(index, _)| index + 1)
        .collect();
    Ok((batch.task, lines))
}

fn check(tasks: &[TaskSpec], lines: &[usize], cwd: &Path) -> Result<()> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (task, &line) in tasks.iter().zip(lines) {
        if task.id.trim().is_empty() {
            errors.push(format!("line {line}: `id` is empty"));
        } else if task.id.contains(['/', '\\']) || task.id.starts_with('.') {
            errors.push(format!(
                "line {line}: id `{}` must be usable as a file name",
                task.id
            ));
        }
        if task.task.trim().is_empty() {
            errors.push(format!("line {line}: `task` is empty"));
        }
        if let Some(Err(error)) = task.output_schema.as_ref().map(|source| source.load(cwd)) {
            errors.push(format!("line {line}: output_schema: {error:#}"));
        }
        if let Some(first) = seen.insert(&task.id, line) {
            errors.push(format!(
                "line {line}: duplicate id `{}` (first on line {first})",
                task.id
            ));
        }
    }
    if tasks.is_empty() {
        errors.push("the batch has no tasks".to_string());
    }
    if !errors.is_empty() {
        bail!(
            "invalid batch file, nothing was run:\n{}",
            errors.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_errors_name_their_lines() {
        let text = "{\"id\":\"a\",\"task\":\"x\"}\n\n{\"id\":\"b\"}\n{\"id\":\"a\",\"task\":\"y\"}\n{\"id\":\"c\",\"task\":\"z\",\"colour\":1}\n";
        let (tasks, lines) = match parse_jsonl(text) {
            Err(error) => {
                let message = error.to_string();
                assert!(
                    message.contains("line 3: missing field `task`"),
                    "{message}"
                );
                assert!(
                    message.contains("line 5: unknown field `colour`"),
                    "{message}"
                );
                return;
            }
            Ok(parsed) => parsed,
        };
        panic!("parsed {tasks:?} {lines:?}");
    }

    #[test]
    fn duplicates_and_empty_fields_are_refused() {
        let (tasks, lines) =
            parse_jsonl("{\"id\":\"a\",\"task\":\"x\"}\n{\"id\":\"a\",\"task\":\" \"}\n").unwrap();
        let message = check(&tasks, &lines, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "invalid batch file, nothing was run:\nline 2: `task` is empty\nline 2: duplicate id `a` (first on line 1)"
        );
    }

    #[test]
    fn toml_tasks_parse() {
        let (tasks, lines) = parse_toml("[[task]]\nid = \"a\"\ntask = \"x\"\ncheck = \"make test\"\n\n[[task]]\nid = \"b\"\ntask = \"y\"\napproval = \"all\"\n").unwrap();
        assert_eq!(lines, [1, 6]);
        assert_eq!(tasks[0].check.as_deref(), Some("make test"));
        assert_eq!(tasks[1].approval, Some(ApprovalMode::All));
    }
}
