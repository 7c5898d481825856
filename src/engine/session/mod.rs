//! The per-request session: CherryPy's dict API over a JSON object, with change tracking so a
//! request that changes nothing writes nothing, and a [`CommitPlan`] that says exactly which
//! storage changes and which cookie the request ends with.

pub mod cookies;
pub mod edits;
pub mod id;
pub mod patch;
mod plan;
pub mod record;
pub mod signing;

use std::time::Duration;

use serde_json::{Map, Value};

use crate::engine::object::user::{check_client, check_user, Binding};
use crate::engine::session::edits::{apply_edit, check_value_depth, compose, Edit, Edits};
use crate::engine::session::record::Record;
use crate::engine::session::signing::Verified;
use crate::engine::{Error, SessionId};

pub use plan::{CommitPlan, CookieAction, Lifecycle, PendingLifecycle, StoreOp};

/// The reserved data key holding flash values (see [`Session::flash`]).
pub const FLASH_KEY: &str = "_flash";

/// How the session ended, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Live,
    Destroyed,
}

/// A loaded session.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    original_id: Option<SessionId>,
    data: Map<String, Value>,
    edits: Edits,
    record: Option<Record>,
    missing: bool,
    regenerated: bool,
    resign: bool,
    ending: Ending,
    /// A new idle timeout for this session set in this request ("remember me"), in ms.
    timeout_ms: Option<u64>,
    /// The user the session is bound to (from its record, or bound in this request).
    user: Option<String>,
    /// A binding made in this request (`set_user`), saved at commit.
    binding: Option<Binding>,
}

impl Session {
    /// Opens the session for a request. `presented` is the verified cookie (if any) and
    /// `stored` what the backend holds for it. An unknown, expired or absent session gets a
    /// brand-new id (fixation rejection); the presented id is kept only as `original_id`.
    pub fn open(
        presented: Option<Verified>,
        stored: Option<Record>,
        now: u64,
    ) -> Result<Self, Error> {
        match (presented, stored) {
            (Some(v), Some(rec)) if !rec.is_expired(now) => Ok(Session {
                user: rec.user.clone(),
                id: v.id,
                original_id: None,
                data: rec.data().clone(),
                edits: Edits::new(),
                record: Some(rec),
                missing: false,
                regenerated: false,
                resign: v.needs_resign,
                ending: Ending::Live,
                timeout_ms: None,
                binding: None,
            }),
            (presented, _) => {
                let mut s = Session::fresh()?;
                s.missing = presented.is_some();
                s.original_id = presented.map(|v| v.id);
                Ok(s)
            }
        }
    }

    /// A new, empty session with a fresh id. Costs no storage until data is set.
    pub fn fresh() -> Result<Self, Error> {
        Ok(Session {
            id: SessionId::generate()?,
            original_id: None,
            data: Map::new(),
            edits: Edits::new(),
            record: None,
            missing: false,
            regenerated: false,
            resign: false,
            ending: Ending::Live,
            timeout_ms: None,
            user: None,
            binding: None,
        })
    }

    /// The current id (after regenerate, the new one).
    pub fn id(&self) -> &SessionId {
        &self.id
    }
    /// The id the client presented when it was rejected, or the id before regenerate.
    pub fn original_id(&self) -> Option<&SessionId> {
        self.original_id.as_ref()
    }
    /// True when the client presented an id that was unknown or expired.
    pub fn missing(&self) -> bool {
        self.missing
    }
    /// True when this request started the session (nothing stored before it).
    pub fn is_new(&self) -> bool {
        self.record.is_none()
    }
    /// True after [`Session::regenerate`].
    pub fn regenerated(&self) -> bool {
        self.regenerated
    }
    /// True after [`Session::destroy`] or [`Session::expire`].
    pub fn is_destroyed(&self) -> bool {
        self.ending == Ending::Destroyed
    }
    /// True when the cookie was verified by an older secret and should be re-signed.
    pub fn needs_resign(&self) -> bool {
        self.resign
    }
    /// True when data changed in this request.
    pub fn is_modified(&self) -> bool {
        !self.edits.is_empty() || self.timeout_changed() || self.binding.is_some()
    }

