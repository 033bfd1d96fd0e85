/*! Command-line definitions (clap). Parsing only; `main.rs` dispatches. */

mod input;
mod values;

pub use input::{open_workspace, read_stdin};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{MAX_OUTPUT_TOKENS, ModelChoice};
use crate::protocol::modes::{
    ApprovalMode, EditFormat, Network, ProviderKind, SandboxChoice, SandboxSetting, TextToolCalls,
};
use crate::session::Begin;

#[derive(Debug, Parser)]
#[command(
    name = "agent",
    version,
    about = "A coding agent for GLM and any OpenAI-compatible endpoint"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: a conversation in the workspace (as `agent chat`).
    #[command(flatten)]
    pub chat: SessionArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A conversation in the workspace: each message runs a turn (the default with no command).
    Chat(SessionArgs),
    /// Run a task in the workspace until the model answers without a tool call.
    Run(RunArgs),
    /// List the tools the model is offered, or run one locally.
    Tools(ToolsArgs),
    /// Revert the last turn's edits of the newest session in this workspace (or a whole session).
    Undo(HistoryArgs),
    /// Print everything a session changed, as a unified diff.
    Diff(HistoryArgs),
    /// Run many tasks in parallel, each in its own git worktree (see README: Batches).
    Batch(BatchArgs),
    /// Walk the patches of a batch with the review UI, applying the accepted ones.
    Review(ReviewArgs),
    /// Review and apply the saved change of an isolated session (or of a batch directory).
    Apply(PatchArgs),
    /// Delete the saved change of an isolated session.
    Discard(PatchArgs),
    /// List the sessions started in this workspace, newest first (ids for `run --resume`).
    Sessions(SessionsArgs),
    /// Let a directory's own .agent/config.toml run hooks (see README: Hooks).
    Trust(TrustArgs),
    /// Print a completion script for a shell (see README: Shell completions).
    Completions(CompletionsArgs),
    /// The MCP servers: list them, show one's tools, add or remove one (see README: MCP servers).
    Mcp(McpArgs),
    /// Serve editors over the Agent Client Protocol on stdin/stdout (Zed, JetBrains, Neovim, acpx).
    Acp(AcpArgs),
    /// Run sessions for other programs over HTTP + SSE (see README: Daemon).
    Serve(ServeArgs),
    /// Confine one command with Landlock and seccomp, then run it (used by run_command).
    #[command(hide = true)]
    SandboxExec(SandboxExecArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; others need AGENT_SERVE_TOKEN).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: std::net::SocketAddr,
    /// Where the daemon keeps its database and token (default ~/.local/share/agent/serve).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Sessions whose turns run at once; the others wait, queued.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_running: u16,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct AcpArgs {
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct SandboxExecArgs {
    /// A directory the command may write to.
    #[arg(long)]
    pub write: Vec<PathBuf>,
    /// A path the command may not read.
    #[arg(long)]
    pub hide: Vec<PathBuf>,
    /// Allow network sockets.
    #[arg(long)]
    pub network: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// How commands are confined.
#[derive(Debug, Args, Clone, Default)]
pub struct SandboxArgs {
    /// The sandbox of commands: workspace-write (default), read-only, off.
    #[arg(long, value_enum)]
    pub sandbox: Option<SandboxSetting>,
    /// Let sandboxed commands use the network.
    #[arg(long)]
    pub network: bool,
}

impl SandboxArgs {
    pub fn choice(&self) -> SandboxChoice {
        SandboxChoice {
            setting: self.sandbox,
            network: match self.network {
                true => Network::Allowed,
                false => Network::AsConfigured,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(subcommand)]
    pub command: McpCommand,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Each configured server: how it is reached, whether it answers, its tools, its token.
    List(McpPlace),
    /// A server's tools, with their input schemas.
    Get {
        name: String,
        #[command(flatten)]
        place: McpPlace,
    },
    /// Add a server to the user's config (or the project's): `-- COMMAND ARGS...` or `--url URL`.
    Add(McpAddArgs),
    /// Log in to a server reached by URL (OAuth in a browser); its tokens are kept and renewed.
    Login {
        name: String,
        /// Print the URL to open instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// The port of the browser's return on 127.0.0.1 (default: any free one); a fixed one
        /// can be forwarded from another machine (`ssh -L PORT:127.0.0.1:PORT`).
        #[arg(long, value_name = "PORT", default_value_t = 0)]
        callback_port: u16,
        #[command(flatten)]
        place: McpPlace,
    },
    /// Forget the tokens `agent mcp login` saved for a server.
    Logout {
        name: String,
        #[command(flatten)]
        place: McpPlace,
    },
    /// Remove a server from the user's config (or the project's).
    Remove {
        name: String,
        /// The workspace's .agent/config.toml instead of the user's config.
        #[arg(long)]
        project: bool,
        #[command(flatten)]
        place: McpPlace,
    },
}

#[derive(Debug, Args)]
pub struct McpPlace {
    /// Workspace directory (default: the current directory).
    #[arg(short = 'C', long = "workspace", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct McpAddArgs {
    pub name: String,
    /// The URL of a server speaking MCP's streamable HTTP.
    #[arg(long, conflicts_with_all = ["command", "env"], required_unless_present = "command")]
    pub url: Option<String>,
    /// A header sent with every request (`${NAME}` is read from the environment then).
    #[arg(long = "header", value_name = "NAME=VALUE", requires = "url")]
    pub headers: Vec<String>,
    /// The variable holding a token sent as `Authorization: Bearer ...`.
    #[arg(long, value_name = "VAR", requires = "url")]
    pub bearer_token_env_var: Option<String>,
    /// A variable set for a command's server.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// The workspace's .agent/config.toml instead of the user's config.
    #[arg(long)]
    pub project: bool,
    #[command(flatten)]
    pub place: McpPlace,
    /// The command that starts the server, and its arguments (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The directory (default: the current directory); its subdirectories are trusted too.
    pub dir: Option<PathBuf>,
    /// Take the trust back.
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Every session, whatever its workspace.
    #[arg(long)]
    pub all: bool,
    /// Workspace directory (default: the current directory).
    #[arg(short = 'C', long = "workspace", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Directory of session transcripts (default ~/.local/share/agent/sessions).
    #[arg(long, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Session id (default: the newest session that edited this workspace). With `undo`, reverts
    /// the whole session.
    #[arg(long)]
    pub session: Option<String>,
    /// Workspace directory (default: the current directory).
    #[arg(short = 'C', long = "workspace", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Directory of session transcripts (default ~/.local/share/agent/sessions).
    #[arg(long, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct WorkspaceArgs {
    /// Workspace directory (default: the current directory).
    #[arg(short = 'C', long = "workspace", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Approve every edit and command without asking (same as `--approval all`).
    #[arg(short = 'y', long, conflicts_with = "approval")]
    pub yes: bool,
    /// What needs approval: ask (default), edits (apply edits, ask for commands), all, none (dry run).
    #[arg(long, value_enum)]
    pub approval: Option<ApprovalMode>,
}

impl WorkspaceArgs {
    /// The approval the flags ask for: `--yes` is `all`.
    pub fn approval_flag(&self) -> Option<ApprovalMode> {
        match self.yes {
            true => Some(ApprovalMode::All),
            false => self.approval,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The task; `-` reads it from stdin.
    pub task: String,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Print one JSON event per line on stdout instead of the human view.
    #[arg(long)]
    pub json: bool,
    /// A JSON Schema file: the final answer must be one JSON value valid against it, and stdout
    /// gets that value alone.
    #[arg(long, value_name = "FILE")]
    pub output_schema: Option<PathBuf>,
}

/// How a session on the terminal is opened: `agent run` and the conversation take the same flags.
#[derive(Debug, Args, Clone, Default)]
pub struct SessionArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Directory for session transcripts (default ~/.local/share/agent/sessions).
    #[arg(long, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
    /// Work in a fresh git worktree (or a copy); review the whole change at the end.
    #[arg(long, conflicts_with_all = ["resume", "continue_last"])]
    pub isolate: bool,
    /// Continue the latest session of this workspace (a task given is the follow-up).
    #[arg(short = 'c', long = "continue", conflicts_with = "resume")]
    pub continue_last: bool,
    /// Continue the session with this id (a task given is the follow-up).
    #[arg(long, value_name = "SESSION")]
    pub resume: Option<String>,
    /// Do not give the model a snapshot of the workspace (files, git status, project kind) at
    /// the start.
    #[arg(long)]
    pub no_snapshot: bool,
}

impl SessionArgs {
    /// Which session the flags open: the one `--resume` names, the latest (`-c`), or a new one.
    pub fn begin(&self) -> Begin {
        match (&self.resume, self.continue_last) {
            (Some(id), _) => Begin::Resume(id.clone()),
            (None, true) => Begin::ContinueLatest,
            (None, false) => Begin::New,
        }
    }
}

/// Which model to talk to, and how.
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// Named provider from the config file (built in: bigmodel, zai).
    #[arg(long)]
    pub provider: Option<String>,
    /// Provider kind for a custom base URL.
    #[arg(long, value_enum)]
    pub provider_kind: Option<ProviderKind>,
    /// Model name (default glm-4.7-flash).
    #[arg(long)]
    pub model: Option<String>,
    /// Base URL of the chat-completions API.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Stop after this many model turns (default 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_turns: Option<u32>,
    /// Turn GLM's thinking off.
    #[arg(long)]
    pub no_thinking: bool,
    /// Sampling temperature (0-1 for GLM).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Maximum tokens per model answer (up to 131072, GLM-4.7's largest output).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_OUTPUT_TOKENS)))]
    pub max_tokens: Option<u32>,
    /// The model's context window in tokens (default 200000 for GLM, 128000 otherwise); the
    /// conversation is compacted before it fills.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1000..))]
    pub context_window: Option<u64>,
    /// Turn tool calls the model writes as text into real calls: auto (default for openai
    /// kinds) or off (default for GLM).
    #[arg(long, value_enum)]
    pub text_tool_calls: Option<TextToolCalls>,
    /// Which tools the model edits with: auto (by provider), diff (apply_diff), replace
    /// (edit_file) or whole (write_file).
    #[arg(long, value_enum)]
    pub edit_format: Option<EditFormat>,
}

impl ModelArgs {
    /// The flags, for the settings to layer over the config.
    pub fn choice(&self) -> ModelChoice {
        ModelChoice {
            provider: self.provider.clone(),
            provider_kind: self.provider_kind,
            model: self.model.clone(),
            base_url: self.base_url.clone(),
            max_turns: self.max_turns,
            no_thinking: self.no_thinking,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            context_window: self.context_window,
            text_tool_calls: self.text_tool_calls,
            edit_format: self.edit_format,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: Option<BatchCommand>,
    /// Tasks as JSONL (one per line) or TOML (`[[task]]`); `-` reads stdin.
    pub file: Option<String>,
    /// Tasks run at once.
    #[arg(short = 'j', long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Results directory (default .agent/batch/<name>-<time>/); reuse it to resume.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only shard K of N (0-based), by a stable hash of each task id.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Rerun tasks whose recorded status is not ok.
    #[arg(long)]
    pub retry_failed: bool,
    /// Let tasks without an `approval` field run commands.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Default time limit per task (setup, agent and check).
    #[arg(long, default_value_t = 1800)]
    pub timeout_secs: u64,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Combine the results of several (shard) directories into one.
    Merge {
        /// Directory to merge into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Results directories to merge.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

/// Shard K of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text.split_once('/').ok_or("expected K/N, e.g. 0/4")?;
    let index: u64 = index
        .trim()
        .parse()
        .map_err(|_| format!("`{index}` is not a number"))?;
    let count: u64 = count
        .trim()
        .parse()
        .map_err(|_| format!("`{count}` is not a number"))?;
    if count == 0 || index >= count {
        return Err(format!(
            "shard {index}/{count}: K must be between 0 and N-1"
        ));
    }
    Ok(Shard { index, count })
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// A batch results directory.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The session whose saved change to act on, or a batch results directory.
    pub session: String,
    /// With a batch directory: only these task ids (comma-separated).
    #[arg(long)]
    pub ids: Option<String>,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Directory of session transcripts (default ~/.local/share/agent/sessions).
    #[arg(long, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(subcommand)]
    pub action: Option<ToolsAction>,
    /// Print the tool list as JSON (the exact `tools` array sent to the model).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ToolsAction {
    /// Run one tool in the workspace, as the agent loop would, and print its result.
    Call {
        /// Tool name, e.g. read_file.
        name: String,
        /// Arguments as a JSON object; `-` reads them from stdin.
        arguments: String,
        #[command(flatten)]
        workspace: WorkspaceArgs,
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
}
