/*!
How a session's settings become its policy: the approval mode and the approver that applies it,
and the sandbox its commands run in (with what approval must know when none can be enforced).
Front ends (run, batch, acp, tools) call these; the settings and the review know nothing of each
other.
*/

use std::path::{Path, PathBuf};

use agent_tools::sandbox::{MechanismChoice, Network, Sandbox, SandboxMode};

use crate::approval::{Approver, CommandRules, Confinement, Interaction};
use crate::config::{FileConfig, MechanismName, config_home, env};
use crate::protocol::modes::{self, ApprovalMode, SandboxChoice, SandboxSetting};

/// The approval mode of a session: the front end's choice (flags, a request) beats the config;
/// default `ask`.
pub fn approval_mode(chosen: Option<ApprovalMode>, config: &FileConfig) -> ApprovalMode {
    chosen.or(config.approval).unwrap_or(ApprovalMode::Ask)
}

/// The approver for `mode`, with the settings' command rules; questions go where `interaction`
/// says.
pub fn approver(
    mode: ApprovalMode,
    interaction: Interaction,
    config: &FileConfig,
    confinement: Confinement,
) -> Approver {
    Approver::new(
        mode,
        interaction,
        CommandRules::from_strings(&config.allow_commands, &config.deny_commands),
    )
    .with_allowed_tools(config.allow_tools.clone())
    .with_confinement(confinement)
}

/// Secret directories under the home directory that sandboxed commands cannot read.
const HIDDEN_IN_HOME: [&str; 4] = [".ssh", ".aws", ".gnupg", ".config/agent"];

/// The sandbox of commands: flags beat the config; default workspace-write without network.
pub fn sandbox(choice: SandboxChoice, config: &FileConfig) -> Sandbox {
    let mode = match choice.setting.or(config.sandbox) {
        Some(SandboxSetting::WorkspaceWrite) | None => SandboxMode::WorkspaceWrite,
        Some(SandboxSetting::ReadOnly) => SandboxMode::ReadOnly,
        Some(SandboxSetting::Off) => SandboxMode::Off,
    };
    let allowed = choice.network == modes::Network::Allowed;
    let network = match allowed || config.sandbox_network == Some(true) {
        true => Network::On,
        false => Network::Off,
    };
    let mut hidden: Vec<PathBuf> = env("HOME")
        .map(|home| {
            HIDDEN_IN_HOME
                .iter()
                .map(|dir| Path::new(&home).join(dir))
                .collect()
        })
        .unwrap_or_default();
    if let Some(config_home) = config_home() {
        hidden.push(config_home.join("agent"));
    }
    hidden.extend(config.sandbox_hidden.iter().cloned());
    hidden.sort();
    hidden.dedup();
    Sandbox {
        mode,
        network,
        writable_roots: config.sandbox_writable_roots.clone(),
        hidden,
        helper: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("agent")),
        choice: match config.sandbox_mechanism {
            Some(MechanismName::Auto) | None => MechanismChoice::Auto,
            Some(MechanismName::Bubblewrap) => MechanismChoice::Bubblewrap,
            Some(MechanismName::Landlock) => MechanismChoice::Landlock,
        },
    }
}

/// How commands will be confined, and, when the sandbox cannot be enforced here, why (for the
/// front end to say).
pub fn confinement(sandbox: &Sandbox) -> (Confinement, Option<String>) {
    match sandbox.mechanism() {
        Ok(_) => (Confinement::Sandboxed, None),
        Err(error) => (Confinement::Unenforceable, Some(error.to_string())),
    }
}
