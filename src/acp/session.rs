/*!
One ACP session: a workspace confined as for `agent run`, the layered settings, the model client,
the tools with their approver (questions go to the editor), and the conversation, which every
prompt extends. Sessions share transcripts and edit journals with `agent run`, so a session
started in the editor can be continued with `agent run --resume ID`, and the other way round.
*/

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agent_client_protocol::v1::schema::{
    ContentBlock, EmbeddedResourceResource, McpServer, StopReason,
};
use agent_tools::{Buffers, Workspace};
use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use super::files::AcpFiles;
use super::updates::{PermissionAsker, Updates};
use crate::agent::event::{Event, Events, Outcome};
use crate::agent::{Agent, Conversation, Editor, ToolRunner, replay};
use crate::cli::{ApprovalMode, ModelArgs, ProviderKind, SandboxArgs};
use crate::config::{FileConfig, McpServerConfig, Settings, secret_variables};
use crate::mcp::McpTools;
use crate::model::wire::Message;
use crate::model::{ModelClient, settle_for_server};
use crate::policy::{confinement, sandbox};
use crate::review::{Approver, CommandRules, Interaction};
use crate::run::{Orientation, report_problem, system_prompt, tool_definitions};
use crate::session::{EditJournal, Redactor, Transcript, find_transcript, new_session_id};

/// The approval modes an editor can switch between (ACP session modes).
pub const MODES: [(ApprovalMode, &str, &str); 4] = [
    (ApprovalMode::Ask, "ask", "Ask before edits and commands"),
    (
        ApprovalMode::Edits,
        "edits",
        "Apply edits, ask before commands",
    ),
    (
        ApprovalMode::All,
        "all",
        "Apply edits and run commands without asking",
    ),
    (
        ApprovalMode::None,
        "none",
        "Dry run: show edits, apply and run nothing",
    ),
];

pub fn mode_id(mode: ApprovalMode) -> &'static str {
    MODES
        .iter()
        .find(|(known, _, _)| *known == mode)
        .map_or("ask", |(_, id, _)| id)
}

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
    pub stop: Arc<Mutex<CancellationToken>>,
    /// The running prompt's hard stop (cancel kills running commands).
    pub hard_stop: Arc<Mutex<CancellationToken>>,
}

/// Where a session's tools read and write files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    OnDisk,
    /// Through the editor's buffers (`fs/read_text_file`, `fs/write_text_file`).
    ThroughEditor,
}

/// What opens a session: the editor's connection, where, and which MCP servers it adds.
pub struct Opening<'a> {
    pub files: Files,
    pub connection: agent_client_protocol::v1::ConnectionTo<agent_client_protocol::Client>,
    pub cwd: &'a Path,
    pub mcp_servers: &'a [McpServer],
    pub model: &'a ModelArgs,
}

