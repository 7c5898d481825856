//! The messages between a worker and its session's `SessionLock` object, shared by caller
//! ([`crate::engine::worker::remote`]) and callee ([`crate::engine::object`]), so neither imports the other's types.
//! Each call is one operation ([`Op`]) with a JSON message; every answer is a [`Reply`]. Every call carries a call id (`rid`): a call retried after a transport
//! failure is recognised, so it never queues behind its own lease or applies twice.
//!
//! The object's settings ([`ObjectSettings`]) are named in every message by their version
//! ([`SettingsRef`]) and sent whole only where the object may not hold them yet; the object
//! keeps them per incarnation and persists the ones its record was written with.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::log::Level;
use crate::engine::object::user::Binding;
use crate::engine::session::record::Change;
use crate::engine::{Config, Error, Lease};

/// The part of the config a session's object needs, with the worker's names. They come from
/// its callers (worker vars, or a JavaScript caller's options), not from the object's own
/// env: the object applies the limits the worker checked, under the same names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSettings {
    /// Idle timeout, ms.
    pub timeout_ms: u64,
    /// Absolute lifetime, ms.
    pub absolute_ms: Option<u64>,
    /// The data size budget, bytes (`SESSION_MAX_BYTES`, [`Config::max_data_bytes`]).
    pub max_data_bytes: usize,
    /// Lock lease, ms.
    pub lease_ms: u64,
    /// Lock wait, ms.
    pub wait_ms: u64,
    /// KV key prefix.
    pub key_prefix: String,
    /// What the object logs.
    pub log_level: Level,
    /// Most live sessions per user.
    pub user_cap: usize,
}

impl ObjectSettings {
    /// The settings `config` gives the object.
    pub fn of(config: &Config) -> Self {
        ObjectSettings {
            timeout_ms: config.timeout.as_millis() as u64,
            absolute_ms: config.absolute_timeout.map(|d| d.as_millis() as u64),
            max_data_bytes: config.max_data_bytes,
            lease_ms: config.lock_lease.as_millis() as u64,
            wait_ms: config.lock_wait.as_millis() as u64,
            key_prefix: config.key_prefix.clone(),
            log_level: config.log_level,
            user_cap: config.user_cap,
        }
    }

    /// A config carrying these settings (the rest at defaults), for the shared record rules.
    /// The object builds it once per settings version, not per call.
    pub fn to_config(&self) -> Config {
        Config {
            timeout: Duration::from_millis(self.timeout_ms),
            absolute_timeout: self.absolute_ms.map(Duration::from_millis),
            max_data_bytes: self.max_data_bytes,
            lock_lease: Duration::from_millis(self.lease_ms),
            lock_wait: Duration::from_millis(self.wait_ms),
            key_prefix: self.key_prefix.clone(),
            log_level: self.log_level,
            user_cap: self.user_cap,
            ..Config::default()
        }
    }

    /// Their version: a 64-bit FNV-1a hash of their JSON text, the same in every build that
    /// writes the same JSON.
    pub fn version(&self) -> u64 {
        let text = serde_json::to_string(self).unwrap_or_default();
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

/// How a message names its caller's settings: always by version, and whole on a call that
/// may reach an object that does not hold them (a new session, a sweep, a user's index).
/// An object that does not know the version answers [`WireError::SETTINGS`], and the caller
/// sends the call again with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRef {
    /// [`ObjectSettings::version`] of the caller's settings.
    pub v: u64,
    /// The settings, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<ObjectSettings>,
}

impl SettingsRef {
    /// The settings, sent whole.
    pub fn full(settings: &ObjectSettings) -> Self {
        SettingsRef {
            v: settings.version(),
            full: Some(settings.clone()),
        }
    }
}

/// The object's operations: one RPC method each on the JavaScript class, one path each on
/// the workers-rs class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// [`BeginMsg`]: lock (optionally) and load.
    Begin,
    /// [`ApplyMsg`]: apply a change.
    Apply,
    /// [`IdMsg`]: release a lease, or whatever a caller was granted.
    Release,
    /// [`IdMsg`]: delete the session if it expired.
    Sweep,
    /// [`IdMsg`]: destroy the session now, revoking its lease (from its user's index).
    Kill,
    /// [`UserAddMsg`], on a user's index: list a session.
    UserAdd,
    /// [`UserMsg`], on a user's index: unlist a session.
    UserRemove,
    /// [`UserMsg`], on a user's index: the live sessions.
    UserList,
    /// [`UserMsg`], on a user's index: destroy the sessions (all, or all but one).
    UserDestroy,
}

