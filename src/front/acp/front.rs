/*!
The editor as the front end of its sessions: where questions and file access go, the session
modes it can switch between, and how a prompt's content and the editor's MCP servers become ours.
*/

use std::sync::Arc;

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{ContentBlock, EmbeddedResourceResource, McpServer};
use agent_tools::Buffers;

use super::files::AcpFiles;
use super::updates::PermissionAsker;
use crate::agent::Editor;
use crate::approval::Interaction;
use crate::config::McpServerConfig;
use crate::protocol::modes::ApprovalMode;
use crate::session::{Front, Stop};

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

/// The editor, as the front end of its sessions.
pub struct AcpFront {
    pub connection: ConnectionTo<Client>,
    pub files: Files,
}

/// Where a session's tools read and write files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    OnDisk,
    /// Through the editor's buffers (`fs/read_text_file`, `fs/write_text_file`).
    ThroughEditor,
}

impl Front for AcpFront {
    fn interaction(&self, session_id: &str, stop: Stop) -> Interaction {
        Interaction::Asked(Arc::new(PermissionAsker {
            connection: self.connection.clone(),
            session_id: session_id.to_string(),
            stop,
        }))
    }

    fn editor(&self, session_id: &str) -> Option<Editor> {
        match self.files {
            Files::ThroughEditor => Some(Editor {
                files: Arc::new(AcpFiles {
                    connection: self.connection.clone(),
                    session_id: session_id.to_string(),
                }),
                buffers: Buffers::default(),
            }),
            Files::OnDisk => None,
        }
    }
}

/// The MCP servers the editor passes (stdio and streamable HTTP ones; the older SSE transport is
/// not supported and left out).
pub fn editor_servers(servers: &[McpServer]) -> Vec<(String, McpServerConfig)> {
    servers
        .iter()
        .filter_map(|server| match server {
            McpServer::Stdio(stdio) => Some((
                stdio.name.clone(),
                McpServerConfig {
                    command: Some(stdio.command.display().to_string()),
                    args: stdio.args.clone(),
                    env: stdio
                        .env
                        .iter()
                        .map(|variable| (variable.name.clone(), variable.value.clone()))
                        .collect(),
                    ..McpServerConfig::default()
                },
            )),
            McpServer::Http(http) => Some((
                http.name.clone(),
                McpServerConfig {
                    url: Some(http.url.clone()),
                    headers: http
                        .headers
                        .iter()
                        .map(|header| (header.name.clone(), header.value.clone()))
                        .collect(),
                    ..McpServerConfig::default()
                },
            )),
            _ => None,
        })
        .collect()
}

/// The user message of a prompt: its text, and each file the editor attached, fenced.
pub fn user_message(blocks: &[ContentBlock]) -> String {
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