    /// Binds the session to `user` ("log out everywhere" can then find it), with an optional
    /// short description of the client ("Firefox on Linux"). Usually done at login, with
    /// [`Session::regenerate`]. Both are validated ([`crate::engine::object::user::check_user`]).
    pub fn set_user(&mut self, user: &str, client: Option<&str>) -> Result<(), Error> {
        check_user(user)?;
        if let Some(c) = client {
            check_client(c)?;
        }
        self.user = Some(user.to_owned());
        self.binding = Some(Binding {
            user: user.to_owned(),
            client: client.map(str::to_owned),
            replaces: None,
        });
        Ok(())
    }

    /// The user the session is bound to, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The binding made in this request, if any (carried over when a commit is retried).
    pub fn binding(&self) -> Option<&Binding> {
        self.binding.as_ref()
    }

    /// Carries a binding over to a reloaded session (a regenerate retried under a new lock).
    pub fn rebind(&mut self, binding: Option<Binding>) {
        if let Some(b) = binding {
            self.user = Some(b.user.clone());
            self.binding = Some(b);
        }
    }

    /// "Remember me": this session's own idle timeout, instead of `SESSION_TIMEOUT`, from now
    /// on (also across regenerate); it makes the cookie persistent, with a Max-Age that follows
    /// it. The absolute timeout, when set, still caps the session. At least 1 s, at most 400
    /// days, like every duration.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        if timeout < Duration::from_secs(1) || timeout > crate::engine::config::MAX_COOKIE_AGE {
            return Err(Error::BadPatch(
                "a session timeout must be between 1s and 400d".into(),
            ));
        }
        self.timeout_ms = Some(timeout.as_millis() as u64);
        Ok(())
    }

    /// The session's own idle timeout in ms, if it has one (set now or stored).
    pub fn timeout_override(&self) -> Option<u64> {
        self.timeout_ms
            .or_else(|| self.record.as_ref().and_then(|r| r.timeout_ms))
    }

    fn timeout_changed(&self) -> bool {
        self.timeout_ms.is_some()
            && self.timeout_ms != self.record.as_ref().and_then(|r| r.timeout_ms)
    }
    /// The data as a JSON object.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }
    /// The data as JSON text: the stored record's own text while this request has changed
    /// nothing (a proxy read passes it on without writing it out), else written now.
    pub fn data_json(&self) -> std::borrow::Cow<'_, str> {
        match &self.record {
            Some(r) if self.edits.is_empty() => r.data_json(),
            _ => std::borrow::Cow::Owned(
                serde_json::to_string(&self.data).expect("a JSON map always serializes"),
            ),
        }
    }
    /// The stored record this session was loaded from.
    pub fn record(&self) -> Option<&Record> {
        self.record.as_ref()
    }

    // ---- the dict API ----

    /// `session[key]`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }
    /// `session[key] = value`: `key` now holds exactly `value` (an object replaces the old
    /// object whole; nested nulls are kept as values). `set(key, null)` is `delete(key)`, so
    /// the key is absent both in this request and after a reload. Setting the value the key
    /// already has is not a change. A value nested deeper than
    /// [`MAX_DEPTH`](crate::engine::session::edits::MAX_DEPTH) is refused and changes nothing.
    pub fn set(&mut self, key: impl Into<String>, value: Value) -> Result<(), Error> {
        let key = key.into();
        if value.is_null() {
            self.delete(&key);
            return Ok(());
        }
        check_value_depth(&value)?;
        if self.data.get(&key) != Some(&value) || self.edits.contains_key(&key) {
            self.record_edit(&key, Edit::Set(value));
        }
        Ok(())
    }
    /// `del session[key]`; true if the key was there.
    pub fn delete(&mut self, key: &str) -> bool {
        self.pop(key).is_some()
    }
    /// `session.pop(key)`.
    pub fn pop(&mut self, key: &str) -> Option<Value> {
        let v = self.data.get(key).cloned();
        if v.is_some() || self.edits.contains_key(key) {
            self.record_edit(key, Edit::Delete);
        }
        v
    }
    /// Applies `edit` to the local data and folds it into this request's edits.
    fn record_edit(&mut self, key: &str, edit: Edit) {
        apply_edit(&mut self.data, key, &edit);
        let prev = self.edits.remove(key);
        self.edits.insert(key.to_owned(), compose(prev, edit));
    }
    /// `key in session`.
    pub fn contains(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }
    /// `session.keys()`.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.data.keys()
    }
    /// `session.values()`.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.data.values()
    }
    /// `session.items()`.
    pub fn items(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.data.iter()
    }
    /// `len(session)`.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// `not session`.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// `session.clear()`.
    pub fn clear(&mut self) {
        let keys: Vec<String> = self.data.keys().cloned().collect();
        for k in keys {
            self.record_edit(&k, Edit::Delete);
        }
    }
    /// `session.update(other)`.
    pub fn update(&mut self, other: Map<String, Value>) -> Result<(), Error> {
        other.values().try_for_each(check_value_depth)?;
        for (k, v) in other {
            self.set(k, v)?;
        }
        Ok(())
    }
    /// `session.setdefault(key, default)`.
    pub fn setdefault(&mut self, key: &str, default: Value) -> Result<Option<&Value>, Error> {
        if !self.data.contains_key(key) {
            self.set(key, default)?;
        }
        Ok(self.data.get(key))
    }

    /// Applies an RFC 7386 merge patch (it must be a JSON object) to the data. What is
    /// stored at commit is exactly the RFC 7386 result, nested nulls and nested objects
    /// included: object members are kept as patches (so a concurrent change to a sibling
    /// nested key survives), other members replace, `null` members delete. A patch nested
    /// deeper than [`MAX_DEPTH`](crate::engine::session::edits::MAX_DEPTH) is refused whole.
    pub fn apply_patch(&mut self, patch: &Value) -> Result<(), Error> {
        let Value::Object(p) = patch else {
            return Err(Error::BadPatch(
                "a session patch must be a JSON object".into(),
            ));
        };
        p.values().try_for_each(check_value_depth)?;
        for (k, v) in p {
            match v {
                Value::Null => {
                    self.pop(k);
                }
                Value::Object(_) => {
                    let mut after = self.data.get(k).cloned().unwrap_or(Value::Null);
                    crate::engine::session::patch::merge_patch(&mut after, v);
                    if self.data.get(k) != Some(&after) || self.edits.contains_key(k) {
                        self.record_edit(k, Edit::Merge(vec![v.clone()]));
                    }
                }
                other => self.set(k.clone(), other.clone())?,
            }
        }
        Ok(())
    }

    /// Flash: stores `value` under `key` until it is read once with [`Session::take_flash`]
    /// (the message shown after a redirect, as React Router and hono-sessions offer). Flashes
    /// live in the data under the reserved key [`FLASH_KEY`], so they travel and merge like
    /// any other change, and the proxy's origin can read and set them too.
    pub fn flash(&mut self, key: &str, value: Value) -> Result<(), Error> {
        if value.is_null() {
            return Ok(());
        }
        self.apply_patch(&serde_json::json!({ FLASH_KEY: { key: value } }))
    }

    /// Reads a flash value and removes it (read once). The flash map itself goes when empty.
    pub fn take_flash(&mut self, key: &str) -> Option<Value> {
        let v = self.data.get(FLASH_KEY)?.get(key)?.clone();
        let last = self.data[FLASH_KEY]
            .as_object()
            .is_some_and(|m| m.len() == 1);
        if last {
            self.pop(FLASH_KEY);
        } else {
            let _ = self.apply_patch(&serde_json::json!({ FLASH_KEY: { key: null } }));
        }
        Some(v)
    }

    /// Re-applies edits made before a reload (explicit locking's acquire) on top of the
    /// freshly loaded data.
    pub fn replay(&mut self, edits: Edits) {
        for (k, e) in edits {
            self.record_edit(&k, e);
        }
    }

    /// New id, same data; the old id is deleted at commit, in the same plan that creates the
    /// new one (call after login to defeat fixation).
    pub fn regenerate(&mut self) -> Result<(), Error> {
        let new_id = SessionId::generate()?;
        let old = std::mem::replace(&mut self.id, new_id);
        if self.original_id.is_none() && self.record.is_some() {
            self.original_id = Some(old);
        }
        self.regenerated = true;
        Ok(())
    }

    /// Ends the session: data deleted server-side and the cookie expired.
    pub fn destroy(&mut self) {
        self.clear();
        self.ending = Ending::Destroyed;
    }

    /// CherryPy's `expire()`. It only expired the cookie there; here it also deletes the data,
    /// because a still-valid server-side session behind a "logged out" cookie can be replayed.
    pub fn expire(&mut self) {
        self.destroy();
    }

    /// This request's edits, one per touched key.
    pub fn edits(&self) -> &Edits {
        &self.edits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::session::record::Change;
    use crate::engine::{Config, Signer};
    use serde_json::json;

    const K1: &str = "0123456789abcdef0123456789abcdef";
    const K2: &str = "fedcba9876543210fedcba9876543210";

    fn cfg() -> Config {
        Config {
            timeout: Duration::from_secs(100),
            ..Config::default()
        }
    }

    fn stored(data: Value, now: u64) -> Record {
        Record::new(&cfg(), data.as_object().unwrap().clone(), now)
    }

    fn existing(data: Value) -> Session {
        let id = SessionId::generate().unwrap();
        Session::open(
            Some(Verified {
                id,
                needs_resign: false,
            }),
            Some(stored(data, 0)),
            1,
        )
        .unwrap()
    }

    #[test]
    fn dict_api() {
        let mut s = Session::fresh().unwrap();
        assert!(s.is_empty() && !s.is_modified());
        s.set("a", json!(1)).unwrap();
        s.set("b", json!("two")).unwrap();
        assert_eq!(s.get("a"), Some(&json!(1)));
        assert!(s.contains("b") && !s.contains("c"));
        assert_eq!(s.len(), 2);
        assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(
            s.values().cloned().collect::<Vec<_>>(),
            vec![json!(1), json!("two")]
        );
        assert_eq!(s.items().count(), 2);
        assert_eq!(s.setdefault("a", json!(9)).unwrap(), Some(&json!(1)));
        assert_eq!(s.setdefault("c", json!(3)).unwrap(), Some(&json!(3)));
        assert_eq!(s.pop("c"), Some(json!(3)));
        assert_eq!(s.pop("c"), None);
        assert!(s.delete("b") && !s.delete("b"));
        s.update(json!({"x": 1, "y": 2}).as_object().unwrap().clone())
            .unwrap();
        assert_eq!(s.len(), 3);
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn setting_an_equal_value_is_not_a_change() {
        let mut s = existing(json!({"a": 1}));
        s.set("a", json!(1)).unwrap();
        assert!(!s.is_modified());
        s.set("a", json!(2)).unwrap();
        assert_eq!(s.edits(), &Edits::from([("a".into(), Edit::Set(json!(2)))]));
    }

    #[test]
    fn unknown_or_expired_ids_get_a_new_id() {
        let id = SessionId::generate().unwrap();
        let v = Verified {
            id: id.clone(),
            needs_resign: false,
        };
        let s = Session::open(Some(v.clone()), None, 0).unwrap();
        assert_ne!(s.id(), &id);
        assert!(s.missing() && s.is_new());
        assert_eq!(s.original_id(), Some(&id));
        let old = stored(json!({"a":1}), 0);
        let s = Session::open(Some(v), Some(old), 100_000).unwrap();
        assert_ne!(s.id(), &id);
        assert!(s.is_empty() && s.missing());
        let s = Session::open(None, None, 0).unwrap();
        assert!(!s.missing() && s.is_new());
    }

    #[test]
    fn anonymous_session_without_data_writes_nothing_and_sets_no_cookie() {
        let signer = Signer::new(&[K1]).unwrap();
        let s = Session::fresh().unwrap();
        let plan = s.plan(&cfg(), &signer, 0).unwrap();
        assert!(plan.ops.is_empty());
        assert_eq!(plan.cookie, CookieAction::Keep);
    }

    #[test]
    fn a_gone_id_without_new_data_keeps_the_cookie() {
        // e.g. a request queued behind a login's regenerate: it must not replace the new cookie
        let signer = Signer::new(&[K1]).unwrap();
        let gone = Verified {
            id: SessionId::generate().unwrap(),
            needs_resign: false,
        };
        let s = Session::open(Some(gone.clone()), None, 0).unwrap();
        let plan = s.plan(&cfg(), &signer, 0).unwrap();
        assert!(plan.ops.is_empty());
        assert_eq!(plan.cookie, CookieAction::Keep);
        let mut s = Session::open(Some(gone), None, 0).unwrap();
        s.set("k", json!(1)).unwrap();
        assert!(matches!(
            s.plan(&cfg(), &signer, 0).unwrap().cookie,
            CookieAction::Set { .. }
        ));
    }

    #[test]
    fn new_session_with_data_is_created() {
        let signer = Signer::new(&[K1]).unwrap();
        let mut s = Session::fresh().unwrap();
        s.set("n", json!(1)).unwrap();
        let plan = s.plan(&cfg(), &signer, 0).unwrap();
        assert!(matches!(&plan.ops[..], [(id, Change::Create { .. })] if id == s.id()));
        let CookieAction::Set { value, max_age, .. } = plan.cookie else {
            panic!()
        };
        assert_eq!(signer.verify(&value).unwrap().id, *s.id());
        assert_eq!(max_age, Duration::from_secs(100));
    }

    #[test]
    fn unchanged_session_refreshes_only_when_due() {
        let signer = Signer::new(&[K1]).unwrap();
        let c = cfg(); // share 0.1 of 100 s = 10 s
        let s = existing(json!({"a": 1}));
        let early = s.plan(&c, &signer, 9_999).unwrap();
        assert!(early.ops.is_empty());
        assert_eq!(early.cookie, CookieAction::Keep);
        let due = s.plan(&c, &signer, 10_000).unwrap();
        assert!(
            matches!(&due.ops[..], [(_, Change::Update { edits, accessed: 10_000, timeout_ms: None, .. })] if edits.is_empty())
        );
        assert!(matches!(due.cookie, CookieAction::Set { .. }));
    }

    #[test]
    fn changed_session_writes_only_its_changes() {
        let signer = Signer::new(&[K1]).unwrap();
        let mut s = existing(json!({"a": 1, "b": 2}));
        s.set("a", json!(5)).unwrap();
        s.delete("b");
        let plan = s.plan(&cfg(), &signer, 50).unwrap();
        let [(_, Change::Update { edits, .. })] = &plan.ops[..] else {
            panic!("{plan:?}")
        };
        let want = Edits::from([
            ("a".into(), Edit::Set(json!(5))),
            ("b".into(), Edit::Delete),
        ]);
        assert_eq!(edits, &want);
    }

    #[test]
    fn regenerate_moves_data_and_kills_the_old_id() {
        let signer = Signer::new(&[K1]).unwrap();
        let mut s = existing(json!({"user": "ann"}));
        let old = s.id().clone();
        s.regenerate().unwrap();
        assert_ne!(s.id(), &old);
        assert_eq!(s.get("user"), Some(&json!("ann")));
        let plan = s.plan(&cfg(), &signer, 5).unwrap();
        match &plan.ops[..] {
            [(new, Change::Create { record, .. }), (gone, Change::Delete)] => {
                assert_eq!(new, s.id());
                assert_eq!(gone, &old);
                assert_eq!(record.data().get("user"), Some(&json!("ann")));
                assert_eq!(record.created, 0, "absolute lifetime keeps counting");
            }
            other => panic!("{other:?}"),
        }
        let CookieAction::Set { value, .. } = plan.cookie else {
            panic!()
        };
        assert_eq!(signer.verify(&value).unwrap().id, *s.id());
    }

    #[test]
    fn destroy_deletes_and_removes_the_cookie() {
        let signer = Signer::new(&[K1]).unwrap();
        let mut s = existing(json!({"a": 1}));
        let id = s.id().clone();
        s.destroy();
        let plan = s.plan(&cfg(), &signer, 5).unwrap();
        assert_eq!(plan.ops, vec![(id, Change::Delete)]);
        assert_eq!(plan.cookie, CookieAction::Remove);
        let mut fresh = Session::fresh().unwrap();
        fresh.expire();
        let plan = fresh.plan(&cfg(), &signer, 5).unwrap();
        assert!(plan.ops.is_empty());
        assert_eq!(plan.cookie, CookieAction::Remove);
    }

    #[test]
    fn a_cookie_signed_with_an_old_key_is_resigned() {
        let old = Signer::new(&[K2]).unwrap();
        let now = Signer::new(&[K1, K2]).unwrap();
        let id = SessionId::generate().unwrap();
        let v = now.verify(&old.sign(&id)).unwrap();
        let s = Session::open(Some(v), Some(stored(json!({"a":1}), 0)), 1).unwrap();
        let plan = s.plan(&cfg(), &now, 2).unwrap();
        assert!(plan.ops.is_empty());
        let CookieAction::Set { value, .. } = plan.cookie else {
            panic!("{plan:?}")
        };
        assert_eq!(value, now.sign(&id));
    }

    #[test]
    fn patches_apply_and_non_objects_are_refused() {
        let mut s = existing(json!({"a": {"x": 1}, "b": 2}));
        s.apply_patch(&json!({"a": {"y": 2}, "b": null, "c": 3}))
            .unwrap();
        assert_eq!(
            Value::Object(s.data().clone()),
            json!({"a": {"x": 1, "y": 2}, "c": 3})
        );
        let want = Edits::from([
            ("a".into(), Edit::Merge(vec![json!({"y": 2})])),
            ("b".into(), Edit::Delete),
            ("c".into(), Edit::Set(json!(3))),
        ]);
        assert_eq!(s.edits(), &want);
        assert!(s.apply_patch(&json!([1])).is_err());
        assert!(s.apply_patch(&json!("x")).is_err());
    }

    #[test]
    fn remember_me_sets_the_sessions_own_timeout_and_a_persistent_cookie() {
        let signer = Signer::new(&[K1]).unwrap();
        let c = Config {
            cookie: crate::engine::CookieConfig {
                persistent: false,
                ..Default::default()
            },
            ..cfg() // idle timeout 100 s, refresh share 0.1
        };
        let day = Duration::from_secs(86_400);
        // a new session
        let mut s = Session::fresh().unwrap();
        s.set("user", json!("ann")).unwrap();
        s.set_timeout(30 * day).unwrap();
        let plan = s.plan(&c, &signer, 0).unwrap();
        let [(_, Change::Create { record, .. })] = &plan.ops[..] else {
            panic!("{plan:?}")
        };
        assert_eq!(record.timeout_ms, Some(30 * 86_400_000));
        assert_eq!(record.expires, 30 * 86_400_000);
        assert!(
            matches!(plan.cookie, CookieAction::Set { persistent: true, max_age, .. } if max_age == 30 * day)
        );
        // loaded later: the refresh follows its own timeout (share 0.1 of 30 days = 3 days)
        let v = Verified {
            id: s.id().clone(),
            needs_resign: false,
        };
        let loaded = Session::open(Some(v.clone()), Some(record.clone()), 1_000).unwrap();
        assert!(loaded.plan(&c, &signer, 86_400_000).unwrap().ops.is_empty());
        let due = loaded.plan(&c, &signer, 3 * 86_400_000).unwrap();
        assert!(matches!(
            due.cookie,
            CookieAction::Set {
                persistent: true,
                ..
            }
        ));
        let [(
            _,
            Change::Update {
                timeout_ms: None, ..
            },
        )] = &due.ops[..]
        else {
            panic!("{due:?}")
        };
        // set on an existing session: an update that carries it, applied by the record rules
        let mut plain = existing(json!({"a": 1}));
        assert!(!plain.is_modified());
        plain.set_timeout(7 * day).unwrap();
        assert!(plain.is_modified());
        let plan = plain.plan(&c, &signer, 5).unwrap();
        let [(
            _,
            op @ Change::Update {
                timeout_ms: Some(ms),
                ..
            },
        )] = &plan.ops[..]
        else {
            panic!("{plan:?}")
        };
        assert_eq!(*ms, 7 * 86_400_000);
        let stored = plain.record().unwrap();
        let crate::engine::session::record::Applied::Stored(after) =
            crate::engine::session::record::apply_op(&c, Some(stored), op, 5).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (after.timeout_ms, after.expires),
            (Some(7 * 86_400_000), 5 + 7 * 86_400_000)
        );
        // regenerate keeps it; the absolute timeout still caps it
        let capped = Config {
            absolute_timeout: Some(Duration::from_secs(3_600)),
            ..c.clone()
        };
        let mut r = Session::open(Some(v), Some(after), 10).unwrap();
        r.regenerate().unwrap();
        let plan = r.plan(&capped, &signer, 10).unwrap();
        let (_, Change::Create { record: moved, .. }) = &plan.ops[0] else {
            panic!("{plan:?}")
        };
        assert_eq!(moved.timeout_ms, Some(7 * 86_400_000));
        assert_eq!(moved.expires, 3_600_000, "created at 0, absolute 1 h");
        // bounds
        assert!(Session::fresh()
            .unwrap()
            .set_timeout(Duration::from_millis(500))
            .is_err());
        assert!(Session::fresh().unwrap().set_timeout(401 * day).is_err());
    }

    #[test]
    fn lifecycle_events_name_ids_by_tag_only() {
        let signer = Signer::new(&[K1]).unwrap();
        let c = cfg();
        let mut fresh = Session::fresh().unwrap();
        assert_eq!(
            fresh.lifecycle(&CookieAction::Keep),
            None,
            "empty: nothing stored"
        );
        fresh.set("a", json!(1)).unwrap();
        let plan = fresh.plan(&c, &signer, 0).unwrap();
        assert_eq!(
            fresh.lifecycle(&plan.cookie),
            Some(Lifecycle::Created {
                id: fresh.id().log_tag()
            })
        );
        let mut s = existing(json!({"a": 1}));
        let old = s.id().clone();
        assert_eq!(s.lifecycle(&CookieAction::Keep), None);
        s.regenerate().unwrap();
        let plan = s.plan(&c, &signer, 0).unwrap();
        assert_eq!(
            s.lifecycle(&plan.cookie),
            Some(Lifecycle::Regenerated {
                id: s.id().log_tag(),
                previous: old.log_tag()
            })
        );
        s.destroy();
        assert_eq!(
            s.lifecycle(&CookieAction::Remove),
            Some(Lifecycle::Destroyed { id: old.log_tag() })
        );
    }

    #[test]
    fn flash_values_are_read_once() {
        let mut s = existing(json!({"a": 1}));
        s.flash("notice", json!("saved")).unwrap();
        s.flash("count", json!(2)).unwrap();
        assert_eq!(s.take_flash("notice"), Some(json!("saved")));
        assert_eq!(s.take_flash("notice"), None);
        assert_eq!(s.get(FLASH_KEY), Some(&json!({"count": 2})));
        assert_eq!(s.take_flash("count"), Some(json!(2)));
        assert_eq!(s.get(FLASH_KEY), None, "the flash map goes when empty");
        assert_eq!(Value::Object(s.data().clone()), json!({"a": 1}));
    }

    #[test]
    fn oversized_data_is_a_clear_error() {
        let signer = Signer::new(&[K1]).unwrap();
        let c = Config {
            max_data_bytes: 32,
            ..cfg()
        };
        let mut s = existing(json!({}));
        s.set("big", json!("x".repeat(64))).unwrap();
        assert!(matches!(
            s.plan(&c, &signer, 1),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn the_data_text_is_the_stored_one_until_the_request_changes_it() {
        let text =
            r#"{"v":1,"data":{"a": 1},"created":0,"accessed":0,"expires":9999999,"version":1}"#;
        let rec = Record::decode(text).unwrap();
        let v = Verified {
            id: SessionId::generate().unwrap(),
            needs_resign: false,
        };
        let mut s = Session::open(Some(v), Some(rec), 1).unwrap();
        assert_eq!(s.data_json(), r#"{"a": 1}"#);
        s.set("b", json!(2)).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&s.data_json()).unwrap(),
            json!({"a": 1, "b": 2})
        );
        s.delete("b");
        s.delete("a");
        assert_eq!(s.data_json(), "{}");
    }

    #[test]
    fn unchanged_data_is_not_measured_again() {
        let signer = Signer::new(&[K1]).unwrap();
        // stored under a larger limit: a read that changes nothing is not refused (the
        // object measures it again if a refresh stores it)...
        let c = Config {
            max_data_bytes: 8,
            ..cfg()
        };
        let s = existing(json!({"k": "a value over eight bytes"}));
        let plan = s.plan(&c, &signer, 1).unwrap();
        assert_eq!(plan.cookie, CookieAction::Keep);
        // ...while any change to it is, and so is a regenerate, which moves it
        let mut changed = s.clone();
        changed.set("n", json!(1)).unwrap();
        assert!(matches!(
            changed.plan(&c, &signer, 1),
            Err(Error::TooLarge { .. })
        ));
        let mut moved = s.clone();
        moved.regenerate().unwrap();
        assert!(matches!(
            moved.plan(&c, &signer, 1),
            Err(Error::TooLarge { .. })
        ));
    }
}