impl Op {
    /// The method (and path) name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Begin => "begin",
            Op::Apply => "apply",
            Op::Release => "release",
            Op::Sweep => "sweep",
            Op::Kill => "kill",
            Op::UserAdd => "userAdd",
            Op::UserRemove => "userRemove",
            Op::UserList => "userList",
            Op::UserDestroy => "userDestroy",
        }
    }

    /// The operation called `name`, if any.
    pub fn parse(name: &str) -> Option<Op> {
        [
            Op::Begin,
            Op::Apply,
            Op::Release,
            Op::Sweep,
            Op::Kill,
            Op::UserAdd,
            Op::UserRemove,
            Op::UserList,
            Op::UserDestroy,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// A message naming its caller's settings (every message but the answers).
pub trait Message {
    /// The settings it names.
    fn settings(&self) -> &SettingsRef;
    /// The same, to send them whole.
    fn settings_mut(&mut self) -> &mut SettingsRef;
}

macro_rules! message {
    ($($t:ty),*) => {
        $(impl Message for $t {
            fn settings(&self) -> &SettingsRef {
                &self.settings
            }
            fn settings_mut(&mut self) -> &mut SettingsRef {
                &mut self.settings
            }
        })*
    };
}
message!(BeginMsg, ApplyMsg, IdMsg, UserAddMsg, UserMsg);

/// Every answer of the object: `{"ok": value}` or `{"err": WireError}`. A refusal is an
/// answer, not a failed call, so the caller never retries it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply<T> {
    /// The operation's result.
    Ok(T),
    /// The object refused or failed.
    Err(WireError),
}

/// `begin`: lock (optionally) and load.
#[derive(Debug, Serialize, Deserialize)]
pub struct BeginMsg {
    /// Call id: a retry of the same call carries the same one.
    pub rid: String,
    /// Session id (the object's name).
    pub sid: String,
    /// The caller's settings.
    pub settings: SettingsRef,
    /// Take the lock first.
    pub lock: bool,
}

/// `apply`: apply a change, fenced by `lease`, then release if asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyMsg {
    /// Call id: a retry of the same call carries the same one.
    pub rid: String,
    /// Session id.
    pub sid: String,
    /// The caller's settings.
    pub settings: SettingsRef,
    /// The change.
    pub change: Change,
    /// The caller's lease, if it holds the lock.
    pub lease: Option<Lease>,
    /// Release the lease afterwards, whatever the outcome.
    pub release: bool,
}

/// `release` and `sweep` carry this.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdMsg {
    /// Session id.
    pub sid: String,
    /// The caller's settings.
    pub settings: SettingsRef,
    /// Lease to release (for `release`).
    pub lease: Option<Lease>,
    /// For `release` without a lease: release whatever the call with this id was granted or
    /// is waiting for (its `begin` failed on the way back, so the caller never saw the lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// `userAdd`: list `sid` in `uid`'s index (the session's object, before it stores a bound
/// record).
#[derive(Debug, Serialize, Deserialize)]
pub struct UserAddMsg {
    /// The user.
    pub uid: String,
    /// The session.
    pub sid: String,
    /// The session's creation time.
    pub created: u64,
    /// The binding (client description, the id it replaces).
    pub bind: Binding,
    /// The caller's settings (the cap).
    pub settings: SettingsRef,
}

/// `userRemove` (`sid`: the session), `userList` (`sid`: the caller's own session, marked
/// current) and `userDestroy` (`sid`: the session to keep, if any).
#[derive(Debug, Serialize, Deserialize)]
pub struct UserMsg {
    /// The user.
    pub uid: String,
    /// The session concerned, as above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The caller's settings.
    pub settings: SettingsRef,
}

