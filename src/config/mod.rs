/*!
Layered settings: built-in defaults < `~/.config/agent/config.toml` < `.agent/config.toml` in the
workspace < environment < flags. Providers are named (`bigmodel` and `zai` are built in) and have a
kind: `glm` sends GLM's `thinking`/`tool_stream` fields, `openai` only standard ones.
*/

pub mod edit;
mod entries;
mod environment;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agent_tools::EditTools;
use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::protocol::hooks::HookEvent;
use crate::protocol::modes::{
    ApprovalMode, EditFormat, ProviderKind, SandboxSetting, TextToolCalls,
};
pub use entries::{HookConfig, McpServerConfig, McpTransport};
pub use environment::{config_home, data_home, env, secret_variables, sessions_dir};

/// The most tokens a model answer may be asked for: GLM-4.7's maximum output.
pub const MAX_OUTPUT_TOKENS: u32 = 131_072;

/// Which model to talk to, and how, as a front end chose it (flags, a request); unset fields
/// come from the config files and the defaults.
#[derive(Debug, Clone, Default)]
pub struct ModelChoice {
    /// A named provider from the config file (built in: bigmodel, zai).
    pub provider: Option<String>,
    pub provider_kind: Option<ProviderKind>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub max_turns: Option<u32>,
    /// GLM's thinking turned off.
    pub no_thinking: bool,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub context_window: Option<u64>,
    pub text_tool_calls: Option<TextToolCalls>,
    pub edit_format: Option<EditFormat>,
}

pub const DEFAULT_BASE_URL: &str = "https://open.bigmodel.cn/api/paas/v4";
pub const DEFAULT_MODEL: &str = "glm-4.7-flash";
pub const DEFAULT_MAX_TURNS: u32 = 100;
/// `max_tokens` sent to GLM providers unless configured (GLM-4.7 allows up to 128K).
pub const DEFAULT_GLM_MAX_TOKENS: u32 = 32_768;
/// GLM-4.7's context window, in tokens.
pub const GLM_CONTEXT_WINDOW: u64 = 200_000;
/// Assumed for other providers unless configured or reported by the server.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;
/// The most `max_tokens` sent to `openai` providers unless configured (llama.cpp's own default
/// is unlimited: a small model once wrote 5,000 tokens until it was killed).
pub const DEFAULT_OPENAI_MAX_TOKENS: u32 = 8_192;
/// Variables searched for the API key, in order (after a provider's own `api_key_env`).
pub const KEY_VARIABLES: [&str; 3] = ["AGENT_API_KEY", "ZAI_API_KEY", "ZHIPUAI_API_KEY"];

/// What a config file may say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub max_turns: Option<u32>,
    pub thinking: Option<bool>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// The model's context window in tokens; the conversation is compacted before it fills.
    pub context_window: Option<u64>,
    pub text_tool_calls: Option<TextToolCalls>,
    /// Which tools the model edits with (default auto: by provider).
    pub edit_format: Option<EditFormat>,
    /// Whether the first request carries a snapshot of the workspace (default true).
    pub snapshot: Option<bool>,
    /// The sandbox of commands (default workspace-write).
    pub sandbox: Option<SandboxSetting>,
    /// Let sandboxed commands use the network.
    pub sandbox_network: Option<bool>,
    /// More directories sandboxed commands may write to.
    #[serde(default)]
    pub sandbox_writable_roots: Vec<PathBuf>,
    /// More paths sandboxed commands may not read (besides ~/.ssh, ~/.aws, ~/.gnupg and
    /// ~/.config/agent).
    #[serde(default)]
    pub sandbox_hidden: Vec<PathBuf>,
    /// Force a mechanism: `auto` (default), `bubblewrap` or `landlock`.
    pub sandbox_mechanism: Option<MechanismName>,
    pub sessions_dir: Option<PathBuf>,
    pub stream_idle_timeout_secs: Option<u64>,
    pub approval: Option<ApprovalMode>,
    /// Command prefixes that run without asking, e.g. "make test".
    #[serde(default)]
    pub allow_commands: Vec<String>,
    /// Command prefixes that are never run, e.g. "git push".
    #[serde(default)]
    pub deny_commands: Vec<String>,
    /// MCP tools (`server__tool`) called without asking.
    #[serde(default)]
    pub allow_tools: Vec<String>,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// MCP servers whose tools are offered to the model, by name.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// The user's hooks, by the point of a session they run at.
    #[serde(default)]
    pub hooks: BTreeMap<HookEvent, Vec<HookConfig>>,
    /// Directories whose own `.agent/config.toml` may bring hooks (`agent trust`); read from the
    /// user's config only.
    #[serde(default)]
    pub trusted_dirs: Vec<PathBuf>,
    /// The hooks of the workspace's own config: they run only where the user trusts it.
    #[serde(skip)]
    pub project_hooks: BTreeMap<HookEvent, Vec<HookConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub base_url: Option<String>,
    pub kind: Option<ProviderKindName>,
    pub model: Option<String>,
    /// Environment variable holding this provider's key (tried after AGENT_API_KEY).
    pub api_key_env: Option<String>,
    /// Tool calls the model writes as text become real calls: `auto` (default for `openai`
    /// kinds) or `off` (default for GLM).
    pub text_tool_calls: Option<TextToolCalls>,
    /// Which tools this provider's models edit with.
    pub edit_format: Option<EditFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MechanismName {
    Auto,
    Bubblewrap,
    Landlock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKindName {
    Glm,
    Openai,
}

/// Everything a run needs to talk to the model, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub base_url: String,
    pub kind: ProviderKind,
    pub model: String,
    pub api_key: String,
    pub max_turns: u32,
    pub thinking: bool,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub context_window: u64,
    pub window_source: WindowSource,
    pub sessions_dir: PathBuf,
    pub stream_idle_timeout_secs: u64,
    /// Whether tool calls a model writes as text are turned into real ones.
    pub text_tool_calls: TextToolCalls,
    /// What the model edits with (the tools follow from it, the provider and the window).
    pub edit_format: EditFormat,
}

