/*!
The session core every front end goes through: `agent run`, `agent batch`, editors over ACP and
the daemon all open, drive and close sessions here, and give it only what is their own (a
[`Front`]: how questions are asked, which editor holds the files; and a sink for the events).

A session is a workspace confined as the settings say, the model client, the tools with their
approver, the transcript and edit journal, and the conversation, which every prompt extends.
Sessions share transcripts and journals whoever opened them: one started in an editor continues
with `agent run --resume ID`, and the other way round. The core never prints: what it has to say
is an event.
*/

mod front;
mod hooked;
mod opening;
mod prompt;
mod setup;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Conversation, OutputSchema, ToolRunner, user_message, without_context};
use crate::config::{Settings, secret_variables};
use crate::hooks::{HookSession, Hooks};
use crate::isolate::Isolation;
use crate::mcp::McpTools;
use crate::model::ModelClient;
use crate::model::wire::Message;
use crate::policy::{approval_mode, approver, confinement, sandbox};
use crate::protocol::event::{Event, EventSink, Events, NoticeSubject, Outcome};
use crate::protocol::modes::ApprovalMode;
use crate::records::{Redactor, Transcript};
use crate::sync::lock;
pub use front::{Front, Stop};
use hooked::StartHooks;
pub use opening::{Begin, Journal, ModelSource, Opening, Place, Records, Resolved};
pub use prompt::Snapshot;
use setup::Notices;
pub use setup::blocking;

/// A session held open by a front end that keeps it across prompts (an editor, the daemon): the
/// session behind the lock a prompt takes, and its stops, reachable while the prompt runs.
#[derive(Clone)]
pub struct Held {
    pub session: Arc<tokio::sync::Mutex<Session>>,
    pub stop: Stop,
    pub hard_stop: Stop,
}

impl Held {
    pub fn new(session: Session) -> Self {
        Self {
            stop: Arc::clone(&session.stop),
            hard_stop: Arc::clone(&session.hard_stop),
            session: Arc::new(tokio::sync::Mutex::new(session)),
        }
    }

    /// Stops the running prompt after its running tool (its model stream ends at once).
    pub fn stop(&self) {
        lock(&self.stop).cancel();
    }

    /// Stops the running prompt now: its running commands are killed too.
    pub fn cancel(&self) {
        lock(&self.stop).cancel();
        lock(&self.hard_stop).cancel();
    }
}

/// How a prompt ended.
pub struct Ended {
    pub outcome: Outcome,
    /// The final answer's value, under an output schema.
    pub output: Option<serde_json::Value>,
}

/// How a prompt of a session ended, for front ends that keep the session going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The model answered without a tool call (or the run was stopped for repeating itself).
    EndTurn,
    TurnLimit,
    Cancelled,
}

impl Ended {
    /// The ending, or the error that ended the prompt.
    pub fn ending(self) -> Result<Ending> {
        Ok(match self.outcome {
            Outcome::Completed | Outcome::RepeatedCall { .. } | Outcome::InvalidOutput { .. } => {
                Ending::EndTurn
            }
            Outcome::TurnLimit { .. } => Ending::TurnLimit,
            Outcome::Interrupted | Outcome::Quit => Ending::Cancelled,
            Outcome::Error { message } => bail!("{message}"),
        })
    }
}

pub struct Session {
    pub id: String,
    /// The directory the session's edits and commands change.
    pub workspace: PathBuf,
    settings: Settings,
    client: ModelClient,
    mcp: Arc<McpTools>,
    transcript: PathBuf,
    /// Out while a prompt runs (the loop owns it then).
    tools: Option<ToolRunner>,
    snapshot: Snapshot,
    conversation: Option<Conversation>,
    output_schema: Option<OutputSchema>,
    /// The tree made for [`Place::Isolate`].
    isolation: Option<Isolation>,
    max_turns: u32,
    /// Said at the start of the next prompt (what happened while the session opened).
    notices: Notices,
    hooks: Arc<Hooks>,
    start_hooks: StartHooks,
    /// What the SessionStart hooks printed, for the next message sent.
    start_context: String,
    /// The running prompt's stop (cancel ends the model stream and the loop).
    pub stop: Stop,
    /// The running prompt's hard stop (cancel kills running commands).
    pub hard_stop: Stop,
}

