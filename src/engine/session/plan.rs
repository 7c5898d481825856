//! The commit decision: what a request's end does to storage and to the cookie
//! ([`Session::plan`]), computed without I/O, and the lifecycle events it reports.

use std::time::Duration;

use crate::engine::object::user::Binding;
use crate::engine::session::record::{check_size, expiry, Change, Record};
use crate::engine::session::{Ending, Session};
use crate::engine::{Config, Error, SessionId, Signer};

/// One storage change on one session id.
pub type StoreOp = (SessionId, Change);

/// What the response does with the session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieAction {
    /// Leave the client's cookie as it is.
    Keep,
    /// Set the cookie to this signed value with this Max-Age.
    Set {
        /// Signed cookie value.
        value: String,
        /// Remaining lifetime.
        max_age: Duration,
        /// Send Max-Age (a persistent cookie): `SESSION_COOKIE_PERSISTENT`, or a session with
        /// its own timeout ("remember me").
        persistent: bool,
    },
    /// Expire the cookie.
    Remove,
}

/// Everything a request's end must do, computed without I/O.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitPlan {
    /// Storage changes, in order (a regenerate creates the new id before deleting the old).
    pub ops: Vec<StoreOp>,
    /// The cookie outcome.
    pub cookie: CookieAction,
}

/// A change in a session's life that a request committed, for audit hooks. Ids appear only as
/// their log tag (a hash), never raw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Lifecycle {
    /// A new session was stored.
    Created {
        /// The new id's tag.
        id: String,
    },
    /// The session moved to a new id (login).
    Regenerated {
        /// The new id's tag.
        id: String,
        /// The old id's tag.
        previous: String,
    },
    /// The session was destroyed (logout).
    Destroyed {
        /// The id's tag.
        id: String,
    },
}

/// What a commit of a session is about to do to its life, taken before the commit consumes
/// the session: the committed id of a new or regenerated session is only known from the cookie
/// the commit ends with (a regenerate retried under a fresh lock gets another id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingLifecycle {
    /// A new session with data.
    Created,
    /// A stored session moving away from `previous`.
    Regenerated {
        /// The id being retired.
        previous: SessionId,
    },
    /// A stored session being destroyed.
    Destroyed {
        /// The id being destroyed.
        id: SessionId,
    },
}

impl PendingLifecycle {
    /// The event, given the cookie of a successful commit.
    pub fn resolve(self, cookie: &CookieAction) -> Option<Lifecycle> {
        // our own signed value `<id>.<tag>`: the id needs no second HMAC here
        let committed = || match cookie {
            CookieAction::Set { value, .. } => {
                SessionId::parse(value.split_once('.')?.0).map(|id| id.log_tag())
            }
            _ => None,
        };
        match self {
            PendingLifecycle::Destroyed { id } => Some(Lifecycle::Destroyed { id: id.log_tag() }),
            PendingLifecycle::Regenerated { previous } => Some(Lifecycle::Regenerated {
                id: committed()?,
                previous: previous.log_tag(),
            }),
            // a new session without data sets no cookie, so there is no committed id
            PendingLifecycle::Created => Some(Lifecycle::Created { id: committed()? }),
        }
    }
}

impl Session {
    /// What committing this session will do to its life (cheap: at most one id is copied).
    pub fn pending_lifecycle(&self) -> Option<PendingLifecycle> {
        match (self.ending, self.record.is_some(), self.regenerated) {
            (Ending::Destroyed, true, _) => Some(PendingLifecycle::Destroyed {
                id: self.original_id.as_ref().unwrap_or(&self.id).clone(),
            }),
            (Ending::Live, true, true) => Some(PendingLifecycle::Regenerated {
                previous: self.original_id.clone()?,
            }),
            (Ending::Live, false, _) => Some(PendingLifecycle::Created),
            _ => None,
        }
    }

    /// What committing this session did to its life, given the cookie the commit ended with.
    pub fn lifecycle(&self, cookie: &CookieAction) -> Option<Lifecycle> {
        self.pending_lifecycle()?.resolve(cookie)
    }
}

impl Session {
    /// The change that saves this request's edits so far, if they can be saved on their own:
    /// an existing, live session that was neither regenerated nor destroyed. Used to flush
    /// under the lock before an explicit release; [`Session::plan`] covers everything else.
    pub fn flush_change(&self, now: u64) -> Option<Change> {
        let plain = self.record.is_some() && !self.regenerated && self.ending == Ending::Live;
        (plain && self.is_modified()).then(|| Change::Update {
            edits: self.edits.clone(),
            accessed: now,
            timeout_ms: self.timeout_changed().then_some(self.timeout_ms).flatten(),
            bind: self.binding.clone(),
        })
    }