/// Context windows under this are a small (local) model's: it gets whole files to edit with
/// (and is not offered the plan tool).
pub const SMALL_WINDOW: u64 = 32_768;

/// The edit tools an edit format offers. `auto`: GLM gets both (the design names apply_diff, and
/// edit_file is what models get right most often); other servers get edit_file, except a small
/// model's (a window under [`SMALL_WINDOW`]), which gets whole files: measured on
/// Qwen2.5-Coder-1.5B, whole files solved 5, 5, 5 and 3 of 10 bench tasks where edit_file solved
/// 2 to 4 (README, "Edits").
pub fn edit_tools(format: EditFormat, kind: ProviderKind, context_window: u64) -> EditTools {
    match (format, kind) {
        (EditFormat::Auto, ProviderKind::Glm) => EditTools::DiffAndReplace,
        (EditFormat::Auto, ProviderKind::Openai) if context_window < SMALL_WINDOW => {
            EditTools::Whole
        }
        (EditFormat::Auto, ProviderKind::Openai) | (EditFormat::Replace, _) => EditTools::Replace,
        (EditFormat::Diff, _) => EditTools::Diff,
        (EditFormat::Whole, _) => EditTools::Whole,
    }
}

/// Where the context window in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSource {
    /// `--context-window` or `context_window`.
    Configured,
    /// GLM-4.7's own.
    KnownModel,
    /// Nothing said otherwise: [`DEFAULT_CONTEXT_WINDOW`].
    Assumed,
    /// The server reported it, here.
    Server(&'static str),
}

impl FileConfig {
    /// Loads the user's config, then the workspace's on top of it.
    pub fn load(workspace: &Path) -> Result<Self> {
        let mut config = Self::default();
        if let Some(dir) = config_home() {
            config.merge(Self::read(&dir.join("agent/config.toml"))?);
        }
        let mut project = Self::read(&workspace.join(".agent/config.toml"))?;
        // A repository cannot trust itself, and its hooks wait for the user's trust.
        project.trusted_dirs.clear();
        project.project_hooks = std::mem::take(&mut project.hooks);
        config.merge(project);
        Ok(config)
    }

    fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn merge(&mut self, other: Self) {
        self.provider = other.provider.or(self.provider.take());
        self.model = other.model.or(self.model.take());
        self.max_turns = other.max_turns.or(self.max_turns);
        self.thinking = other.thinking.or(self.thinking);
        self.temperature = other.temperature.or(self.temperature);
        self.max_tokens = other.max_tokens.or(self.max_tokens);
        self.context_window = other.context_window.or(self.context_window);
        self.text_tool_calls = other.text_tool_calls.or(self.text_tool_calls);
        self.edit_format = other.edit_format.or(self.edit_format);
        self.snapshot = other.snapshot.or(self.snapshot);
        self.sandbox = other.sandbox.or(self.sandbox);
        self.sandbox_network = other.sandbox_network.or(self.sandbox_network);
        self.sandbox_writable_roots
            .extend(other.sandbox_writable_roots);
        self.sandbox_hidden.extend(other.sandbox_hidden);
        self.sandbox_mechanism = other.sandbox_mechanism.or(self.sandbox_mechanism);
        self.sessions_dir = other.sessions_dir.or(self.sessions_dir.take());
        self.stream_idle_timeout_secs = other
            .stream_idle_timeout_secs
            .or(self.stream_idle_timeout_secs);
        self.approval = other.approval.or(self.approval);
        self.allow_commands.extend(other.allow_commands);
        self.deny_commands.extend(other.deny_commands);
        self.allow_tools.extend(other.allow_tools);
        for (name, provider) in other.providers {
            self.providers.insert(name, provider);
        }
        self.mcp_servers.extend(other.mcp_servers);
        for (event, hooks) in other.hooks {
            self.hooks.entry(event).or_default().extend(hooks);
        }
        for (event, hooks) in other.project_hooks {
            self.project_hooks.entry(event).or_default().extend(hooks);
        }
        self.trusted_dirs.extend(other.trusted_dirs);
    }

    fn provider(&self, name: &str) -> Option<ProviderConfig> {
        if let Some(provider) = self.providers.get(name) {
            return Some(provider.clone());
        }
        let builtin = |url: &str| ProviderConfig {
            base_url: Some(url.to_string()),
            kind: Some(ProviderKindName::Glm),
            ..ProviderConfig::default()
        };
        match name {
            "bigmodel" => Some(builtin(DEFAULT_BASE_URL)),
            "zai" | "z.ai" => Some(builtin("https://api.z.ai/api/paas/v4")),
            _ => None,
        }
    }
}

