//! The KV mirror of session records: one key per session, value = record JSON, metadata =
//! expiry and version (so the sweep never reads values), KV expiration = session expiry (at
//! least 60 s ahead, KV's minimum) so KV drops dead sessions by itself too.

use worker::kv::KvStore;

use crate::engine::record::{Meta, Record};
use crate::engine::sweep::{ListedKey, Page};
use crate::engine::{Error, SessionId};

/// The KV binding name.
pub const BINDING: &str = "SESSIONS";
/// KV key holding the sweep's resume cursor.
pub const SWEEP_CURSOR_KEY: &str = "sweep:cursor";

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

/// The key for a session.
pub fn key(prefix: &str, id: &SessionId) -> String {
    format!("{prefix}{}", id.as_str())
}

/// Writes the mirror of `record`.
pub async fn put(
    kv: &KvStore,
    prefix: &str,
    id: &SessionId,
    record: &Record,
    now_ms: u64,
) -> Result<(), Error> {
    let expiration = (record.expires / 1000 + 1).max(now_ms / 1000 + 61);
    kv.put(&key(prefix, id), record.encode())
        .map_err(backend)?
        .expiration(expiration)
        .metadata(record.meta())
        .map_err(backend)?
        .execute()
        .await
        .map_err(backend)
}

/// Deletes the mirror (idempotent).
pub async fn delete(kv: &KvStore, prefix: &str, id: &SessionId) -> Result<(), Error> {
    kv.delete(&key(prefix, id)).await.map_err(backend)
}

/// Lists one page of session keys with metadata.
pub async fn list_page(
    kv: &KvStore,
    prefix: &str,
    cursor: Option<String>,
    limit: usize,
) -> Result<Page, Error> {
    let mut b = kv.list().prefix(prefix.to_owned()).limit(limit as u64);
    if let Some(c) = cursor {
        b = b.cursor(c);
    }
    let r = b.execute().await.map_err(backend)?;
    let keys = r
        .keys
        .into_iter()
        .map(|k| ListedKey {
            meta: k
                .metadata
                .and_then(|m| serde_json::from_value::<Meta>(m).ok()),
            name: k.name,
        })
        .collect();
    Ok(Page {
        keys,
        cursor: r.cursor.filter(|c| !c.is_empty()),
        complete: r.list_complete,
    })
}
