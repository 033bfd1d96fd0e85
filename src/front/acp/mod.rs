/*!
`agent acp`: the agent for editors, over the Agent Client Protocol (ACP v1, newline-delimited
JSON-RPC on stdin/stdout; diagnostics go to stderr). Zed, JetBrains IDEs, Neovim and `acpx` start
it as a subprocess. Each ACP session is a [`session::Session`]; prompts run in their own task so
the connection keeps serving (a `session/cancel` must get through while a prompt streams).
*/

mod files;
mod front;
mod updates;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, CancelNotification, CloseSessionRequest, CloseSessionResponse,
    Implementation, InitializeRequest, InitializeResponse, ListSessionsRequest,
    ListSessionsResponse, LoadSessionRequest, LoadSessionResponse, McpCapabilities,
    NewSessionRequest, NewSessionResponse, PromptCapabilities, PromptRequest, PromptResponse,
    ResumeSessionRequest, ResumeSessionResponse, SessionCapabilities, SessionCloseCapabilities,
    SessionInfo, SessionListCapabilities, SessionMode, SessionModeState, SessionNotification,
    SessionResumeCapabilities, SetSessionModeRequest, SetSessionModeResponse,
};
use agent_client_protocol::v1::schema::{McpServer, StopReason};
use agent_client_protocol::{Agent, Client, Stdio};
use anyhow::Result;

use crate::cli::AcpArgs;
use crate::config::FileConfig;
use crate::config::ModelChoice;
use crate::session::{Begin, Ended, Ending, Held, ModelSource, Opening, Place, Session};
use crate::sync::lock;
use front::{AcpFront, Files, MODES, editor_servers, mode_id, user_message};
use updates::Updates;

/// Every open session, by id, and what the client said it can do.
#[derive(Default)]
struct Sessions {
    open: Mutex<HashMap<String, Held>>,
    /// The client offers `fs/read_text_file` and `fs/write_text_file`.
    editor_files: std::sync::atomic::AtomicBool,
}

impl Sessions {
    fn get(&self, id: &str) -> Result<Held, agent_client_protocol::Error> {
        lock(&self.open)
            .get(id)
            .cloned()
            .ok_or_else(|| invalid(format!("unknown session `{id}`")))
    }

    fn files(&self) -> Files {
        match self.editor_files.load(std::sync::atomic::Ordering::Relaxed) {
            true => Files::ThroughEditor,
            false => Files::OnDisk,
        }
    }

    /// Opens a session (or, with `resumed`, continues one) with the editor as its front end.
    async fn open(
        &self,
        connection: ConnectionTo<Client>,
        model: &ModelChoice,
        cwd: &Path,
        servers: &[McpServer],
        resumed: Option<&str>,
    ) -> Result<Session, agent_client_protocol::Error> {
        let front = AcpFront {
            connection,
            files: self.files(),
        };
        if !cwd.is_absolute() {
            return Err(invalid(format!(
                "cwd must be an absolute path, not `{}`",
                cwd.display()
            )));
        }
        let place = Place::Workspace(cwd.to_path_buf());
        let mut opening = Opening::new(&front, place, ModelSource::Choice(model.clone()));
        opening.mcp_servers = editor_servers(servers);
        opening.begin = match resumed {
            Some(id) => Begin::Resume(id.to_string()),
            None => Begin::New,
        };
        Session::open(opening)
            .await
            .map_err(|error| invalid(format!("{error:#}")))
    }

    fn add(&self, session: Session) {
        let id = session.id.clone();
        lock(&self.open).insert(id, Held::new(session));
    }
}