impl Session {
    /// A new session, or one continued from its transcript.
    pub async fn open(opening: Opening<'_>) -> Result<Self> {
        let notices = Notices::default();
        let (workspace, config) = setup::workspace_and_config(
            opening.place.dir().to_path_buf(),
            opening.place.settings_dir().to_path_buf(),
            opening.mcp_servers,
        )
        .await?;
        let (settings, client) = setup::model(
            opening.model,
            opening.sessions_dir.as_deref(),
            &config,
            &notices,
        )
        .await?;
        let recorded =
            setup::records(opening.begin, opening.records, &settings, workspace.root()).await?;
        let (workspace, isolation) = match &opening.place {
            Place::Isolate(_) => {
                let isolation = setup::isolate(&workspace, &recorded.transcript).await?;
                (
                    setup::workspace(isolation.dir.clone()).await?,
                    Some(isolation),
                )
            }
            Place::Workspace(_) | Place::Isolated { .. } => (workspace, None),
        };
        let workspace = workspace
            .with_scrubbed_env(secret_variables(&settings.api_key))
            .with_sandbox(sandbox(opening.sandbox, &config));
        let (confinement, why_not) = confinement(workspace.sandbox());
        if let Some(why_not) = why_not {
            lock(&notices).push((NoticeSubject::Sandbox, why_not));
        }
        let mcp = Arc::new(setup::mcp(&config, &workspace, &notices).await);
        let client = client.with_extra_tools(mcp.definitions());
        let stop = Arc::new(Mutex::new(CancellationToken::new()));
        let hard_stop = Arc::new(Mutex::new(CancellationToken::new()));
        let interaction = opening.front.interaction(&recorded.id, Arc::clone(&stop));
        let mode = approval_mode(opening.approval, &config);
        let mode = match opening.place {
            // Edits there apply freely: the whole change is reviewed when it comes back.
            Place::Isolate(_) => mode.inside_isolation(),
            Place::Workspace(_) | Place::Isolated { .. } => mode,
        };
        let approver = approver(mode, interaction, &config, confinement);
        let hooks = setup::hooks(
            &config,
            opening.place.settings_dir(),
            HookSession {
                session_id: recorded.id.clone(),
                transcript_path: recorded.transcript.clone(),
                cwd: workspace.root().to_path_buf(),
                hidden_env: secret_variables(&settings.api_key),
            },
            &notices,
        )
        .await?;
        let tools = ToolRunner::new(workspace.clone(), approver, CancellationToken::new())
            .with_mcp(Arc::clone(&mcp))
            .with_hooks(Arc::clone(&hooks));
        let tools = match opening.journal {
            Journal::Kept => {
                tools.with_journal(setup::journal(&recorded.transcript, &workspace).await?)
            }
            Journal::NotKept => tools,
        };
        let tools = match opening.front.editor(&recorded.id) {
            Some(editor) => tools.with_editor(editor),
            None => tools,
        };
        let snapshot = match config.snapshot {
            Some(false) => Snapshot::Off,
            Some(true) | None => opening.snapshot,
        };
        Ok(Self {
            id: recorded.id,
            workspace: workspace.root().to_path_buf(),
            max_turns: opening.max_turns.unwrap_or(settings.max_turns),
            settings,
            client,
            mcp,
            transcript: recorded.transcript,
            tools: Some(tools),
            snapshot,
            conversation: recorded.conversation,
            output_schema: opening.output_schema,
            isolation,
            notices,
            hooks,
            start_hooks: StartHooks::Pending,
            start_context: String::new(),
            stop,
            hard_stop,
        })
    }

    /// The isolated tree made for the session, to take its change back (once).
    pub fn take_isolation(&mut self) -> Option<Isolation> {
        self.isolation.take()
    }

    pub fn mode(&self) -> ApprovalMode {
        self.tools
            .as_ref()
            .map_or(ApprovalMode::Ask, ToolRunner::approval_mode)
    }

    pub fn set_mode(&mut self, mode: ApprovalMode) {
        if let Some(tools) = &mut self.tools {
            tools.set_approval_mode(mode);
        }
    }