impl Settings {
    pub fn resolve(
        args: &ModelChoice,
        sessions_flag: Option<&Path>,
        config: &FileConfig,
    ) -> Result<Self> {
        let provider_name = args
            .provider
            .clone()
            .or_else(|| env("AGENT_PROVIDER"))
            .or(config.provider.clone());
        let provider = match &provider_name {
            Some(name) => match config.provider(name) {
                Some(provider) => provider,
                None => {
                    bail!("unknown provider `{name}`: define [providers.{name}] in the config file")
                }
            },
            None => ProviderConfig::default(),
        };
        let base_url = args
            .base_url
            .clone()
            .or_else(|| env("AGENT_BASE_URL"))
            .or(provider.base_url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let kind = match (
            args.provider_kind,
            env("AGENT_PROVIDER_KIND").as_deref(),
            provider.kind,
        ) {
            (Some(kind), _, _) => kind,
            (None, Some("openai"), _) => ProviderKind::Openai,
            (None, Some("glm"), _) => ProviderKind::Glm,
            (None, Some(other), _) => {
                bail!("AGENT_PROVIDER_KIND must be `glm` or `openai`, not `{other}`")
            }
            (None, None, Some(ProviderKindName::Openai)) => ProviderKind::Openai,
            (None, None, Some(ProviderKindName::Glm) | None) => ProviderKind::Glm,
        };
        let model = args
            .model
            .clone()
            .or_else(|| env("AGENT_MODEL"))
            .or(provider.model.clone())
            .or(config.model.clone())
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let api_key = find_api_key(provider.api_key_env.as_deref(), &base_url)?;
        let sessions_dir = sessions_dir(sessions_flag, config);
        if let Some(max_tokens) = config
            .max_tokens
            .filter(|tokens| !(1..=MAX_OUTPUT_TOKENS).contains(tokens))
        {
            bail!(
                "max_tokens in the config must be between 1 and {MAX_OUTPUT_TOKENS}, not {max_tokens}"
            );
        }
        let (context_window, window_source) =
            match (args.context_window.or(config.context_window), kind) {
                (Some(tokens), _) => (tokens, WindowSource::Configured),
                (None, ProviderKind::Glm) => (GLM_CONTEXT_WINDOW, WindowSource::KnownModel),
                (None, ProviderKind::Openai) => (DEFAULT_CONTEXT_WINDOW, WindowSource::Assumed),
            };
        let idle = env("AGENT_STREAM_IDLE_TIMEOUT_SECS")
            .map(|value| value.parse::<u64>())
            .transpose()
            .context("AGENT_STREAM_IDLE_TIMEOUT_SECS must be a whole number of seconds")?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            kind,
            model,
            api_key,
            max_turns: args
                .max_turns
                .or(config.max_turns)
                .unwrap_or(DEFAULT_MAX_TURNS),
            thinking: !args.no_thinking && config.thinking.unwrap_or(true),
            temperature: args.temperature.or(config.temperature),
            // `openai` kinds get theirs once the context window is settled.
            max_tokens: args.max_tokens.or(config.max_tokens).or(match kind {
                // GLM's own default (2048) is easily used up by thinking before any answer.
                ProviderKind::Glm => Some(DEFAULT_GLM_MAX_TOKENS),
                ProviderKind::Openai => None,
            }),
            context_window,
            window_source,
            sessions_dir,
            stream_idle_timeout_secs: idle.or(config.stream_idle_timeout_secs).unwrap_or(300),
            text_tool_calls: args
                .text_tool_calls
                .or(provider.text_tool_calls)
                .or(config.text_tool_calls)
                .unwrap_or(match kind {
                    ProviderKind::Glm => TextToolCalls::Off,
                    ProviderKind::Openai => TextToolCalls::Auto,
                }),
            edit_format: args
                .edit_format
                .or(provider.edit_format)
                .or(config.edit_format)
                .unwrap_or(EditFormat::Auto),
        })
    }

    /// The tools the model edits with, for the context window as it is now known.
    pub fn edit_tools(&self) -> EditTools {
        edit_tools(self.edit_format, self.kind, self.context_window)
    }

    /// Takes the context window a server reported, unless one was configured.
    pub fn adopt_server_window(&mut self, tokens: u64, source: &'static str) {
        if self.window_source == WindowSource::Assumed {
            self.context_window = tokens;
            self.window_source = WindowSource::Server(source);
        }
    }

    /// Sets `max_tokens` where nothing did: a quarter of the window, at most
    /// [`DEFAULT_OPENAI_MAX_TOKENS`], so a small window still leaves room for the prompt.
    pub fn settle_max_tokens(&mut self) {
        if self.max_tokens.is_none() {
            let quarter = u32::try_from(self.context_window / 4).unwrap_or(u32::MAX);
            self.max_tokens = Some(quarter.clamp(256, DEFAULT_OPENAI_MAX_TOKENS));
        }
    }

    /// A small model's server (an `openai` one with a window under [`SMALL_WINDOW`]) is asked
    /// for temperature 0 where nothing set one, as Aider asks every model: measured on
    /// Qwen2.5-Coder-1.5B, 3 and 5 of 10 bench tasks in 190 s against 6, 4 and 1 in 216–282 s
    /// at the server's default (0.8), with fewer turns lost to loops.
    pub fn settle_temperature(&mut self) {
        if self.kind == ProviderKind::Openai
            && self.temperature.is_none()
            && self.context_window < SMALL_WINDOW
        {
            self.temperature = Some(0.0);
        }
    }

    /// Which context window is used, and why, in words.
    pub fn describe_window(&self) -> String {
        let why = match self.window_source {
            WindowSource::Configured => "as configured".to_string(),
            WindowSource::KnownModel => "GLM-4.7's".to_string(),
            WindowSource::Assumed => {
                "assumed: the server did not say; set --context-window or context_window".into()
            }
            WindowSource::Server(source) => format!("reported by {source}"),
        };
        format!(
            "context window {} tokens ({why}), answers up to {} tokens",
            self.context_window,
            self.max_tokens.unwrap_or_default()
        )
    }
}

/// Whether `base_url` points at this machine, where servers need no key.
fn is_loopback(base_url: &str) -> bool {
    let Some((_, rest)) = base_url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn find_api_key(provider_variable: Option<&str>, base_url: &str) -> Result<String> {
    let mut names: Vec<&str> = vec![KEY_VARIABLES[0]];
    names.extend(provider_variable);
    names.extend(&KEY_VARIABLES[1..]);
    match names.iter().find_map(|name| env(name)) {
        Some(key) => Ok(key.trim().to_string()),
        // A server on this machine (llama.cpp, Ollama, LM Studio) needs no key.
        None if is_loopback(base_url) => Ok(String::new()),
        None => bail!(
            "no API key: set one of {} (e.g. export ZAI_API_KEY=...)",
            names.join(", ")
        ),
    }
}
