/*!
Changes the program makes to the user's config file, keeping its comments and layout (a
format-preserving TOML document), written whole or not at all (a temp file renamed over it).
*/

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{Array, DocumentMut, Item, Value};

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
        write(file, &document.to_string())?;
    }
    Ok(changed)
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

fn write(file: &Path, text: &str) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut temp, text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    temp.persist(file)
        .with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
