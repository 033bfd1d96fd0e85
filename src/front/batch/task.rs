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

use super::input::TaskSpec;
use super::progress::{TaskState, Tracker};
use super::results::{Status, TaskResult};
use crate::agent::OutputSchema;
use crate::config::{Settings, edit_tools, secret_variables};
use crate::front::terminal::TerminalFront;
use crate::isolate::{Isolation, StartFrom, starting_commit};
use crate::model::ModelClient;
use crate::protocol::event::Outcome;
use crate::protocol::modes::{ApprovalMode, SandboxChoice};
use crate::session::{
    Ended, Journal, ModelSource, Opening, Place, Records, Resolved, Session, blocking,
};

/// What every task of a batch shares.
pub struct BatchContext {
    /// Resolved once, the server asked once; a task may name another model.
    pub settings: Settings,
    pub client: ModelClient,
    pub cwd: PathBuf,
    pub out: PathBuf,
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
    let verdict = verdict.unwrap_or_else(|error| TaskEnd {
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
        plan: state.plan,
    }
}

struct TaskEnd {
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
) -> Result<TaskEnd> {
    let root = root
        .canonicalize()
        .with_context(|| format!("workspace {}", root.display()))?;
    let dir = context.out.join(format!("{}.worktree", spec.id));
    // Git runs as blocking child processes: keep them off the runtime's few worker threads.
    let base = starting_commit_of(context, &root).await?;
    let real = root.clone();
    let isolation = blocking(move || Isolation::create_fresh(&real, &dir, base.as_deref())).await?;
    // For the batch file's own setup and check commands (the session confines the model's).
    let workspace = Workspace::new(&isolation.dir)?
        .with_scrubbed_env(secret_variables(&context.settings.api_key));
    let timeout = Duration::from_secs(spec.timeout_secs.unwrap_or(context.timeout_secs));
    // The worktree was made ahead; the task's time (and its timeout) starts with its turn to run.
    let _running = context.running.acquire().await?;
    let started = Instant::now();
    let work = work(spec, context, &root, workspace, tracker);
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
    Ok(TaskEnd {
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
    root: &Path,
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
    let place = Place::Isolated {
        real: root.to_path_buf(),
        tree: workspace.root().to_path_buf(),
    };
    let ended = agent_session(spec, context, place, output_schema, tracker).await?;
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

/// The task's session in the core: in the worktree, recorded in the results directory, with no
/// edit journal (the patch is the change).
async fn agent_session(
    spec: &TaskSpec,
    context: &BatchContext,
    place: Place,
    output_schema: Option<OutputSchema>,
    tracker: Tracker,
) -> Result<Ended> {
    let mut settings = context.settings.clone();
    let client = match &spec.model {
        Some(model) => {
            settings.model.clone_from(model);
            context.client.for_model(model)
        }
        None => context.client.clone(),
    };
    let client = match spec.edit_format {
        Some(format) => {
            client.with_edit_tools(edit_tools(format, client.kind(), settings.context_window))
        }
        None => client,
    };
    let model = ModelSource::Resolved(Box::new(Resolved { settings, client }));
    let mut opening = Opening::new(&TerminalFront, place, model);
    opening.records = Records::At(context.out.join(format!("{}.jsonl", spec.id)));
    opening.journal = Journal::NotKept;
    let default_mode = match context.yes {
        true => ApprovalMode::All,
        false => ApprovalMode::Edits,
    };
    opening.approval = Some(spec.approval.unwrap_or(default_mode).inside_isolation());
    opening.sandbox = SandboxChoice {
        setting: spec.sandbox.or(context.sandbox.setting),
        network: context.sandbox.network,
    };
    opening.output_schema = output_schema;
    opening.max_turns = spec.max_turns;
    let mut session = Session::open(opening).await?;
    let ended = session.prompt(spec.task.clone(), Box::new(tracker)).await;
    session.close().await;
    ended
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
    let head = blocking(move || starting_commit(&owned, StartFrom::Head)).await?;
    heads.insert(root.to_path_buf(), head.clone());
    Ok(head)
}

fn describe(code: Option<i32>) -> String {
    code.map_or_else(|| "killed".to_string(), |code| format!("exit code {code}"))
}
