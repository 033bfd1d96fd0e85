/*!
One batch task: a worktree of the workspace's HEAD, the optional setup command, the agent (edits
applied inside the worktree; commands only if the task or `--yes` allows them), the optional
check command, and the patch. The whole task is bounded by its timeout; a timed-out task still
leaves its patch.
*/

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent_tools::Workspace;
use agent_tools::run_command::{self, RunCommandArgs};
use anyhow::{Context, Result};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::input::TaskSpec;
use super::progress::{TaskState, Tracker};
use super::results::{Status, TaskResult};
use crate::agent::{Agent, Conversation, ToolRunner};
use crate::config::{FileConfig, edit_tools, secret_variables};
use crate::isolate::{Isolation, Start, starting_commit};
use crate::mcp::McpTools;
use crate::model::ModelClient;
use crate::policy::{approver, sandbox};
use crate::protocol::event::{Events, Outcome};
use crate::protocol::modes::{ApprovalMode, SandboxChoice};
use crate::review::Confinement;
use crate::run::{Orientation, report_problem, system_prompt};
use crate::session::Transcript;

/// What every task of a batch shares.
pub struct BatchContext {
    pub client: ModelClient,
    pub config: FileConfig,
    pub api_key: String,
    pub cwd: PathBuf,
    pub out: PathBuf,
    pub max_turns: u32,
    pub timeout_secs: u64,
    /// `--yes`: tasks without an `approval` field may run commands.
    pub yes: bool,
    /// `-j`: how many tasks run at once. More tasks than that hold a worktree made ahead, so
    /// making and removing worktrees stays off the critical path.
    pub running: tokio::sync::Semaphore,
    /// Each workspace's HEAD, read once: every task on a repository starts from the same commit.
    pub heads: tokio::sync::Mutex<HashMap<PathBuf, Option<String>>>,
    /// `--sandbox` / `--network` of the batch.
    pub sandbox: SandboxChoice,
}

impl BatchContext {
    /// How a task's commands are confined. The sandbox cannot change from task to task on one
    /// machine, so an unenforceable one is reported once, by the batch.
    fn confinement_of(&self, workspace: &Workspace) -> Confinement {
        match workspace.sandbox().mechanism() {
            Ok(_) => Confinement::Sandboxed,
            Err(_) => Confinement::Unenforceable,
        }
    }
}

pub async fn run(
    spec: TaskSpec,
    context: &BatchContext,
    bar: Option<indicatif::ProgressBar>,
) -> TaskResult {
    let root = spec
        .workspace
        .as_ref()
        .map_or_else(|| context.cwd.clone(), |dir| context.cwd.join(dir));
    let state = Arc::new(Mutex::new(TaskState::default()));
    let tracker = Tracker::new(&spec.id, state.clone(), bar);
    let verdict = attempt(&spec, context, &root, tracker).await;
    let state = crate::sync::lock(&state).clone();
    let verdict = verdict.unwrap_or_else(|error| Verdict {
        status: Status::Error,
        check_exit_code: None,
        patch: None,
        error: Some(format!("{error:#}")),
        output: None,
        seconds: 0.0,
    });
    TaskResult {
        id: spec.id,
        status: verdict.status,
        workspace: root.display().to_string(),
        turns: state.turns,
        prompt_tokens: state.prompt_tokens,
        cached_tokens: state.cached_tokens,
        completion_tokens: state.completion_tokens,
        seconds: (verdict.seconds * 10.0).round() / 10.0,
        check_exit_code: verdict.check_exit_code,
        patch: verdict.patch,
        denied_actions: state.denied_actions,
        error: verdict.error,
        output: verdict.output,
    }
}

struct Verdict {
    status: Status,
    check_exit_code: Option<i32>,
    patch: Option<String>,
    error: Option<String>,
    output: Option<Value>,
    seconds: f64,
}

/// How setup, agent and check ended.
struct Worked {
    status: Status,
    check_exit_code: Option<i32>,
    error: Option<String>,
    /// The final answer's value, for a task with an output schema.
    output: Option<Value>,
}

impl Worked {
    fn stopped(status: Status, error: String) -> Self {
        Self {
            status,
            check_exit_code: None,
            error: Some(error),
            output: None,
        }
    }
}

async fn attempt(
    spec: &TaskSpec,
    context: &BatchContext,
    root: &Path,
    tracker: Tracker,
) -> Result<Verdict> {
    let root = root
        .canonicalize()
        .with_context(|| format!("workspace {}", root.display()))?;
    let dir = context.out.join(format!("{}.worktree", spec.id));
    // Git runs as blocking child processes: keep them off the runtime's few worker threads.
    let base = starting_commit_of(context, &root).await?;
    let isolation = blocking(move || Isolation::create_fresh(&root, &dir, base.as_deref())).await?;
    let sandbox_choice = SandboxChoice {
        setting: spec.sandbox.or(context.sandbox.setting),
        network: context.sandbox.network,
    };
    let workspace = Workspace::new(&isolation.dir)?
        .with_scrubbed_env(secret_variables(&context.api_key))
        .with_sandbox(sandbox(sandbox_choice, &context.config));
    let timeout = Duration::from_secs(spec.timeout_secs.unwrap_or(context.timeout_secs));
    // The worktree was made ahead; the task's time (and its timeout) starts with its turn to run.
    let _running = context.running.acquire().await?;
    let started = Instant::now();
    let work = work(spec, context, workspace, tracker);
    let ended = tokio::time::timeout(timeout, work).await;
    let seconds = started.elapsed().as_secs_f64();
    drop(_running);
    let worked = match ended {
        Ok(Ok(worked)) => worked,
        Ok(Err(error)) => Worked::stopped(Status::Error, format!("{error:#}")),
        Err(_) => Worked::stopped(
            Status::Timeout,
            format!("timed out after {}s", timeout.as_secs()),
        ),
    };
    let patch_text = blocking(move || {
        let patch = isolation.patch()?;
        isolation.remove()?;
        Ok(patch)
    })
    .await?;
    let patch = if patch_text.trim().is_empty() {
        None
    } else {
        let name = format!("{}.patch", spec.id);
        std::fs::write(context.out.join(&name), patch_text)
            .with_context(|| format!("cannot write {name}"))?;
        Some(name)
    };
    Ok(Verdict {
        status: worked.status,
        check_exit_code: worked.check_exit_code,
        patch,
        error: worked.error,
        output: worked.output,
        seconds,
    })
}

