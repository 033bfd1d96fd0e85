/*!
The daemon's database as its async handlers reach it: each call runs on tokio's blocking pool (a
SQLite write waits for the disk, and a handler must not hold a runtime thread while it does),
one call at a time on the one connection. Writes that change what clients see go through
[`Db::saved`], which tries again after a pause when the disk is briefly busy.
*/

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::store::{Isolated, SessionRow, Store};
use crate::protocol::state::SessionState;
use crate::sync::lock;

/// How often a database write is tried before it is given up.
const SAVE_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct Db(Arc<Mutex<Store>>);

impl Db {
    pub fn new(store: Store) -> Self {
        Self(Arc::new(Mutex::new(store)))
    }

    /// Runs `work` on the store, off the runtime's threads.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || work(&lock(&store)))
            .await
            .map_err(|error| anyhow!("the database call stopped: {error}"))?
    }

    /// Session `id`'s row (the most asked question).
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        let id = id.to_string();
        self.call(move |store| store.session(&id)).await
    }

    /// Session `id`'s worktree, when it is isolated.
    pub async fn isolation(&self, id: &str) -> Result<Option<Isolated>> {
        let id = id.to_string();
        self.call(move |store| store.isolation(&id)).await
    }

    /// Session `id` set to `state`, saved (with [`Db::saved`]'s retries).
    pub async fn set_state(&self, id: &str, state: SessionState) -> Result<()> {
        let id = id.to_string();
        self.saved(move |store| store.set_state(&id, state)).await
    }

    /// The questions session `id` left open, expired, saved (with [`Db::saved`]'s retries).
    pub async fn expire_approvals(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.saved(move |store| store.expire_approvals(&id)).await
    }

    /// A write tried again after a pause when it fails (a busy or a briefly failing disk); the
    /// last error when it never succeeds.
    pub async fn saved<T: Send + 'static>(
        &self,
        write: impl Fn(&Store) -> Result<T> + Clone + Send + 'static,
    ) -> Result<T> {
        let mut pause = Duration::from_millis(50);
        for _ in 0..SAVE_ATTEMPTS - 1 {
            match self.call(write.clone()).await {
                Ok(value) => return Ok(value),
                Err(_) => tokio::time::sleep(pause).await,
            }
            pause *= 4;
        }
        self.call(write).await
    }
}
