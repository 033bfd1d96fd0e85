/*!
A long-lived session driven by a front end other than the terminal (an editor over ACP today): a
workspace confined as for `agent run`, the layered settings, the model client, the tools with
their approver (questions go to the front end), and the conversation, which every prompt extends.
Sessions share transcripts and edit journals with `agent run`, so a session started in an editor
can be continued with `agent run --resume ID`, and the other way round.
*/

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agent_tools::Workspace;
use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Conversation, Editor, ToolRunner, replay_keeping_open_calls};
use crate::config::{FileConfig, McpServerConfig, ModelChoice, Settings, secret_variables};
use crate::mcp::McpTools;
use crate::model::wire::Message;
use crate::model::{ModelClient, settle_for_server};
use crate::policy::{confinement, sandbox};
use crate::protocol::event::{Event, EventSink, Events, Outcome};
use crate::protocol::modes::ApprovalMode;
use crate::protocol::modes::SandboxChoice;
use crate::review::{Approver, Asker, CommandRules, Interaction};
use crate::run::{Orientation, report_problem, system_prompt};
use crate::session::{EditJournal, Redactor, Transcript, find_transcript, new_session_id};
use crate::sync::lock;

pub struct Session {
    pub id: String,
    pub workspace: PathBuf,
    settings: Settings,
    client: ModelClient,
    mcp: Arc<McpTools>,
    transcript: PathBuf,
    /// Out while a prompt runs (the loop owns it then).
    tools: Option<ToolRunner>,
    system_prompt: String,
    conversation: Option<Conversation>,
    /// The running prompt's stop (cancel ends the model stream and the loop).
    pub stop: Stop,
    /// The running prompt's hard stop (cancel kills running commands).
    pub hard_stop: Stop,
}

/// The running prompt's stop: cancelling it ends the model stream and the loop (or, as the hard
/// stop, kills running commands). Replaced for every prompt.
pub type Stop = Arc<Mutex<CancellationToken>>;

/// What a session needs of its front end: where approval questions go, and the editor that
/// holds the files, if one does.
pub trait Front: Send + Sync {
    fn asker(&self, session_id: &str, stop: Stop) -> Arc<dyn Asker>;
    fn editor(&self, session_id: &str) -> Option<Editor>;
}

/// What opens a session: its front end, where, with which model and extra MCP servers.
pub struct Opening<'a> {
    pub front: &'a dyn Front,
    pub cwd: &'a Path,
    pub model: &'a ModelChoice,
    pub mcp_servers: Vec<(String, McpServerConfig)>,
}

/// Which session to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin<'a> {
    New,
    /// A new session under an id given before (the daemon took its task, then restarted before
    /// the task ran).
    NewWithId(&'a str),
    /// The session with this id, continued from its transcript.
    Resume(&'a str),
}

/// How a prompt of a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The model answered without a tool call (or the run was stopped for repeating itself).
    EndTurn,
    TurnLimit,
    Cancelled,
}

impl Session {
    /// A new session, or one continued from its transcript.
    pub async fn open(opening: Opening<'_>, begin: Begin<'_>) -> Result<Self> {
        if !opening.cwd.is_absolute() {
            bail!(
                "cwd must be an absolute path, not `{}`",
                opening.cwd.display()
            );
        }
        let workspace = Workspace::new(opening.cwd)
            .with_context(|| format!("workspace {}", opening.cwd.display()))?;
        let mut config = FileConfig::load(workspace.root())?;
        config.mcp_servers.extend(opening.mcp_servers);
        let mut settings = Settings::resolve(opening.model, None, &config)?;
        settle_for_server(&mut settings).await;
        let (id, transcript, conversation) = match begin {
            Begin::Resume(id) => {
                let path = find_transcript(&settings.sessions_dir, workspace.root(), Some(id))?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let text = Redactor::new(&settings.api_key).restore(&text);
                let conversation = replay_keeping_open_calls(&text)?;
                (id.to_string(), path, Some(conversation))
            }
            Begin::New | Begin::NewWithId(_) => {
                let now = jiff::Zoned::now();
                let id = match begin {
                    Begin::NewWithId(id) => id.to_string(),
                    Begin::New | Begin::Resume(_) => new_session_id(&now),
                };
                let dir = settings
                    .sessions_dir
                    .join(now.strftime("%Y-%m-%d").to_string());
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                (id.clone(), dir.join(format!("{id}.jsonl")), None)
            }
        };
        let workspace = workspace
            .with_scrubbed_env(secret_variables(&settings.api_key))
            .with_sandbox(sandbox(SandboxChoice::default(), &config));
        let mcp = Arc::new(McpTools::start(&config.mcp_servers, &workspace, report_problem).await);
        let client = ModelClient::new(&settings)?.with_extra_tools(mcp.definitions());
        let stop = Arc::new(Mutex::new(CancellationToken::new()));
        let hard_stop = Arc::new(Mutex::new(CancellationToken::new()));
        let editor = opening.front.editor(&id);
        let asker = opening.front.asker(&id, Arc::clone(&stop));
        let approver = Approver::new(
            config.approval.unwrap_or(ApprovalMode::Ask),
            Interaction::Remote(asker),
            CommandRules::from_strings(&config.allow_commands, &config.deny_commands),
        )
        .with_allowed_tools(config.allow_tools.clone())
        .with_confinement(confinement(workspace.sandbox()));
        let journal = EditJournal::create(&transcript.with_extension("edits.jsonl"), &workspace)?;
        let root = workspace.root().to_path_buf();
        let system_prompt = match &conversation {
            Some(conversation) => conversation.system_prompt().unwrap_or_default().to_string(),
            // The task comes with the first prompt, after the session is open; `snapshot =
            // false` in the settings still turns the snapshot off.
            None => system_prompt(
                &root,
                &jiff::Zoned::now(),
                Orientation::chosen("", false, &config),
                &client,
            ),
        };
        let tools = ToolRunner::new(workspace, approver, CancellationToken::new())
            .with_journal(journal)
            .with_mcp(Arc::clone(&mcp));
        let tools = Some(match editor {
            Some(editor) => tools.with_editor(editor),
            None => tools,
        });
        Ok(Self {
            id,
            workspace: root,
            settings,
            client,
            mcp,
            transcript,
            tools,
            system_prompt,
            conversation,
            stop,
            hard_stop,
        })
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

    /// Where the session's events are written, one a line.
    pub fn transcript_path(&self) -> &Path {
        &self.transcript
    }

    /// What keeps the API key out of anything written or sent of this session.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(&self.settings.api_key)
    }