/// Setup, agent, check.
async fn work(
    spec: &TaskSpec,
    context: &BatchContext,
    workspace: Workspace,
    tracker: Tracker,
) -> Result<Worked> {
    let output_schema = spec
        .output_schema
        .as_ref()
        .map(|source| source.load(&context.cwd))
        .transpose()?;
    if let Some(setup) = &spec.setup {
        let (code, output) = shell(&workspace, setup).await?;
        if code != Some(0) {
            return Ok(Worked::stopped(
                Status::Error,
                format!("setup `{setup}` failed ({})\n{output}", describe(code)),
            ));
        }
    }
    let transcript = Transcript::open(
        &context.out.join(format!("{}.jsonl", spec.id)),
        &context.api_key,
    )?;
    // Each task has its own MCP servers, working in its own tree.
    let report = |problem| report_problem(format!("{}: {problem}", spec.id));
    let mcp = Arc::new(McpTools::start(&context.config.mcp_servers, &workspace, report).await);
    let client = match &spec.model {
        Some(model) => context.client.for_model(model),
        None => context.client.clone(),
    }
    .with_extra_tools(mcp.definitions());
    let client = match spec.edit_format {
        Some(format) => client.with_edit_tools(edit_tools(format, client.kind())),
        None => client,
    };
    let default_mode = if context.yes {
        ApprovalMode::All
    } else {
        ApprovalMode::Edits
    };
    let mode = spec.approval.unwrap_or(default_mode).inside_isolation();
    let orientation = Orientation::chosen(&spec.task, false, &context.config);
    let system = system_prompt(workspace.root(), &jiff::Zoned::now(), orientation, &client);
    let tools = ToolRunner::new(
        workspace.clone(),
        approver(mode, &context.config, context.confinement_of(&workspace)),
        CancellationToken::new(),
    )
    .with_mcp(Arc::clone(&mcp));
    let mut agent = Agent {
        client: &client,
        tools,
        events: Events::new(vec![Box::new(transcript), Box::new(tracker)]),
        max_turns: spec.max_turns.unwrap_or(context.max_turns),
        stop: CancellationToken::new(),
        output_schema,
    };
    let ended = agent
        .run(Conversation::new(system, spec.task.clone()))
        .await;
    drop(agent);
    McpTools::shutdown_shared(mcp).await;
    let (status, error) = match ended.outcome {
        Outcome::Completed => (Status::Ok, None),
        Outcome::TurnLimit { .. }
        | Outcome::RepeatedCall { .. }
        | Outcome::Interrupted
        | Outcome::Quit => (Status::Failed, None),
        Outcome::InvalidOutput { problems } => (
            Status::Failed,
            Some(format!(
                "the answer never satisfied the output schema:\n{problems}"
            )),
        ),
        Outcome::Error { message } => return Ok(Worked::stopped(Status::Error, message)),
    };
    let mut worked = Worked {
        status,
        check_exit_code: None,
        error,
        output: ended.output,
    };
    let Some(check) = &spec.check else {
        return Ok(worked);
    };
    let (code, output) = shell(&workspace, check).await?;
    worked.check_exit_code = code;
    if status == Status::Ok && code != Some(0) {
        worked.status = Status::CheckFailed;
        worked.error = Some(format!(
            "check `{check}` failed ({})\n{output}",
            describe(code)
        ));
    }
    Ok(worked)
}

/// Runs a setup or check command in the worktree (bounded by the task's own timeout).
async fn shell(workspace: &Workspace, command: &str) -> Result<(Option<i32>, String)> {
    let args = RunCommandArgs {
        command: command.to_string(),
        timeout_secs: Some(u64::MAX / 4),
        // The batch file's own commands, not the model's: they run as the user wrote them.
        outside_sandbox: Some(true),
    };
    let finished = run_command::execute(workspace, &args, std::future::pending()).await?;
    Ok((
        finished.exit_code(),
        agent_tools::truncate_head_tail(&finished.output(), 2000),
    ))
}

async fn starting_commit_of(context: &BatchContext, root: &Path) -> Result<Option<String>> {
    let mut heads = context.heads.lock().await;
    if let Some(head) = heads.get(root) {
        return Ok(head.clone());
    }
    let owned = root.to_path_buf();
    let head = blocking(move || starting_commit(&owned, Start::Head)).await?;
    heads.insert(root.to_path_buf(), head.clone());
    Ok(head)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a blocking task panicked")?
}

fn describe(code: Option<i32>) -> String {
    code.map_or_else(|| "killed".to_string(), |code| format!("exit code {code}"))
}
