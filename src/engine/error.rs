//! The one error type of the crate. Its `Display` is for logs; clients only ever see
//! [`Error::status`] and [`Error::public_message`], which never carry internals.

/// Everything that can go wrong while serving a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is missing or malformed; the message names the variable.
    #[error("{0}")]
    Config(String),
    /// The library was called the wrong way (a programmer's mistake: the session used before
    /// `load()`, a lock acquired with locking off, a value that is not JSON). The message
    /// tells the developer what to change; the client sees an opaque 500.
    #[error("session library misuse: {0}")]
    Usage(String),
    /// A bug in this crate's own layers (a message between them that does not parse). Not a
    /// storage failure: retrying does not help. The string is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
    /// The lock on this session was not granted within the configured wait.
    #[error("timed out waiting for the session lock")]
    LockTimeout,
    /// The caller's lease ended (expired, or the lock object restarted) so its write was
    /// refused: a newer holder may already have written.
    #[error("session lock lease lost")]
    LeaseLost,
    /// The session no longer exists (destroyed or expired while this request was in flight).
    #[error("session is gone")]
    Gone,
    /// Encoded session data would exceed the configured budget.
    #[error("session data too large: {size} bytes, limit {limit}")]
    TooLarge {
        /// Size of the encoded data.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Session data or a change would be nested deeper than
    /// [`MAX_DEPTH`](crate::engine::session::edits::MAX_DEPTH).
    #[error("session data too deeply nested: depth {depth}, limit {limit}")]
    TooDeep {
        /// Nesting depth of the data or value.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A merge patch (from the origin or a caller) was not valid base64url JSON object.
    #[error("invalid session patch: {0}")]
    BadPatch(String),
    /// The origin could not be reached.
    #[error("origin unreachable: {0}")]
    Origin(String),
    /// A storage or lock backend failed. The string is for logs only.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
}

/// JSON that does not parse or serialize on the way to or from storage or another object is a
/// backend failure (an opaque 503). Where it means a bug in our own layers instead, the caller
/// maps it to [`Error::Internal`] itself.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Backend(format!("json: {e}"))
    }
}

impl Error {
    /// The HTTP status a client sees for this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Internal(_) | Error::Random => 500,
            Error::LockTimeout | Error::Backend(_) => 503,
            Error::LeaseLost | Error::Gone => 409,
            Error::TooLarge { .. } | Error::TooDeep { .. } => 507,
            Error::BadPatch(_) | Error::Origin(_) => 502,
        }
    }

    /// A fixed, opaque body for the client: it names the kind of failure and nothing else.
    pub fn public_message(&self) -> &'static str {
        match self {
            Error::Config(_) => "session service misconfigured",
            Error::Usage(_) | Error::Internal(_) | Error::Random => "internal error",
            Error::LockTimeout => "session busy, try again",
            Error::Backend(_) => "session storage unavailable",
            Error::LeaseLost => "session changed by a newer request; this change was not saved",
            Error::Gone => "session ended; this change was not saved",
            Error::TooLarge { .. } => "session data too large; nothing was saved",
            Error::TooDeep { .. } => "session data too deeply nested; nothing was saved",
            Error::BadPatch(_) => "bad session update from upstream; nothing was saved",
            Error::Origin(_) => "upstream unreachable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_rendering_never_leaks_internals() {
        let secret = "kv://internal/host:1234 stack trace";
        for e in [
            Error::Backend(secret.into()),
            Error::Origin(secret.into()),
            Error::BadPatch(secret.into()),
            Error::Config(secret.into()),
            Error::Usage(secret.into()),
            Error::Internal(secret.into()),
        ] {
            assert!(!e.public_message().contains("internal/host"));
            assert!(e.status() >= 500);
        }
        assert_eq!(Error::LockTimeout.status(), 503);
        assert_eq!(Error::LeaseLost.status(), 409);
    }
}