    /// The transcript, for `session/load` to show.
    pub fn transcript_text(&self) -> String {
        std::fs::read_to_string(&self.transcript).unwrap_or_default()
    }

    /// Runs one prompt to its end, streaming its events to `front_end` too.
    pub async fn prompt(&mut self, text: String, front_end: Box<dyn EventSink>) -> Result<Ending> {
        if text.trim().is_empty() {
            bail!("the prompt has no text");
        }
        let resumed = self.conversation.is_some();
        let conversation = match self.conversation.take() {
            Some(mut conversation) => {
                // Calls a stop left waiting are moot once the person says something new.
                conversation.close_open_calls();
                conversation.history.push(Message::User {
                    content: text.clone(),
                });
                conversation
            }
            None => Conversation::new(self.system_prompt.clone(), text.clone()),
        };
        let started = Event::SessionStarted {
            session_id: self.id.clone(),
            model: self.settings.model.clone(),
            base_url: self.settings.base_url.clone(),
            provider_kind: self.settings.kind.name().into(),
            workspace: self.workspace.display().to_string(),
            task: text,
            system_prompt: self.system_prompt.clone(),
            resumed,
        };
        self.run(conversation, Some(started), front_end).await
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
    pub async fn continue_open_calls(&mut self, front_end: Box<dyn EventSink>) -> Result<Ending> {
        let Some(conversation) = self.conversation.take() else {
            bail!("the session has no conversation to continue");
        };
        self.run(conversation, None, front_end).await
    }

    /// Runs the loop on `conversation`, recording its events after `started` (when given).
    async fn run(
        &mut self,
        conversation: Conversation,
        started: Option<Event>,
        front_end: Box<dyn EventSink>,
    ) -> Result<Ending> {
        let Some(mut tools) = self.tools.take() else {
            self.conversation = Some(conversation);
            bail!("a prompt is already running in this session");
        };
        let stop = CancellationToken::new();
        let hard_stop = CancellationToken::new();
        *lock(&self.stop) = stop.clone();
        *lock(&self.hard_stop) = hard_stop.clone();
        tools.set_hard_stop(hard_stop);
        let transcript = match Transcript::open(&self.transcript, &self.settings.api_key) {
            Ok(transcript) => transcript,
            Err(error) => {
                self.tools = Some(tools);
                self.conversation = Some(conversation);
                return Err(error);
            }
        };
        let mut events = Events::new(vec![Box::new(transcript), front_end]);
        if let Some(started) = started {
            events.emit(started);
        }
        let mut agent = Agent {
            client: &self.client,
            tools,
            events,
            max_turns: self.settings.max_turns,
            stop,
            output_schema: None,
        };
        let ended = agent.run(conversation).await;
        self.tools = Some(agent.tools);
        self.conversation = Some(ended.conversation);
        Ok(match ended.outcome {
            Outcome::Completed | Outcome::RepeatedCall { .. } | Outcome::InvalidOutput { .. } => {
                Ending::EndTurn
            }
            Outcome::TurnLimit { .. } => Ending::TurnLimit,
            Outcome::Interrupted | Outcome::Quit => Ending::Cancelled,
            Outcome::Error { message } => bail!("{message}"),
        })
    }

    /// Ends the session's MCP servers (the tools hold the other handle on them).
    pub async fn close(&mut self) {
        self.tools = None;
        McpTools::shutdown_shared(std::mem::take(&mut self.mcp)).await;
    }
}
