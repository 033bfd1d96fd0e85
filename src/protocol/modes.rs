/*!
The settings every layer speaks of: what needs approval, which kind of server, whether calls
written as text count, how commands are confined, which tools edit, and who decided. Plain
enums: the command line, the config file and the HTTP API map their own spellings onto these.
*/

use serde::{Deserialize, Serialize};

/// What needs the user's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    /// Ask for edits and for commands that are not read-only.
    Ask,
    /// Apply edits without asking; ask for commands that are not read-only.
    Edits,
    /// Ask nothing.
    All,
    /// Dry run: show edits, never apply or run anything.
    None,
}

impl ApprovalMode {
    /// The mode inside an isolated tree: edits there need no question (the whole change is
    /// reviewed when it comes back); commands are treated as usual.
    pub fn inside_isolation(self) -> Self {
        match self {
            ApprovalMode::Ask => ApprovalMode::Edits,
            ApprovalMode::Edits | ApprovalMode::All | ApprovalMode::None => self,
        }
    }
}

/// Which wire dialect a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// GLM (bigmodel.cn, z.ai): sends `thinking` and `tool_stream`.
    Glm,
    /// Any OpenAI-compatible server: standard fields only.
    Openai,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Glm => "glm",
            ProviderKind::Openai => "openai",
        }
    }
}

/// Turning tool calls written in the answer's text into real calls (small and local models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextToolCalls {
    /// Never: text is text.
    Off,
    /// When the answer is nothing but calls of offered tools with arguments that parse.
    Auto,
}

/// What commands the model runs may do (see README: Sandbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxSetting {
    /// Read anything but secrets; write only in the workspace, /tmp and configured roots.
    WorkspaceWrite,
    /// Read anything but secrets; write only in /tmp.
    ReadOnly,
    /// No sandbox: commands run with all of your rights.
    Off,
}

/// How commands are confined: the setting (None: the config's, else workspace-write) and
/// whether they may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SandboxChoice {
    pub setting: Option<SandboxSetting>,
    pub network: Network,
}

/// Whether sandboxed commands may use the network (the config may still allow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    AsConfigured,
    Allowed,
}

/// Which tools the model edits files with (`write_file` is always there, for new files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditFormat {
    /// By provider: GLM gets `apply_diff` and `edit_file`, other servers `edit_file`.
    Auto,
    /// `apply_diff`: unified diffs.
    Diff,
    /// `edit_file`: replacing a unique string.
    Replace,
    /// `write_file` only: whole files.
    Whole,
}

/// Who decided an approval: the user, the settings (mode, rules, read-only check) without a
/// question, or a `PreToolUse` hook that approved the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    User,
    Settings,
    Hook,
}