pub async fn acp(args: AcpArgs) -> Result<ExitCode> {
    let sessions = Arc::new(Sessions::default());
    let model = Arc::new(args.model.choice());
    let (for_resume, for_close) = (Arc::clone(&sessions), Arc::clone(&sessions));
    let model_resume = Arc::clone(&model);
    let (for_init, for_new, for_load, for_prompt, for_mode, for_cancel) = (
        Arc::clone(&sessions),
        Arc::clone(&sessions),
        Arc::clone(&sessions),
        Arc::clone(&sessions),
        Arc::clone(&sessions),
        Arc::clone(&sessions),
    );
    let (model_new, model_load) = (Arc::clone(&model), Arc::clone(&model));
    let served = Agent
        .v1()
        .name("agent")
        .on_receive_request(
            async move |request: InitializeRequest, responder, _connection| {
                let fs = &request.client_capabilities.fs;
                let editor_files = fs.read_text_file && fs.write_text_file;
                for_init
                    .editor_files
                    .store(editor_files, std::sync::atomic::Ordering::Relaxed);
                responder.respond(initialized(&request))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest, responder, connection| {
                let opened = for_new
                    .open(
                        connection,
                        &model_new,
                        &request.cwd,
                        &request.mcp_servers,
                        None,
                    )
                    .await;
                match opened {
                    Ok(session) => {
                        let response =
                            NewSessionResponse::new(session.id.clone()).modes(modes(&session));
                        for_new.add(session);
                        responder.respond(response)
                    }
                    Err(error) => responder.respond_with_error(error),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: LoadSessionRequest, responder, connection| {
                let id = request.session_id.0.to_string();
                let opened = for_load
                    .open(
                        connection.clone(),
                        &model_load,
                        &request.cwd,
                        &request.mcp_servers,
                        Some(&id),
                    )
                    .await;
                match opened {
                    Ok(session) => {
                        for update in updates::replayed(&session.transcript_text().await) {
                            let _ = connection
                                .send_notification(SessionNotification::new(id.clone(), update));
                        }
                        let response = LoadSessionResponse::new().modes(modes(&session));
                        for_load.add(session);
                        responder.respond(response)
                    }
                    Err(error) => responder.respond_with_error(error),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: ResumeSessionRequest, responder, connection| {
                let id = request.session_id.0.to_string();
                let opened = for_resume
                    .open(
                        connection,
                        &model_resume,
                        &request.cwd,
                        &request.mcp_servers,
                        Some(&id),
                    )
                    .await;
                match opened {
                    Ok(session) => {
                        let response = ResumeSessionResponse::new().modes(modes(&session));
                        for_resume.add(session);
                        responder.respond(response)
                    }
                    Err(error) => responder.respond_with_error(error),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: CloseSessionRequest, responder, connection| {
                let Some(open) = lock(&for_close.open).remove(&*request.session_id.0) else {
                    return responder.respond_with_error(invalid(format!(
                        "unknown session `{}`",
                        request.session_id.0
                    )));
                };
                open.cancel();
                // A running prompt ends on the cancel and lets go of the session; waiting for
                // that beside the connection keeps it serving the prompt's last requests.
                connection.spawn(async move {
                    open.session.lock().await.close().await;
                    responder.respond(CloseSessionResponse::new())
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: ListSessionsRequest, responder, _connection| {
                responder.respond(listed(&request))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest, responder, connection| {
                let id = request.session_id.0.to_string();
                let shared = match for_prompt.get(&id) {
                    Ok(open) => open.session,
                    Err(error) => return responder.respond_with_error(error),
                };
                // The prompt runs beside the connection, which keeps serving cancel and the
                // answers to permission requests.
                let updates = Updates {
                    connection: connection.clone(),
                    session_id: id,
                };
                connection.spawn(async move {
                    let Ok(mut session) = shared.try_lock() else {
                        return responder.respond_with_error(invalid(
                            "a prompt is already running in this session".into(),
                        ));
                    };
                    let text = user_message(&request.prompt);
                    match session
                        .prompt(text, Box::new(updates))
                        .await
                        .and_then(Ended::ending)
                    {
                        Ok(ending) => responder.respond(PromptResponse::new(stop_reason(ending))),
                        Err(error) => responder.respond_with_error(
                            agent_client_protocol::Error::internal_error()
                                .data(serde_json::json!(format!("{error:#}"))),
                        ),
                    }
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionModeRequest, responder, _connection| {
                let shared = match for_mode.get(&request.session_id.0) {
                    Ok(open) => open.session,
                    Err(error) => return responder.respond_with_error(error),
                };
                let Some(&(mode, _, _)) =
                    MODES.iter().find(|(_, id, _)| **id == *request.mode_id.0)
                else {
                    return responder.respond_with_error(invalid(format!(
                        "unknown mode `{}`",
                        request.mode_id.0
                    )));
                };
                match shared.try_lock() {
                    Ok(mut session) => {
                        session.set_mode(mode);
                        responder.respond(SetSessionModeResponse::new())
                    }
                    Err(_) => responder.respond_with_error(invalid(
                        "the mode cannot change while a prompt runs".into(),
                    )),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: CancelNotification, _connection| {
                // The running prompt holds its session: its stops are reached beside it.
                if let Ok(open) = for_cancel.get(&notification.session_id.0) {
                    open.cancel();
                }
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .connect_to(Stdio::new())
        .await
        .map_err(|error| anyhow::anyhow!("ACP connection: {error}"));
    // The editor is gone: every session's MCP servers end with it.
    let open: Vec<Held> = lock(&sessions.open).drain().map(|(_, open)| open).collect();
    for open in open {
        open.stop();
        open.session.lock().await.close().await;
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The stop reason ACP gives for how a prompt ended.
fn stop_reason(ending: Ending) -> StopReason {
    match ending {
        Ending::EndTurn => StopReason::EndTurn,
        Ending::TurnLimit => StopReason::MaxTurnRequests,
        Ending::Cancelled => StopReason::Cancelled,
    }
}

/// The answer to `initialize`: protocol v1 (the one version spoken here, whatever the client
/// asked for; a client that cannot speak it disconnects), what this agent can do, who it is.
fn initialized(_request: &InitializeRequest) -> InitializeResponse {
    let capabilities = AgentCapabilities::new()
        .load_session(true)
        .prompt_capabilities(PromptCapabilities::new().embedded_context(true))
        .mcp_capabilities(McpCapabilities::new().http(true))
        .session_capabilities(
            SessionCapabilities::new()
                .list(SessionListCapabilities::new())
                .resume(SessionResumeCapabilities::new())
                .close(SessionCloseCapabilities::new()),
        );
    InitializeResponse::new(ProtocolVersion::V1)
        .agent_capabilities(capabilities)
        .agent_info(Implementation::new("agent", env!("CARGO_PKG_VERSION")))
}

/// The approval modes, with the session's current one.
fn modes(session: &Session) -> SessionModeState {
    let available = MODES
        .iter()
        .map(|(_, id, description)| {
            SessionMode::new(id.to_string(), id.to_string()).description(description.to_string())
        })
        .collect();
    SessionModeState::new(mode_id(session.mode()).to_string(), available)
}

/// `session/list`: the stored sessions, of one cwd when given.
fn listed(request: &ListSessionsRequest) -> ListSessionsResponse {
    let cwd = request.cwd.clone();
    let config = cwd
        .as_deref()
        .and_then(|cwd| FileConfig::load(cwd).ok())
        .unwrap_or_default();
    let dir = crate::config::sessions_dir(None, &config);
    let sessions = crate::records::sessions(&dir, cwd.as_deref())
        .into_iter()
        .map(|summary| {
            SessionInfo::new(summary.id, std::path::PathBuf::from(summary.workspace))
                .title(summary.task.lines().next().unwrap_or_default().to_string())
        })
        .collect();
    ListSessionsResponse::new(sessions)
}

fn invalid(message: String) -> agent_client_protocol::Error {
    agent_client_protocol::Error::invalid_params().data(serde_json::json!(message))
}