    /// Edits and commands not approved so far.
    pub fn denied_actions(&self) -> u32 {
        self.tools.as_ref().map_or(0, ToolRunner::denied_actions)
    }

    /// The workspace the session's tools work in (confined and sandboxed as they are); None
    /// while a prompt runs.
    pub fn workspace_handle(&self) -> Option<&agent_tools::Workspace> {
        self.tools.as_ref().map(ToolRunner::workspace)
    }

    /// Where sessions are recorded (`agent sessions`, `undo`, `diff` look there).
    pub fn sessions_dir(&self) -> &Path {
        &self.settings.sessions_dir
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// The model's context window, in tokens.
    pub fn context_window(&self) -> u64 {
        self.settings.context_window
    }

    /// Talks to `model` from the next prompt on (same server and settings).
    pub fn set_model(&mut self, model: &str) {
        self.client = self.client.for_model(model);
        self.settings.model = model.to_string();
    }

    /// The conversation's last `count` messages of the user (as they wrote them) and the
    /// model's answers, oldest first (tool calls and results left out), to show a resumed
    /// session.
    pub fn recent_messages(&self, count: usize) -> Vec<Message> {
        let Some(conversation) = &self.conversation else {
            return Vec::new();
        };
        let mut shown: Vec<Message> = conversation
            .history
            .iter()
            .rev()
            .filter(|message| match message {
                Message::User { .. } => true,
                Message::Assistant { content, .. } => !content.trim().is_empty(),
                Message::System { .. } | Message::Tool { .. } => false,
            })
            .take(count)
            .map(|message| match message {
                Message::User { content } => Message::User {
                    content: without_context(content).to_string(),
                },
                other => other.clone(),
            })
            .collect();
        shown.reverse();
        shown
    }

    /// Compacts the conversation now (`/compact`), its events going to `front_end` too.
    pub async fn compact(&mut self, front_end: Box<dyn EventSink>) -> Result<()> {
        let Some(conversation) = self.conversation.take() else {
            bail!("nothing to compact yet: the session has no conversation");
        };
        let (tools, conversation, transcript) = self.take_for_run(conversation).await?;
        let stop = CancellationToken::new();
        *lock(&self.stop) = stop.clone();
        let mut agent = Agent {
            client: &self.client,
            tools,
            events: Events::new(vec![Box::new(transcript), front_end]),
            max_turns: self.max_turns,
            stop,
            output_schema: None,
        };
        let compacted = agent.compact_now(conversation).await;
        self.tools = Some(agent.tools);
        self.conversation = Some(compacted);
        Ok(())
    }

    /// Where the session's events are written, one a line.
    pub fn transcript_path(&self) -> &Path {
        &self.transcript
    }

    /// What keeps the API key out of anything written or sent of this session.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(&self.settings.api_key)
    }

    /// The transcript, for `session/load` to show.
    pub async fn transcript_text(&self) -> String {
        let path = self.transcript.clone();
        blocking(move || Ok(std::fs::read_to_string(path)?))
            .await
            .unwrap_or_default()
    }

    /// Runs one prompt to its end, streaming its events to `front_end` too.
    pub async fn prompt(
        &mut self,
        text: String,
        mut front_end: Box<dyn EventSink>,
    ) -> Result<Ended> {
        if text.trim().is_empty() {
            bail!("the prompt has no text");
        }
        let resumed = self.conversation.is_some();
        let added = self.prompt_hooks(&text, front_end.as_mut()).await?;
        let (conversation, context) = match self.conversation.take() {
            Some(mut conversation) => {
                // Calls a stop left waiting are moot once the person says something new.
                conversation.close_open_calls();
                conversation.history.push(Message::User {
                    content: user_message(&added.context, &text),
                });
                (conversation, added.context)
            }
            None => {
                let (system_prompt, workspace) = self.opening_messages(&text).await?;
                let context = match added.context.as_str() {
                    "" => workspace,
                    hooks => format!("{}\n\n{hooks}", workspace.trim_end()),
                };
                (Conversation::new(system_prompt, &context, &text), context)
            }
        };
        let started = Event::SessionStarted {
            session_id: self.id.clone(),
            model: self.settings.model.clone(),
            base_url: self.settings.base_url.clone(),
            provider_kind: self.settings.kind.name().into(),
            workspace: self.workspace.display().to_string(),
            task: text,
            system_prompt: conversation.system_prompt().unwrap_or_default().to_string(),
            context,
            resumed,
        };
        self.run(conversation, Some(started), added.events, front_end)
            .await
    }

