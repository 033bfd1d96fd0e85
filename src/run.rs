/*!
`agent run`: wires settings, the model client, the tools, the event sinks and Ctrl-C handling
around one [`Agent`] run, and turns its outcome into an exit code.
*/

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use agent_tools::{EditTools, Workspace, run_command};
use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Conversation, OutputSchema, ToolRunner, replay};
use crate::cli::RunArgs;
use crate::config::{FileConfig, Settings, secret_variables};
use crate::isolate::{Isolation, Start, review_and_apply, starting_commit};
use crate::mcp::McpTools;
use crate::model::wire::Message;
use crate::model::{ModelClient, settle_for_server};
use crate::policy::{approval_mode, approver, confinement, sandbox};
use crate::protocol::event::{Event, EventSink, Events, Outcome};
use crate::protocol::exit::Exit;
use crate::protocol::modes::{ProviderKind, TextToolCalls};
use crate::review::Approver;
use crate::session::{
    EditJournal, Redactor, Transcript, find_transcript, new_session_id, session_id,
};
use crate::ui::{JsonLines, TerminalView};

const SYSTEM_PROMPT: &str = include_str!("../prompts/system.md");

pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let task = read_task(&args.task)?;
    let real = open_workspace(args.workspace.workspace.as_deref())?;
    let config = FileConfig::load(real.root())?;
    let mut settings =
        Settings::resolve(&args.model.choice(), args.sessions_dir.as_deref(), &config)?;
    settle_for_server(&mut settings).await;
    report_window(&settings);
    let output_schema = args
        .output_schema
        .as_deref()
        .map(OutputSchema::load)
        .transpose()?;

    let now = jiff::Zoned::now();
    let (session_id, transcript, resumed) = open_session(&args, &settings, real.root(), &now)?;
    announce_transcript(&args, transcript.path());
    let journal_path = transcript.journal_path();
    let patch_path = transcript.path().with_extension("patch");
    let worktree = transcript.path().with_extension("worktree");
    let isolation = match args.isolate {
        true => Some(isolate(&real, &worktree)?),
        false => None,
    };
    let workspace = match &isolation {
        Some(isolation) => open_workspace(Some(&isolation.dir))?,
        None => real.clone(),
    }
    .with_scrubbed_env(secret_variables(&settings.api_key))
    .with_sandbox(sandbox(args.sandbox.choice(), &config));
    let confinement = confinement(workspace.sandbox());
    let mcp = Arc::new(McpTools::start(&config.mcp_servers, &workspace, report_problem).await);
    let client = ModelClient::new(&settings)?.with_extra_tools(mcp.definitions());

    let front: Box<dyn EventSink> = match args.json {
        true => Box::new(JsonLines),
        false => Box::new(TerminalView::new()),
    };
    let is_resumed = resumed.is_some();
    let conversation = match resumed {
        Some(mut conversation) => {
            conversation.history.push(Message::User {
                content: task.clone(),
            });
            conversation
        }
        None => {
            let orientation = Orientation::chosen(&task, args.no_snapshot, &config);
            let system = system_prompt(workspace.root(), &now, orientation, &client);
            Conversation::new(system, task.clone())
        }
    };
    let mut events = Events::new(vec![Box::new(transcript), front]);
    events.emit(Event::SessionStarted {
        session_id: session_id.clone(),
        model: settings.model.clone(),
        base_url: settings.base_url.clone(),
        provider_kind: settings.kind.name().into(),
        workspace: workspace.root().display().to_string(),
        task,
        system_prompt: conversation.system_prompt().unwrap_or_default().to_string(),
        resumed: is_resumed,
    });

    let stop = CancellationToken::new();
    let hard_stop = CancellationToken::new();
    watch_ctrl_c(stop.clone(), hard_stop.clone());
    let mode = approval_mode(args.workspace.approval_flag(), &config);
    let tools = match &isolation {
        // Inside the isolated tree edits apply freely: the whole change is reviewed at the end.
        Some(_) => ToolRunner::new(
            workspace,
            approver(mode.inside_isolation(), &config, confinement),
            hard_stop,
        ),
        None => ToolRunner::new(
            workspace.clone(),
            approver(mode, &config, confinement),
            hard_stop,
        )
        .with_journal(EditJournal::create(&journal_path, &workspace)?),
    }
    .with_mcp(Arc::clone(&mcp));
    let mut agent = Agent {
        client: &client,
        tools,
        events,
        max_turns: settings.max_turns,
        stop,
        output_schema,
    };
    let outcome = agent.run(conversation).await.outcome;
    let mut denied = agent.tools.denied_actions();
    drop(agent);
    McpTools::shutdown_shared(mcp).await;
    if let Some(isolation) = isolation {
        let saved = SavedPatch {
            path: &patch_path,
            session_id: &session_id,
        };
        let journal = EditJournal::create(&journal_path, &real)?;
        let mut approver = approver(mode, &config, confinement);
        if !end_isolation(isolation, &real, saved, &mut approver, journal).await? {
            denied += 1;
        }
    }
    Ok(exit_code(&outcome, denied))
}

