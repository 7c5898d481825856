//! The KV calls of the sweep for workers-rs workers.

use worker::kv::KvStore;

use crate::engine::sweep::sweeper::{listed_key, SweepStore};
use crate::engine::sweep::Page;
use crate::engine::Error;

/// The KV binding name.
pub const BINDING: &str = "SESSIONS";

/// A KV namespace as the sweep's store.
pub struct KvSweepStore(pub KvStore);

impl SweepStore for KvSweepStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.0.get(key).text().await.map_err(Error::from)
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), Error> {
        self.0
            .put(key, value)
            .map_err(Error::from)?
            .execute()
            .await
            .map_err(Error::from)
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.0.delete(key).await.map_err(Error::from)
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page, Error> {
        let mut b = self.0.list().prefix(prefix.to_owned()).limit(limit as u64);
        if let Some(c) = cursor {
            b = b.cursor(c);
        }
        let r = b.execute().await.map_err(Error::from)?;
        let keys = r
            .keys
            .into_iter()
            .map(|k| listed_key(k.name, k.metadata))
            .collect();
        Ok(Page {
            keys,
            cursor: r.cursor.filter(|c| !c.is_empty()),
            complete: r.list_complete,
        })
    }
}