/// Answer of `userDestroy`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DestroyedAnswer {
    /// Sessions destroyed.
    pub destroyed: usize,
}

/// Answer of `sweep`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SweepAnswer {
    /// True if the session was expired (or absent) and is now deleted everywhere.
    pub deleted: bool,
}

/// An error on the wire between the worker and the object: the kind, plus the sizes for
/// `too_large`, so the worker rebuilds the same [`Error`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// `lock_timeout`, `lease_lost`, `gone`, `too_large`, `too_deep`, `config`, `internal`,
    /// `settings` or `backend`.
    pub error: String,
    /// For `too_large`: the encoded size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// For `too_deep`: the nesting depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// For `too_large` and `too_deep`: the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl WireError {
    /// The kind an object answers when it does not hold the settings a call names by version
    /// only: the caller sends them and asks again.
    pub const SETTINGS: &'static str = "settings";

    /// The refusal [`WireError::SETTINGS`].
    pub fn settings_unknown() -> Self {
        WireError {
            error: Self::SETTINGS.into(),
            size: None,
            depth: None,
            limit: None,
        }
    }

    /// The wire form of `e` (details of backend errors stay in the object's log).
    pub fn from_error(e: &Error) -> Self {
        let mut w = WireError {
            error: String::new(),
            size: None,
            depth: None,
            limit: None,
        };
        w.error = match e {
            Error::LockTimeout => "lock_timeout",
            Error::LeaseLost => "lease_lost",
            Error::Gone => "gone",
            Error::TooLarge { size, limit } => {
                (w.size, w.limit) = (Some(*size), Some(*limit));
                "too_large"
            }
            Error::TooDeep { depth, limit } => {
                (w.depth, w.limit) = (Some(*depth), Some(*limit));
                "too_deep"
            }
            Error::Config(_) => "config",
            Error::Usage(_) | Error::Internal(_) => "internal",
            _ => "backend",
        }
        .into();
        w
    }

    /// The error the worker reports.
    pub fn into_error(self) -> Error {
        match self.error.as_str() {
            "lock_timeout" => Error::LockTimeout,
            "lease_lost" => Error::LeaseLost,
            "gone" => Error::Gone,
            "too_large" => Error::TooLarge {
                size: self.size.unwrap_or(0),
                limit: self.limit.unwrap_or(0),
            },
            "too_deep" => Error::TooDeep {
                depth: self.depth.unwrap_or(0),
                limit: self.limit.unwrap_or(0),
            },
            "internal" => Error::Internal("the lock object refused a malformed call".into()),
            "settings" => {
                Error::Internal("the lock object did not take the caller's settings".into())
            }
            other => Error::Backend(format!("lock object failed ({other})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_carry_every_object_setting() {
        let c = Config::from_vars(|n| {
            [
                ("SESSION_TIMEOUT", "5m"),
                ("SESSION_ABSOLUTE_TIMEOUT", "1h"),
                ("SESSION_LOCK_LEASE", "2s"),
            ]
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
        })
        .unwrap();
        let back = ObjectSettings::of(&c).to_config();
        assert_eq!(back.timeout, c.timeout);
        assert_eq!(back.absolute_timeout, c.absolute_timeout);
        assert_eq!(back.lock_lease, c.lock_lease);
        assert_eq!(ObjectSettings::of(&back), ObjectSettings::of(&c));
    }

    #[test]
    fn a_version_names_one_set_of_settings() {
        let a = ObjectSettings::of(&Config::default());
        let mut b = a.clone();
        assert_eq!(a.version(), b.version());
        b.max_data_bytes -= 1;
        assert_ne!(a.version(), b.version());
        b = a.clone();
        b.key_prefix.push('x');
        assert_ne!(a.version(), b.version());
        let text = serde_json::to_string(&SettingsRef::full(&a)).unwrap();
        let back: SettingsRef = serde_json::from_str(&text).unwrap();
        assert_eq!(back.v, a.version());
        assert_eq!(back.full.as_ref(), Some(&a));
        let bare = SettingsRef { v: 7, full: None };
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"v":7}"#);
    }
}