impl Session {
    /// A new session, or (with `resumed`) one continued from its transcript.
    pub async fn open(opening: Opening<'_>, resumed: Option<&str>) -> Result<Self> {
        if !opening.cwd.is_absolute() {
            bail!(
                "cwd must be an absolute path, not `{}`",
                opening.cwd.display()
            );
        }
        let workspace = Workspace::new(opening.cwd)
            .with_context(|| format!("workspace {}", opening.cwd.display()))?;
        let mut config = FileConfig::load(workspace.root())?;
        config
            .mcp_servers
            .extend(editor_servers(opening.mcp_servers));
        let mut settings = Settings::resolve(opening.model, None, &config)?;
        settle_for_server(&mut settings).await;
        let (id, transcript, conversation) = match resumed {
            Some(id) => {
                let path = find_transcript(&settings.sessions_dir, workspace.root(), Some(id))?;
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let text = Redactor::new(&settings.api_key).restore(&text);
                let conversation = replay(&text)?;
                (id.to_string(), path, Some(conversation))
            }
            None => {
                let now = jiff::Zoned::now();
                let id = new_session_id(&now);
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
            .with_sandbox(sandbox(&SandboxArgs::default(), &config));
        let mcp = Arc::new(McpTools::start(&config.mcp_servers, &workspace, report_problem).await);
        let client =
            ModelClient::new(&settings, tool_definitions())?.with_extra_tools(mcp.definitions());
        let stop = Arc::new(Mutex::new(CancellationToken::new()));
        let hard_stop = Arc::new(Mutex::new(CancellationToken::new()));
        let editor = match opening.files {
            Files::ThroughEditor => Some(Editor {
                files: Arc::new(AcpFiles {
                    connection: opening.connection.clone(),
                    session_id: id.clone(),
                }),
                buffers: Buffers::default(),
            }),
            Files::OnDisk => None,
        };
        let asker = PermissionAsker {
            connection: opening.connection,
            session_id: id.clone(),
            stop: Arc::clone(&stop),
        };
        let approver = Approver::new(
            config.approval.unwrap_or(ApprovalMode::Ask),
            Interaction::Remote(Arc::new(asker)),
            CommandRules::from_strings(&config.allow_commands, &config.deny_commands),
        )
        .with_allowed_tools(config.allow_tools.clone())
        .with_confinement(confinement(workspace.sandbox()));
        let journal = EditJournal::create(&transcript.with_extension("edits.jsonl"), &workspace)?;
        let root = workspace.root().to_path_buf();
        let system_prompt = match &conversation {
            Some(conversation) => conversation.system_prompt().unwrap_or_default().to_string(),
            None => system_prompt(&root, &jiff::Zoned::now(), Orientation::SnapshotFor("")),
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

    /// The transcript, for `session/load` to show.
    pub fn transcript_text(&self) -> String {
        std::fs::read_to_string(&self.transcript).unwrap_or_default()
    }

    /// Runs one prompt to its end, streaming to `updates`.
    pub async fn prompt(
        &mut self,
        blocks: &[ContentBlock],
        updates: Updates,
    ) -> Result<StopReason> {
        let text = user_message(blocks);
        if text.trim().is_empty() {
            bail!("the prompt has no text");
        }
        let stop = CancellationToken::new();
        let hard_stop = CancellationToken::new();
        *lock(&self.stop) = stop.clone();
        *lock(&self.hard_stop) = hard_stop.clone();
        let Some(mut tools) = self.tools.take() else {
            bail!("a prompt is already running in this session");
        };
        tools.set_hard_stop(hard_stop);
        let resumed = self.conversation.is_some();
        let conversation = match self.conversation.take() {
            Some(mut conversation) => {
                conversation.history.push(Message::User {
                    content: text.clone(),
                });
                conversation
            }
            None => Conversation::new(self.system_prompt.clone(), text.clone()),
        };
        let transcript = Transcript::open(&self.transcript, &self.settings.api_key)?;
        let mut events = Events::new(vec![Box::new(transcript), Box::new(updates)]);
        events.emit(Event::SessionStarted {
            session_id: self.id.clone(),
            model: self.settings.model.clone(),
            base_url: self.settings.base_url.clone(),
            provider_kind: match self.settings.kind {
                ProviderKind::Glm => "glm".into(),
                ProviderKind::Openai => "openai".into(),
            },
            workspace: self.workspace.display().to_string(),
            task: text,
            system_prompt: self.system_prompt.clone(),
            resumed,
        });
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
                StopReason::EndTurn
            }
            Outcome::TurnLimit { .. } => StopReason::MaxTurnRequests,
            Outcome::Interrupted | Outcome::Quit => StopReason::Cancelled,
            Outcome::Error { message } => bail!("{message}"),
        })
    }

    /// Ends the session's MCP servers (the tools hold the other handle on them).
    pub async fn close(&mut self) {
        self.tools = None;
        McpTools::shutdown_shared(std::mem::take(&mut self.mcp)).await;
    }
}

/// The MCP servers the editor passes (stdio ones; others are not supported and left out).
fn editor_servers(servers: &[McpServer]) -> Vec<(String, McpServerConfig)> {
    servers
        .iter()
        .filter_map(|server| match server {
            McpServer::Stdio(stdio) => Some((
                stdio.name.clone(),
                McpServerConfig {
                    command: stdio.command.display().to_string(),
                    args: stdio.args.clone(),
                    env: stdio
                        .env
                        .iter()
                        .map(|variable| (variable.name.clone(), variable.value.clone()))
                        .collect(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// The user message of a prompt: its text, and each file the editor attached, fenced.
fn user_message(blocks: &[ContentBlock]) -> String {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text(text) => parts.push(text.text.clone()),
            ContentBlock::Resource(resource) => {
                if let EmbeddedResourceResource::TextResourceContents(file) = &resource.resource {
                    parts.push(format!(
                        "<attached file=\"{}\">\n{}\n</attached>",
                        file.uri.trim_start_matches("file://"),
                        file.text.trim_end()
                    ));
                }
            }
            ContentBlock::ResourceLink(link) => {
                parts.push(format!("(see {})", link.uri.trim_start_matches("file://")))
            }
            _ => {}
        }
    }
    parts.join("\n\n")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