    /// Records that the edits so far were stored at `now` (after a flush).
    pub fn mark_flushed(&mut self, cfg: &Config, now: u64) {
        if let Some(rec) = &mut self.record {
            *rec.data_mut() = self.data.clone();
            rec.accessed = now;
            if self.timeout_ms.is_some() {
                rec.timeout_ms = self.timeout_ms;
            }
            rec.expires = expiry(cfg, rec.created, now, rec.timeout_ms);
            rec.user = self.user.clone();
        }
        self.edits.clear();
        self.binding = None;
    }

    /// Decides the request's storage changes and cookie. Nothing is written for a new session
    /// without data, nor for an unchanged one whose expiry refresh is not due yet.
    pub fn plan(&self, cfg: &Config, signer: &Signer, now: u64) -> Result<CommitPlan, Error> {
        let mut ops = Vec::new();
        if self.ending == Ending::Destroyed {
            if let Some(old) = self
                .record
                .as_ref()
                .and(self.original_id.as_ref().or(Some(&self.id)))
            {
                ops.push((old.clone(), Change::Delete));
            }
            return Ok(CommitPlan {
                ops,
                cookie: CookieAction::Remove,
            });
        }
        // Only data this request changes or moves is measured: an unchanged session's data was
        // measured when it was stored, and a refresh of it is measured again where it is
        // stored (by the record rules in its object).
        let changes_data = self.record.is_none() || self.regenerated || self.is_modified();
        if changes_data && (!self.data.is_empty() || self.binding.is_some()) {
            check_size(cfg, &self.data)?;
        }
        let own_timeout = self.timeout_override();
        let persistent = cfg.cookie.persistent || own_timeout.is_some();
        let set = |expires: u64| CookieAction::Set {
            value: signer.sign(&self.id),
            max_age: Duration::from_millis(expires.saturating_sub(now)),
            persistent,
        };
        let cookie;
        match &self.record {
            None => {
                let mut rec = Record::new(cfg, self.data.clone(), now);
                rec.timeout_ms = own_timeout;
                rec.expires = expiry(cfg, now, now, own_timeout);
                rec.user = self.user.clone();
                if !self.data.is_empty() || self.binding.is_some() {
                    cookie = set(rec.expires);
                    let bind = self.binding.clone();
                    ops.push((self.id.clone(), Change::Create { record: rec, bind }));
                } else {
                    // Nothing stored, so no cookie: an anonymous visitor's id would change on
                    // every request, and when the client's id is gone (expired, destroyed, or
                    // regenerated by a request that held the lock just before this one) a new
                    // empty session would replace the cookie a login just set.
                    cookie = CookieAction::Keep;
                }
            }
            Some(rec) if self.regenerated => {
                let mut moved = Record::new(cfg, self.data.clone(), now);
                moved.created = rec.created;
                moved.timeout_ms = own_timeout;
                moved.expires = expiry(cfg, moved.created, now, own_timeout);
                moved.user = self.user.clone();
                // the new id takes over the old one's entry in the user's index
                let bind = self.user.clone().map(|user| Binding {
                    user,
                    client: self.binding.as_ref().and_then(|b| b.client.clone()),
                    replaces: self.original_id.as_ref().map(|i| i.as_str().to_owned()),
                });
                cookie = set(moved.expires);
                ops.push((
                    self.id.clone(),
                    Change::Create {
                        record: moved,
                        bind,
                    },
                ));
                if let Some(old) = &self.original_id {
                    ops.push((old.clone(), Change::Delete));
                }
            }
            Some(rec) => {
                let timeout = own_timeout.unwrap_or(cfg.timeout.as_millis() as u64);
                let refresh_after = (timeout as f64 * cfg.refresh_share) as u64;
                let refresh_due = now.saturating_sub(rec.accessed) >= refresh_after;
                if self.is_modified() || refresh_due {
                    ops.push((
                        self.id.clone(),
                        Change::Update {
                            edits: self.edits.clone(),
                            accessed: now,
                            timeout_ms: self.timeout_changed().then_some(self.timeout_ms).flatten(),
                            bind: self.binding.clone(),
                        },
                    ));
                    let expires = expiry(cfg, rec.created, now, own_timeout);
                    cookie = if persistent || self.resign {
                        set(expires)
                    } else {
                        CookieAction::Keep
                    };
                } else if self.resign {
                    cookie = set(rec.expires);
                } else {
                    cookie = CookieAction::Keep;
                }
            }
        }
        Ok(CommitPlan { ops, cookie })
    }
}
