/*!
Changes the program makes to the user's config file, keeping its comments and layout (a
format-preserving TOML document), written whole or not at all (a temp file renamed over it).
*/

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::McpServerConfig;

/// What `agent trust` does to a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustChange {
    Trust,
    Revoke,
}

/// Whether the file had to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Yes,
    AlreadySo,
}

/// The user's config file (`~/.config/agent/config.toml`).
pub fn user_config_file() -> Result<PathBuf> {
    match super::config_home() {
        Some(dir) => Ok(dir.join("agent/config.toml")),
        None => bail!("no config directory: set HOME or XDG_CONFIG_HOME"),
    }
}

/// Adds `dir` to (or removes it from) `trusted_dirs` in the config file at `file`.
pub fn change_trust(file: &Path, dir: &Path, change: TrustChange) -> Result<Changed> {
    let mut document = read(file)?;
    let entry = dir.display().to_string();
    let item = document
        .entry("trusted_dirs")
        .or_insert(Item::Value(Value::Array(Array::new())));
    let Some(list) = item.as_array_mut() else {
        bail!("{}: trusted_dirs is not a list", file.display());
    };
    let position = list.iter().position(|value| value.as_str() == Some(&entry));
    let changed = match (change, position) {
        (TrustChange::Trust, None) => {
            list.push(entry);
            Changed::Yes
        }
        (TrustChange::Revoke, Some(index)) => {
            list.remove(index);
            Changed::Yes
        }
        (TrustChange::Trust, Some(_)) | (TrustChange::Revoke, None) => Changed::AlreadySo,
    };
    if changed == Changed::Yes {
        write_privately(file, document.to_string().as_bytes())?;
    }
    Ok(changed)
}

/// Adds `[mcp_servers.NAME]` to the config file at `file`; a name already there is an error.
pub fn add_mcp_server(file: &Path, name: &str, server: &McpServerConfig) -> Result<()> {
    let mut document = read(file)?;
    let servers = document
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .with_context(|| format!("{}: mcp_servers is not a table", file.display()))?;
    if servers.contains_key(name) {
        bail!(
            "`{name}` is in {} already: `agent mcp remove {name}` first",
            file.display()
        );
    }
    servers.insert(name, Item::Table(server_table(server)));
    write_privately(file, document.to_string().as_bytes())
}

/// Removes `[mcp_servers.NAME]` from the config file at `file`.
pub fn remove_mcp_server(file: &Path, name: &str) -> Result<Changed> {
    let mut document = read(file)?;
    let removed = document
        .get_mut("mcp_servers")
        .and_then(Item::as_table_like_mut)
        .and_then(|servers| servers.remove(name));
    match removed {
        Some(_) => {
            write_privately(file, document.to_string().as_bytes())?;
            Ok(Changed::Yes)
        }
        None => Ok(Changed::AlreadySo),
    }
}

/// A server's entry as the config writes it: only the keys it uses.
fn server_table(server: &McpServerConfig) -> Table {
    let mut table = Table::new();
    let pairs = |map: &std::collections::BTreeMap<String, String>| {
        let mut inline = InlineTable::new();
        for (key, value) in map {
            inline.insert(key, value.as_str().into());
        }
        Item::Value(Value::InlineTable(inline))
    };
    if let Some(command) = &server.command {
        table.insert("command", command.as_str().into());
    }
    if !server.args.is_empty() {
        let args: Array = server.args.iter().map(String::as_str).collect();
        table.insert("args", Item::Value(Value::Array(args)));
    }
    if !server.env.is_empty() {
        table.insert("env", pairs(&server.env));
    }
    if let Some(url) = &server.url {
        table.insert("url", url.as_str().into());
    }
    if !server.headers.is_empty() {
        table.insert("headers", pairs(&server.headers));
    }
    if let Some(variable) = &server.bearer_token_env_var {
        table.insert("bearer_token_env_var", variable.as_str().into());
    }
    table
}

fn read(file: &Path) -> Result<DocumentMut> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", file.display())),
    };
    text.parse()
        .with_context(|| format!("invalid config file {}", file.display()))
}

/// Writes `bytes` to `file` whole or not at all: a temp file in its directory (made if missing),
/// of mode 0600 as tempfile makes them (configs and tokens are the user's alone), renamed over
/// it.
pub fn write_privately(file: &Path, bytes: &[u8]) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut temp, bytes)
        .with_context(|| format!("cannot write {}", file.display()))?;
    temp.persist(file)
        .with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_added_and_removed_keeping_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let before = "# mine\nprovider = \"zai\" # fast\n\n[mcp_servers.files]\ncommand = \"mcp-files\" # local\n";
        std::fs::write(&file, before).unwrap();
        let docs = McpServerConfig {
            url: Some("https://mcp.example.com/mcp".into()),
            headers: [("X-Team".to_string(), "core".to_string())].into(),
            bearer_token_env_var: Some("DOCS_MCP_TOKEN".into()),
            ..McpServerConfig::default()
        };
        add_mcp_server(&file, "docs", &docs).unwrap();
        let added = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            added,
            format!(
                "{before}\n[mcp_servers.docs]\nurl = \"https://mcp.example.com/mcp\"\nheaders = {{ X-Team = \"core\" }}\nbearer_token_env_var = \"DOCS_MCP_TOKEN\"\n"
            )
        );
        let read: crate::config::FileConfig = toml::from_str(&added).unwrap();
        assert_eq!(read.mcp_servers["docs"], docs);
        assert!(add_mcp_server(&file, "docs", &docs).is_err());
        assert_eq!(remove_mcp_server(&file, "docs").unwrap(), Changed::Yes);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
        assert_eq!(
            remove_mcp_server(&file, "docs").unwrap(),
            Changed::AlreadySo
        );
    }

    #[test]
    fn trusting_keeps_the_files_comments_and_revoking_takes_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let before =
            "# my settings\nmodel = \"glm\" # the fast one\n\n[providers.x]\nkind = \"openai\"\n";
        std::fs::write(&file, before).unwrap();
        let trusted = Path::new("/work/repo");
        assert_eq!(
            change_trust(&file, trusted, TrustChange::Trust).unwrap(),
            Changed::Yes
        );
        assert_eq!(
            change_trust(&file, trusted, TrustChange::Trust).unwrap(),
            Changed::AlreadySo
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "# my settings\nmodel = \"glm\" # the fast one\ntrusted_dirs = [\"/work/repo\"]\n\n[providers.x]\nkind = \"openai\"\n"
        );
        assert_eq!(
            change_trust(&file, trusted, TrustChange::Revoke).unwrap(),
            Changed::Yes
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "# my settings\nmodel = \"glm\" # the fast one\ntrusted_dirs = []\n\n[providers.x]\nkind = \"openai\"\n"
        );
    }
}
