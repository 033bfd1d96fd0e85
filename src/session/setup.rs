/*!
Opening a session, the parts that touch the disk or start processes: the workspace, the layered
settings, the transcript (new, or read back to resume), the edit journal, the sandbox, the MCP
servers and the model client. File work runs on the blocking pool, so a slow disk or a slow
`git` never holds up the runtime other sessions stream on.
*/

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agent_tools::Workspace;
use anyhow::{Context, Result};

use super::{Begin, ModelSource, Records};
use crate::agent::{Conversation, replay_keeping_open_calls};
use crate::config::{FileConfig, McpServerConfig, Settings};
use crate::hooks::{HookSession, Hooks};
use crate::isolate::Isolation;
use crate::mcp::McpTools;
use crate::model::{ModelClient, settle_for_server};
use crate::protocol::event::NoticeSubject;
use crate::protocol::modes::ProviderKind;
use crate::records::{EditJournal, Redactor, find_transcript, journal_path, new_session_id};

/// Things to tell the user that happened while the session opened, shown as its first events.
pub type Notices = Arc<Mutex<Vec<(NoticeSubject, String)>>>;

/// Runs file work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a blocking task stopped before it finished")?
}

/// The workspace (`dir`), and the config of the real workspace `real` (an isolated session works
/// in a tree whose untracked `.agent/config.toml` may be missing), with a front end's extra MCP
/// servers.
pub async fn workspace_and_config(
    dir: PathBuf,
    real: PathBuf,
    extra_servers: Vec<(String, McpServerConfig)>,
) -> Result<(Workspace, FileConfig)> {
    blocking(move || {
        let workspace =
            Workspace::new(&dir).with_context(|| format!("workspace {}", dir.display()))?;
        let mut config = FileConfig::load(&real)?;
        config.mcp_servers.extend(extra_servers);
        Ok((workspace, config))
    })
    .await
}

/// The workspace at `dir`.
pub async fn workspace(dir: PathBuf) -> Result<Workspace> {
    blocking(move || Workspace::new(&dir).with_context(|| format!("workspace {}", dir.display())))
        .await
}

/// A worktree (or copy) of the workspace's current state, beside the session's transcript.
pub async fn isolate(real: &Workspace, transcript: &Path) -> Result<Isolation> {
    let (real, into) = (
        real.root().to_path_buf(),
        transcript.with_extension("worktree"),
    );
    blocking(move || Isolation::of_current_state(&real, &into)).await
}

/// The settings and the model client: resolved from the config and the front end's choice, the
/// server asked what it can do; or given whole (a batch asks its server once).
pub async fn model(
    source: ModelSource,
    sessions_dir: Option<&Path>,
    config: &FileConfig,
    notices: &Notices,
) -> Result<(Settings, ModelClient)> {
    match source {
        ModelSource::Choice(choice) => {
            let mut settings = Settings::resolve(&choice, sessions_dir, config)?;
            settle_for_server(&mut settings).await;
            if settings.kind == ProviderKind::Openai {
                crate::sync::lock(notices)
                    .push((NoticeSubject::ContextWindow, settings.describe_window()));
            }
            let client = ModelClient::new(&settings)?;
            Ok((settings, client))
        }
        ModelSource::Resolved(resolved) => Ok((resolved.settings, resolved.client)),
    }
}

/// Where the session is recorded, under which id, and the conversation so far when it resumes.
pub struct Recorded {
    pub id: String,
    pub transcript: PathBuf,
    pub conversation: Option<Conversation>,
}

/// Finds or makes the session's transcript (its directory created; the file itself is opened
/// for each prompt).
pub async fn records(
    begin: Begin,
    records: Records,
    settings: &Settings,
    workspace: &Path,
) -> Result<Recorded> {
    let sessions_dir = settings.sessions_dir.clone();
    let api_key = settings.api_key.clone();
    let workspace = workspace.to_path_buf();
    blocking(move || {
        let now = jiff::Zoned::now();
        let new = |id: String| -> Result<Recorded> {
            let transcript = match records {
                Records::At(path) => path,
                Records::InSessionsDir => {
                    let dir = sessions_dir.join(now.strftime("%Y-%m-%d").to_string());
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    dir.join(format!("{id}.jsonl"))
                }
            };
            Ok(Recorded {
                id,
                transcript,
                conversation: None,
            })
        };
        match begin {
            Begin::New => new(new_session_id(&now)),
            Begin::NewWithId(id) => new(id),
            Begin::Resume(id) => resumed(&sessions_dir, &workspace, Some(&id), &api_key),
            Begin::ContinueLatest => resumed(&sessions_dir, &workspace, None, &api_key),
        }
    })
    .await
}

/// The session `id` of this workspace (its latest when None), read back from its transcript.
fn resumed(
    sessions_dir: &Path,
    workspace: &Path,
    id: Option<&str>,
    api_key: &str,
) -> Result<Recorded> {
    let path = find_transcript(sessions_dir, workspace, id)?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text = Redactor::new(api_key).restore(&text);
    let conversation = replay_keeping_open_calls(&text)
        .with_context(|| format!("cannot resume from {}", path.display()))?;
    Ok(Recorded {
        id: crate::records::session_id(&path),
        transcript: path,
        conversation: Some(conversation),
    })
}

/// The edit journal beside the transcript, behind `agent undo` and `agent diff`.
pub async fn journal(transcript: &Path, workspace: &Workspace) -> Result<EditJournal> {
    let path = journal_path(transcript);
    let workspace = workspace.clone();
    blocking(move || EditJournal::create(&path, &workspace)).await
}

/// The session's hooks: the user's, and the project's where the user trusts `real` (the real
/// workspace, whose config they come from); the ones left out are said so.
pub async fn hooks(
    config: &FileConfig,
    real: &Path,
    session: HookSession,
    notices: &Notices,
) -> Result<Arc<Hooks>> {
    let (config, real) = (config.clone(), real.to_path_buf());
    let (hooks, problems) =
        blocking(move || Ok(Hooks::from_config(&config, &real, session))).await?;
    for problem in problems {
        crate::sync::lock(notices).push((NoticeSubject::Hooks, problem));
    }
    Ok(Arc::new(hooks))
}

/// The configured MCP servers, started in the workspace; the ones that cannot start are left
/// out and said so.
pub async fn mcp(config: &FileConfig, workspace: &Workspace, notices: &Notices) -> McpTools {
    McpTools::start(&config.mcp_servers, workspace, |problem| {
        crate::sync::lock(notices).push((NoticeSubject::McpServer, problem));
    })
    .await
}
