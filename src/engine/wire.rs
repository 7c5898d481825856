//! The messages between a worker and its session's `SessionLock` object, shared by caller
//! (`platform::do_backend`) and callee (`lock_object`), so neither imports the
//! other's types. Every call carries a call id (`rid`): a call retried after a transport
//! failure is recognised, so it never queues behind its own lease or applies twice.

use serde::{Deserialize, Serialize};

use super::record::Change;
use super::{Error, Lease, StoreParams};

/// `POST /begin`: lock (optionally) and load.
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

/// `POST /apply`: apply a change, fenced by `lease`, then release if asked.
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

/// `POST /release` and `POST /sweep` carry this.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdMsg {
    /// Session id.
    pub sid: String,
    /// The caller's settings.
    pub params: StoreParams,
    /// Lease to release (for `/release`).
    pub lease: Option<Lease>,
    /// For `/release` without a lease: release whatever the call with this id was granted or
    /// is waiting for (its `begin` failed on the way back, so the caller never saw the lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// Answer of `/sweep`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SweepAnswer {
    /// True if the session was expired (or absent) and is now deleted everywhere.
    pub deleted: bool,
}

/// An error on the wire between the worker and the object: the kind, plus the sizes for
/// `too_large`, so the worker rebuilds the same [`Error`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// `lock_timeout`, `lease_lost`, `gone`, `too_large`, `config` or `backend`.
    pub error: String,
    /// For `too_large`: the encoded size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// For `too_large`: the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl WireError {
    /// The wire form of `e` (details of backend errors stay in the object's log).
    pub fn from_error(e: &Error) -> Self {
        let (kind, size, limit) = match e {
            Error::LockTimeout => ("lock_timeout", None, None),
            Error::LeaseLost => ("lease_lost", None, None),
            Error::Gone => ("gone", None, None),
            Error::TooLarge { size, limit } => ("too_large", Some(*size), Some(*limit)),
            Error::TooDeep { depth, limit } => ("too_deep", Some(*depth), Some(*limit)),
            Error::Config(_) => ("config", None, None),
            _ => ("backend", None, None),
        };
        WireError {
            error: kind.into(),
            size,
            limit,
        }
    }

    /// The error the worker reports; `status` is the object's HTTP status, for the log.
    pub fn into_error(self, status: u16) -> Error {
        match self.error.as_str() {
            "lock_timeout" => Error::LockTimeout,
            "lease_lost" => Error::LeaseLost,
            "gone" => Error::Gone,
            "too_large" => Error::TooLarge {
                size: self.size.unwrap_or(0),
                limit: self.limit.unwrap_or(0),
            },
            "too_deep" => Error::TooDeep {
                depth: self.size.unwrap_or(0),
                limit: self.limit.unwrap_or(0),
            },
            other => Error::Backend(format!("lock object answered {status} ({other})")),
        }
    }
}
