/*!
Where `agent mcp login` keeps an MCP server's OAuth tokens, and rmcp reads and renews them: one
file a server, `mcp-tokens/NAME.json` under the user's config directory (a directory of mode 0700,
files of mode 0600, each written to a temporary file and renamed, so a killed process never
leaves half a token: the config's own writer). The file names the URL it was issued for: a config that points the same
name at another URL does not get the token.

A file rather than the system keyring: the keyring needs a desktop session's secret service,
which the servers and containers this runs in do not have, and a token that works in one
terminal but not over SSH would be a worse surprise. Sessions running at once (batch, the daemon)
take a lock on the file's `.lock` sibling while one of them renews the token, so the second reads
the renewed one.
*/

use std::path::{Path, PathBuf};

use anyhow::Context;
use rmcp::transport::auth::{
    AuthError, AuthorizationManager, CredentialRefreshGuard, CredentialStore, StoredCredentials,
};
use serde::{Deserialize, Serialize};

/// One server's token file.
#[derive(Debug, Clone)]
pub struct TokenFile {
    path: PathBuf,
    url: String,
}

/// What the file holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    url: String,
    credentials: StoredCredentials,
}

/// Whether `forget` found tokens to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgotten {
    Yes,
    NothingSaved,
}

impl TokenFile {
    /// The token file of server `name` at `url`, or `None` without a config directory.
    pub fn of(name: &str, url: &str) -> Option<Self> {
        let dir = crate::config::config_home()?.join("agent/mcp-tokens");
        Some(Self::in_dir(&dir, name, url))
    }

    fn in_dir(dir: &Path, name: &str, url: &str) -> Self {
        let file_name: String = name
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    true => c,
                    false => '_',
                },
            )
            .collect();
        Self {
            path: dir.join(format!("{file_name}.json")),
            url: url.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether tokens for this URL are saved (a quick look, before any network).
    pub async fn holds_tokens(&self) -> bool {
        self.load()
            .await
            .ok()
            .flatten()
            .is_some_and(|saved| saved.token_response.is_some())
    }

    /// Removes the saved tokens.
    pub async fn forget(&self) -> std::io::Result<Forgotten> {
        match tokio::fs::remove_file(&self.path).await {
            Ok(()) => Ok(Forgotten::Yes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(Forgotten::NothingSaved)
            }
            Err(error) => Err(error),
        }
    }

    /// An OAuth manager for the server at `url` that sends through the program's one HTTP
    /// client and keeps its tokens in this file.
    pub async fn manager(self, url: &str) -> anyhow::Result<AuthorizationManager> {
        let http = crate::model::http_client().map_err(anyhow::Error::msg)?;
        let mut manager = AuthorizationManager::new(url)
            .await
            .with_context(|| format!("{url} is not a URL OAuth can use"))?;
        manager.with_client(http)?;
        manager.set_credential_store(self);
        Ok(manager)
    }

    /// The credentials in `bytes` when they were issued for this URL.
    fn read(&self, bytes: &[u8]) -> Option<StoredCredentials> {
        let saved: Saved = serde_json::from_slice(bytes).ok()?;
        (saved.url == self.url).then_some(saved.credentials)
    }

    fn store_error(&self, what: &str, error: impl std::fmt::Display) -> AuthError {
        AuthError::CredentialStoreError(format!("{what} {}: {error}", self.path.display()))
    }

    /// The file written whole (mode 0600) in a directory of mode 0700, off the runtime's threads.
    async fn write(&self, bytes: Vec<u8>) -> anyhow::Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir)?;
            crate::config::edit::write_privately(&path, &bytes)
        })
        .await?
    }
}

#[async_trait::async_trait]
impl CredentialStore for TokenFile {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => Ok(self.read(&bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(self.store_error("cannot read", error)),
        }
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let saved = Saved {
            url: self.url.clone(),
            credentials,
        };
        let bytes = serde_json::to_vec_pretty(&saved)
            .map_err(|error| self.store_error("cannot encode", error))?;
        self.write(bytes)
            .await
            .map_err(|error| self.store_error("cannot write", format!("{error:#}")))
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.forget()
            .await
            .map(|_| ())
            .map_err(|error| self.store_error("cannot remove", error))
    }

    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, AuthError> {
        let lock_path = self.path.with_extension("lock");
        let locked = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            if let Some(dir) = lock_path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::File::create(&lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|error| self.store_error("cannot lock", error))?
        .map_err(|error| self.store_error("cannot lock", error))?;
        // Dropping the file unlocks it.
        Ok(Some(CredentialRefreshGuard::new(locked)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(client_id: &str) -> StoredCredentials {
        StoredCredentials::new(client_id.to_string(), None, vec!["read".into()], Some(7))
    }

    #[tokio::test]
    async fn saved_tokens_are_private_and_only_for_their_url() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_dir(dir.path(), "docs/prod", "https://a.example/mcp");
        assert_eq!(file.path(), dir.path().join("docs_prod.json"));
        assert!(file.load().await.unwrap().is_none());
        file.save(credentials("client-1")).await.unwrap();
        let loaded = file.load().await.unwrap().unwrap();
        assert_eq!(
            (
                loaded.client_id,
                loaded.granted_scopes,
                loaded.token_received_at
            ),
            ("client-1".to_string(), vec!["read".to_string()], Some(7))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let elsewhere = TokenFile::in_dir(dir.path(), "docs/prod", "https://b.example/mcp");
        assert!(elsewhere.load().await.unwrap().is_none());
        let _guard = file.acquire_refresh_guard().await.unwrap();
        assert_eq!(file.forget().await.unwrap(), Forgotten::Yes);
        assert_eq!(file.forget().await.unwrap(), Forgotten::NothingSaved);
    }
}
