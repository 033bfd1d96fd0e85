/*!
Where the program's files go and what it reads from the environment: the config and data homes
(XDG), the sessions directory, one variable read with empty meaning unset, and the variables that
hold the API key (kept from every command, hook and MCP server).
*/

use std::path::{Path, PathBuf};

use super::{FileConfig, KEY_VARIABLES};

/// Where transcripts and edit journals live: flag, then env, then config, then the XDG data dir.
pub fn sessions_dir(flag: Option<&Path>, config: &FileConfig) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| env("AGENT_SESSIONS_DIR").map(PathBuf::from))
        .or(config.sessions_dir.clone())
        .unwrap_or_else(|| data_home().join("agent/sessions"))
}

/// Reads one environment variable, treating empty as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

pub fn config_home() -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
}

pub fn data_home() -> PathBuf {
    env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from(".agent"))
}

/// The API key variables to remove from commands' environment: the standard ones, the
/// provider's own, and any other variable holding the same value.
pub fn secret_variables(api_key: &str) -> Vec<String> {
    let mut names: Vec<String> = KEY_VARIABLES.iter().map(ToString::to_string).collect();
    names.extend(
        std::env::vars()
            .filter(|(_, value)| !api_key.is_empty() && value.trim() == api_key)
            .map(|(name, _)| name),
    );
    names.sort();
    names.dedup();
    names
}
