//! The messages between a worker and its session's `SessionLock` object, shared by caller
//! ([`crate::engine::worker::remote`]) and callee ([`crate::engine::object`]), so neither imports the other's types.
//! Each call is one operation ([`Op`]) with a JSON message; every answer is a [`Reply`]. Every call carries a call id (`rid`): a call retried after a transport
//! failure is recognised, so it never queues behind its own lease or applies twice.

use serde::{Deserialize, Serialize};

use crate::engine::object::user::Binding;
use crate::engine::session::record::Change;
use crate::engine::{Error, Lease, StoreParams};

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
    pub params: StoreParams,
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
    pub params: StoreParams,
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
    pub params: StoreParams,
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
    pub params: StoreParams,
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
    pub params: StoreParams,
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
    /// `lock_timeout`, `lease_lost`, `gone`, `too_large`, `too_deep`, `config`, `internal` or
    /// `backend`.
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
            other => Error::Backend(format!("lock object failed ({other})")),
        }
    }
}