/// Takes the isolated run's change, removes its tree, and offers the change for the real
/// workspace. Returns false when it was left unapplied.
async fn end_isolation(
    isolation: Isolation,
    real: &Workspace,
    saved: SavedPatch<'_>,
    approver: &mut Approver,
    journal: EditJournal,
) -> Result<bool> {
    let patch = isolation.patch()?;
    isolation.remove()?;
    bring_back(real, &patch, saved, approver, journal).await
}

/// The session's id and transcript, new or resumed (then with its conversation so far).
fn open_session(
    args: &RunArgs,
    settings: &Settings,
    workspace: &Path,
    now: &jiff::Zoned,
) -> Result<(String, Transcript, Option<Conversation>)> {
    let id = match (&args.resume, args.continue_last) {
        (Some(id), _) => Some(Some(id.as_str())),
        (None, true) => Some(None),
        (None, false) => None,
    };
    match id {
        Some(id) => {
            let (session_id, path, conversation) = resume(settings, workspace, id)?;
            let transcript = Transcript::open(&path, &settings.api_key)?;
            Ok((session_id, transcript, Some(conversation)))
        }
        None => {
            let session_id = new_session_id(now);
            let transcript =
                Transcript::create(&settings.sessions_dir, now, &session_id, &settings.api_key)?;
            Ok((session_id, transcript, None))
        }
    }
}

/// A worktree (or copy) of the workspace's current state at `into`, untracked files included.
pub fn isolate(real: &Workspace, into: &Path) -> Result<Isolation> {
    let base = starting_commit(real.root(), Start::CurrentState)?;
    let mut isolation = Isolation::create(real.root(), into, base.as_deref())?;
    isolation.carry_untracked(real.root())?;
    Ok(isolation)
}

/// Where an isolated run's change is saved, and the session it came from.
struct SavedPatch<'a> {
    path: &'a Path,
    session_id: &'a str,
}

/// Says on stderr which context window is used, for servers other than GLM's (where it is known).
pub fn report_window(settings: &Settings) {
    if settings.kind == ProviderKind::Openai {
        eprintln!("{}", console::style(settings.describe_window()).dim());
    }
}

/// Says on stderr what went wrong outside the session's own events (an MCP server left out).
pub fn report_problem(problem: String) {
    eprintln!("{}", console::style(problem).yellow());
}

/// The session to resume (the latest of this workspace when `id` is None): its id, transcript
/// and conversation.
fn resume(
    settings: &Settings,
    workspace: &Path,
    id: Option<&str>,
) -> Result<(String, PathBuf, Conversation)> {
    let path = find_transcript(&settings.sessions_dir, workspace, id)?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text = Redactor::new(&settings.api_key).restore(&text);
    let conversation =
        replay(&text).with_context(|| format!("cannot resume from {}", path.display()))?;
    Ok((session_id(&path), path, conversation))
}

/// Offers the isolated run's change for review; saves it as a patch when it is not (all) applied.
/// Returns false when a change was left unapplied.
async fn bring_back(
    real: &Workspace,
    patch: &str,
    saved: SavedPatch<'_>,
    approver: &mut Approver,
    journal: EditJournal,
) -> Result<bool> {
    let (patch_path, session_id) = (saved.path, saved.session_id);
    if patch.trim().is_empty() {
        eprintln!("isolated run: no changes");
        return Ok(true);
    }
    std::fs::write(patch_path, patch)
        .with_context(|| format!("cannot save {}", patch_path.display()))?;
    match review_and_apply(real, patch, approver, journal).await {
        Ok(true) => return Ok(true),
        Ok(false) => eprintln!(
            "the isolated change was not applied; it is saved in {}\nreview it later with `agent apply {session_id}`, or drop it with `agent discard {session_id}`",
            patch_path.display()
        ),
        // Saved all the same: the work is not lost, and `git apply` may take what we cannot.
        Err(error) => eprintln!(
            "{error:#}\nthe isolated change is saved in {}: `git apply {}` applies it as it is",
            patch_path.display(),
            patch_path.display()
        ),
    }
    Ok(false)
}

