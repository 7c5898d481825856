//! "Log out everywhere": the per-user index of live sessions.
//!
//! A session bound to a user (`set_user`) is listed in that user's index, kept by one object
//! per user: the `SessionLock` class under the name `user:<uid>` (so no new binding, class or
//! migration is needed, and the index is as strongly owned as a session). The session's record
//! knows its user, so each side can repair the other:
//! - the session's object adds itself to the index *before* it stores a bound record, so a
//!   stored bound session is always listed (a "log out everywhere" can always find it);
//! - destroy, regenerate and expiry (alarm or sweep) remove the entry;
//! - the index destroys sessions by asking each session's object to `kill` it: the record is
//!   deleted and the current lease revoked, so a request already holding the lock cannot write
//!   after it (fencing), and every later request finds no session.
//!
//! [`UserIndex`] holds the pure rules: entries, the cap, who to destroy.

use serde::{Deserialize, Serialize};

use crate::engine::{Error, SessionId};

/// Longest user id, in bytes.
pub const MAX_USER_LEN: usize = 128;
/// Longest client description, in bytes.
pub const MAX_CLIENT_LEN: usize = 64;

/// Checks a user id: 1 to 128 characters of `A-Z a-z 0-9 . _ ~ @ + -` (a base64url encoding
/// fits, for ids that are not plain tokens). Used as part of an object name and in headers.
pub fn check_user(uid: &str) -> Result<(), Error> {
    let ok = !uid.is_empty()
        && uid.len() <= MAX_USER_LEN
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~@+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "a session's user id must be 1 to {MAX_USER_LEN} characters of A-Z a-z 0-9 . _ ~ @ + - (base64url-encode other ids)"
        )))
    }
}

/// Checks a client description ("Firefox on Linux"): at most 64 printable ASCII characters.
pub fn check_client(client: &str) -> Result<(), Error> {
    if client.len() <= MAX_CLIENT_LEN && client.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "a session's client description must be at most {MAX_CLIENT_LEN} printable ASCII characters"
        )))
    }
}

/// The object name of `uid`'s index (never a session id: those have no `:`).
pub fn index_name(uid: &str) -> String {
    format!("user:{uid}")
}

/// A request binding its session to a user, carried by the change that stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The user.
    pub user: String,
    /// What the caller says the client is, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The id this session had before a regenerate: its entry is taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// One live session of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    /// The session id (never shown to callers: see [`Listed`]).
    pub sid: String,
    /// When the session was created (Unix ms; kept across regenerates).
    pub created: u64,
    /// When it was last bound to the user (login, regenerate; Unix ms).
    pub bound: u64,
    /// The caller's description of the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// What a caller sees of a user's session: its hash, never its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The session's 12-hex-digit tag, as logs and lifecycle hooks show it.
    pub id: String,
    /// Creation time (Unix ms).
    pub created: u64,
    /// Last login or regenerate (Unix ms).
    pub bound: u64,
    /// The client description, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// True for the session the listing request came with.
    pub current: bool,
}

/// A user's index: the live sessions, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIndex {
    /// The entries.
    pub entries: Vec<UserEntry>,
}

impl UserIndex {
    /// Adds (or refreshes) `sid`, taking over the entry of `binding.replaces`; returns the
    /// sessions to destroy because the user now has more than `cap`, oldest first (never
    /// `sid` itself).
    pub fn add(
        &mut self,
        sid: &str,
        created: u64,
        binding: &Binding,
        now: u64,
        cap: usize,
    ) -> Vec<String> {
        let mut entry = UserEntry {
            sid: sid.to_owned(),
            created,
            bound: now,
            client: binding.client.clone(),
        };
        for old in [binding.replaces.as_deref(), Some(sid)]
            .into_iter()
            .flatten()
        {
            if let Some(i) = self.entries.iter().position(|e| e.sid == old) {
                let prev = self.entries.remove(i);
                entry.created = entry.created.min(prev.created);
                entry.client = entry.client.or(prev.client);
            }
        }
        self.entries.push(entry);
        self.entries.sort_by_key(|e| e.created);
        let mut evicted = Vec::new();
        while self.entries.len() > cap.max(1) {
            let i = self
                .entries
                .iter()
                .position(|e| e.sid != sid)
                .expect("more than one entry");
            evicted.push(self.entries.remove(i).sid);
        }
        evicted
    }

    /// Removes `sid`; true if it was listed.
    pub fn remove(&mut self, sid: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.sid != sid);
        self.entries.len() != before
    }

    /// The sessions a "log out everywhere" destroys: all, or all but `except`.
    pub fn to_destroy(&self, except: Option<&str>) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| Some(e.sid.as_str()) != except)
            .map(|e| e.sid.clone())
            .collect()
    }

    /// The listing for a caller whose own session is `current`.
    pub fn listed(&self, current: Option<&str>) -> Vec<Listed> {
        self.entries
            .iter()
            .map(|e| Listed {
                id: SessionId::parse(&e.sid)
                    .map(|id| id.log_tag())
                    .unwrap_or_default(),
                created: e.created,
                bound: e.bound,
                client: e.client.clone(),
                current: Some(e.sid.as_str()) == current,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(replaces: Option<&str>) -> Binding {
        Binding {
            user: "ann".into(),
            client: None,
            replaces: replaces.map(str::to_owned),
        }
    }

    #[test]
    fn user_ids_and_clients_are_checked() {
        assert!(check_user("ann@example.com").is_ok());
        assert!(check_user(&"a".repeat(128)).is_ok());
        for bad in ["", "a b", "a:b", "ä", &"a".repeat(129)] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
        assert!(check_client("Firefox on Linux").is_ok());
        assert!(check_client("tab\t").is_err());
        assert!(check_client(&"x".repeat(65)).is_err());
        assert_eq!(index_name("ann"), "user:ann");
    }

    #[test]
    fn a_regenerate_takes_over_its_entry_and_the_cap_evicts_the_oldest() {
        let mut idx = UserIndex::default();
        assert!(idx.add("a", 1, &bind(None), 10, 2).is_empty());
        assert!(idx.add("b", 2, &bind(None), 11, 2).is_empty());
        // b regenerated to c: c takes b's place and creation time
        assert!(idx.add("c", 5, &bind(Some("b")), 12, 2).is_empty());
        assert_eq!(idx.entries.len(), 2);
        assert_eq!(idx.entries[1].sid, "c");
        assert_eq!(idx.entries[1].created, 2);
        // a third session: the oldest other one goes
        assert_eq!(idx.add("d", 6, &bind(None), 13, 2), vec!["a".to_owned()]);
        assert_eq!(idx.to_destroy(Some("d")), vec!["c".to_owned()]);
        assert_eq!(idx.to_destroy(None).len(), 2);
        assert!(idx.remove("c") && !idx.remove("c"));
    }
}