    /// A new session's system prompt, and its workspace context with the snapshot taken for its
    /// first task.
    async fn opening_messages(&self, task: &str) -> Result<(String, String)> {
        let (root, task) = (self.workspace.clone(), task.to_string());
        let system_prompt = prompt::system_prompt(&self.client);
        let snapshot = self.snapshot;
        let context = blocking(move || {
            let snapshot_for = match snapshot {
                Snapshot::ForTask => Some(task.as_str()),
                Snapshot::Off => None,
            };
            Ok(prompt::workspace_context(
                &root,
                &jiff::Zoned::now(),
                snapshot_for,
            ))
        })
        .await?;
        Ok((system_prompt, context))
    }

    /// Whether the last turn left calls waiting (the session stopped while one waited for
    /// approval): [`Session::continue_open_calls`] runs them.
    pub fn has_open_calls(&self) -> bool {
        self.conversation
            .as_ref()
            .is_some_and(|conversation| !conversation.open_calls().is_empty())
    }

    /// Runs the calls the last turn left waiting, then goes on with the model as the turn would
    /// have.
    pub async fn continue_open_calls(&mut self, front_end: Box<dyn EventSink>) -> Result<Ended> {
        let Some(conversation) = self.conversation.take() else {
            bail!("the session has no conversation to continue");
        };
        self.run(conversation, None, Vec::new(), front_end).await
    }

    /// Runs the loop on `conversation`, recording its events after `started` (when given), the
    /// notices and the prompt's `hook_events`.
    async fn run(
        &mut self,
        conversation: Conversation,
        started: Option<Event>,
        hook_events: Vec<Event>,
        front_end: Box<dyn EventSink>,
    ) -> Result<Ended> {
        let (mut tools, conversation, transcript) = self.take_for_run(conversation).await?;
        let stop = CancellationToken::new();
        let hard_stop = CancellationToken::new();
        *lock(&self.stop) = stop.clone();
        *lock(&self.hard_stop) = hard_stop.clone();
        tools.set_hard_stop(hard_stop);
        let mut events = Events::new(vec![Box::new(transcript), front_end]);
        if let Some(started) = started {
            events.emit(started);
        }
        for (about, message) in std::mem::take(&mut *lock(&self.notices)) {
            events.emit(Event::Notice { about, message });
        }
        for event in hook_events {
            events.emit(event);
        }
        let mut agent = Agent {
            client: &self.client,
            tools,
            events,
            max_turns: self.max_turns,
            stop,
            output_schema: self.output_schema.clone(),
        };
        let ended = agent.run(conversation).await;
        self.tools = Some(agent.tools);
        self.conversation = Some(ended.conversation);
        Ok(Ended {
            outcome: ended.outcome,
            output: ended.output,
        })
    }

    /// The tools and the transcript for running the loop on `conversation` (a prompt, a
    /// compaction); when either cannot be had, the session is left as it was.
    async fn take_for_run(
        &mut self,
        conversation: Conversation,
    ) -> Result<(ToolRunner, Conversation, Transcript)> {
        let Some(tools) = self.tools.take() else {
            self.conversation = Some(conversation);
            bail!("a prompt is already running in this session");
        };
        let (path, key) = (self.transcript.clone(), self.settings.api_key.clone());
        match blocking(move || Transcript::open(&path, &key)).await {
            Ok(transcript) => Ok((tools, conversation, transcript)),
            Err(error) => {
                self.tools = Some(tools);
                self.conversation = Some(conversation);
                Err(error)
            }
        }
    }

    /// Ends the session's MCP servers (the tools hold the other handle on them).
    pub async fn close(&mut self) {
        self.tools = None;
        McpTools::shutdown_shared(std::mem::take(&mut self.mcp)).await;
    }
}