fn exit_code(outcome: &Outcome, denied: u32) -> ExitCode {
    ExitCode::from(match outcome {
        Outcome::Completed if denied > 0 => Exit::Denied,
        Outcome::Completed => Exit::Success,
        Outcome::Error { .. } => Exit::Failure,
        Outcome::InvalidOutput { .. } => Exit::InvalidOutput,
        Outcome::TurnLimit { .. } => Exit::TurnLimit,
        Outcome::RepeatedCall { .. } => Exit::RepeatedCall,
        Outcome::Interrupted => Exit::Interrupted,
        Outcome::Quit => Exit::Quit,
    })
}

/// The transcript's path, on stderr, for the human view only (`--json` keeps stderr quiet).
fn announce_transcript(args: &RunArgs, path: &Path) {
    if !args.json {
        eprintln!(
            "{}",
            console::style(format!("session transcript: {}", path.display())).dim()
        );
    }
}

/// All of stdin, for arguments given as `-`; `what` names it in the error.
pub fn read_stdin(what: &str) -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {what} from stdin"))?;
    Ok(text)
}

fn read_task(task: &str) -> Result<String> {
    let task = if task == "-" {
        read_stdin("the task")?
    } else {
        task.to_string()
    };
    if task.trim().is_empty() {
        bail!("the task is empty");
    }
    Ok(task)
}

pub fn open_workspace(dir: Option<&Path>) -> Result<Workspace> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Workspace::new(&dir).with_context(|| format!("workspace {}", dir.display()))
}

/// Whether the system prompt carries a snapshot of the workspace (see [`crate::snapshot`]).
#[derive(Debug, Clone, Copy)]
pub enum Orientation<'a> {
    /// A snapshot taken for this task.
    SnapshotFor(&'a str),
    NoSnapshot,
}

impl<'a> Orientation<'a> {
    /// `--no-snapshot` or `snapshot = false` turn it off.
    pub fn chosen(task: &'a str, no_snapshot_flag: bool, config: &FileConfig) -> Self {
        match no_snapshot_flag || config.snapshot == Some(false) {
            true => Orientation::NoSnapshot,
            false => Orientation::SnapshotFor(task),
        }
    }
}

/// The system prompt with the workspace facts filled in, how to edit with the tools `client`
/// offers, then the project's AGENTS.md if any.
pub fn system_prompt(
    root: &Path,
    now: &jiff::Zoned,
    orientation: Orientation<'_>,
    client: &ModelClient,
) -> String {
    let mut prompt = SYSTEM_PROMPT
        .replace("{editing}", editing_prompt(client).trim_end())
        .replace("{workspace}", &root.display().to_string())
        .replace("{os}", std::env::consts::OS)
        .replace("{date}", &now.strftime("%Y-%m-%d").to_string());
    let agents: PathBuf = root.join("AGENTS.md");
    if let Ok(text) = std::fs::read_to_string(&agents) {
        prompt.push_str("\n\n# Project instructions (AGENTS.md)\n\n");
        prompt.push_str(text.trim_end());
        prompt.push('\n');
    }
    match orientation {
        Orientation::SnapshotFor(task) => {
            prompt.push_str("\n\n");
            prompt.push_str(&crate::snapshot::snapshot(root, task));
        }
        Orientation::NoSnapshot => {}
    }
    prompt
}

/// How to edit, for the edit tools `client` offers; a model whose calls may come as text also
/// learns the SEARCH/REPLACE block, which needs no JSON.
fn editing_prompt(client: &ModelClient) -> String {
    let tools = match client.edit_tools() {
        EditTools::Diff => include_str!("../prompts/editing/diff.md"),
        EditTools::Replace => include_str!("../prompts/editing/replace.md"),
        EditTools::DiffAndReplace => include_str!("../prompts/editing/diff_and_replace.md"),
        EditTools::Whole => include_str!("../prompts/editing/whole.md"),
    };
    match client.text_tool_calls() {
        TextToolCalls::Auto => format!("{tools}{}", include_str!("../prompts/editing/text.md")),
        TextToolCalls::Off => tools.to_string(),
    }
}

/// First Ctrl-C: finish the running tool, then stop. Second: kill running commands, exit now.
fn watch_ctrl_c(stop: CancellationToken, hard_stop: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.cancel();
        eprintln!(
            "\n{}",
            console::style("stopping after the running tool (Ctrl-C again to quit now)").yellow()
        );
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        hard_stop.cancel();
        run_command::kill_running_commands();
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
}
