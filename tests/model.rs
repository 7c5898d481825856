//! Model-based property tests of the session data semantics, driven through the real request
//! path (`store::open` -> `Session` operations -> `store::commit` -> a fresh `store::open`)
//! against the in-memory backend, which applies each commit's per-key edits to the stored record.
//!
//! The reference model is a plain JSON object changed by a few lines written independently of
//! the crate (its own RFC 7386 merge, not the crate's `patch` module): `set` makes the key hold
//! exactly the value (`null` deletes it), `delete` removes the key, `apply_patch` is an RFC 7386
//! merge patch, `regenerate` keeps the data under a new id and `destroy` empties it. Small key
//! alphabets (`a`, `b`, `c`, `prefs` at the top, `x`, `y`, `z` nested) make operations collide,
//! which is where change tracking, edit composition and the backend's per-key application could
//! go wrong.
//!
//! - Locked, sequential requests: after every operation the request's view equals the model;
//!   after every commit, a fresh load through the cookie the response left equals it too, one
//!   record is stored exactly while there is a cookie, and a regenerated session's old cookie
//!   loads a new, empty session.
//! - Unlocked, interleaved requests: two or three requests open the same session, change
//!   disjoint top-level keys or disjoint nested keys of `prefs`, and commit in a random order;
//!   the stored result equals the model applying each request's operations in commit order, so
//!   no change is lost.
//!
//! A failing case is shrunk and printed as its requests and operations, in JSON.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use edge_sessions::engine::session::CookieAction;
use edge_sessions::engine::worker::memory::{MemoryBackend, SleepFuture};
use edge_sessions::engine::worker::store::{self, Opened};
use edge_sessions::{Config, Session, Signer};
use futures_util::FutureExt;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

const SECRET: &str = "model-test-secret-0123456789abcdef0123";
const TOP: [&str; 4] = ["a", "b", "c", "prefs"];
const NESTED: [&str; 3] = ["x", "y", "z"];

type Data = Map<String, Value>;

// ---- the reference model ----

/// RFC 7386 section 2, written out on its own.
fn merge(target: Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut target = match target {
        Value::Object(t) => t,
        _ => Map::new(),
    };
    for (k, v) in patch {
        let old = target.remove(k).unwrap_or(Value::Null);
        if !v.is_null() {
            target.insert(k.clone(), merge(old, v));
        }
    }
    Value::Object(target)
}

/// One operation a handler does on the session.
#[derive(Clone)]
enum Op {
    Set(&'static str, Value),
    Delete(&'static str),
    Patch(Value),
    Regenerate,
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Set(k, v) => write!(f, "set {k} = {v}"),
            Op::Delete(k) => write!(f, "delete {k}"),
            Op::Patch(p) => write!(f, "patch {p}"),
            Op::Regenerate => write!(f, "regenerate"),
        }
    }
}

/// Applies `op` to the model.
fn model_apply(model: &mut Data, op: &Op) {
    match op {
        Op::Set(k, Value::Null) | Op::Delete(k) => {
            model.remove(*k);
        }
        Op::Set(k, v) => {
            model.insert(k.to_string(), v.clone());
        }
        Op::Patch(p) => {
            let Value::Object(m) = merge(Value::Object(std::mem::take(model)), p) else {
                unreachable!("an object patch gives an object");
            };
            *model = m;
        }
        Op::Regenerate => {}
    }
}

/// Applies `op` to the session under test.
fn session_apply(s: &mut Session, op: &Op) {
    match op {
        Op::Set(k, v) => s.set(*k, v.clone()).expect("set"),
        Op::Delete(k) => {
            s.delete(k);
        }
        Op::Patch(p) => s.apply_patch(p).expect("apply_patch"),
        Op::Regenerate => s.regenerate().expect("regenerate"),
    }
}

// ---- the request path ----

/// Runs a future that must not wait: the in-memory backend never does without contention.
fn ready<F: Future>(f: F) -> F::Output {
    f.now_or_never()
        .expect("nothing waits on an uncontended in-memory backend")
}

/// A backend, its clock and the cookie signer.
struct World {
    cfg: Config,
    signer: Signer,
    clock: Rc<Cell<u64>>,
    backend: MemoryBackend,
}

impl World {
    fn new() -> Self {
        let cfg = Config::default();
        let clock = Rc::new(Cell::new(1_000_000));
        let read = clock.clone();
        let clock_fn: Rc<dyn Fn() -> u64> = Rc::new(move || read.get());
        let sleeper: Rc<dyn Fn(u64) -> SleepFuture> = Rc::new(|_| Box::pin(std::future::pending()));
        World {
            backend: MemoryBackend::new(cfg.clone(), clock_fn, sleeper),
            signer: Signer::from_list(SECRET).unwrap(),
            clock,
            cfg,
        }
    }

    /// Moves time on by a second (well within the idle timeout and the refresh interval).
    fn tick(&self) {
        self.clock.set(self.clock.get() + 1_000);
    }

    fn open(&self, cookie: Option<&str>, lock: bool) -> Opened {
        let presented = cookie.map(|c| self.signer.verify(c).expect("our own cookie verifies"));
        ready(store::open(
            &self.backend,
            presented,
            lock,
            self.clock.get(),
        ))
        .expect("open")
    }

    /// Commits and returns the cookie the client holds afterwards.
    fn commit(&self, opened: Opened, cookie: Option<String>) -> Option<String> {
        let id = opened.session.id().clone();
        let action = ready(store::commit(
            &self.backend,
            opened,
            &self.cfg,
            &self.signer,
            self.clock.get(),
        ))
        .expect("commit");
        match action {
            CookieAction::Keep => cookie,
            CookieAction::Remove => None,
            CookieAction::Set { value, .. } => {
                let v = self.signer.verify(&value).expect("a set cookie verifies");
                assert_eq!(v.id, id, "the cookie names the session's id");
                Some(value)
            }
        }
    }

    /// A fresh, unlocked load, as the next request would see it.
    fn load(&self, cookie: Option<&str>) -> Session {
        self.open(cookie, false).session
    }

    /// Stores `data` as a new session and returns its cookie.
    fn create(&self, data: &Data) -> String {
        let mut o = self.open(None, true);
        o.session.update(data.clone()).expect("update");
        self.commit(o, None)
            .expect("a session with data gets a cookie")
    }
}

// ---- generators ----

/// Any JSON value, small, with nulls, arrays and objects keyed by `NESTED` at every level.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-2i64..=2).prop_map(Value::from),
        select(vec!["", "s", "t"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            3 => object(select(NESTED.to_vec()), inner),
        ]
    })
    .boxed()
}

fn object(
    keys: impl Strategy<Value = &'static str>,
    values: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(keys, values, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()))
}

fn data_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (select(TOP.to_vec()), json()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => select(TOP.to_vec()).prop_map(Op::Delete),
        3 => object(select(TOP.to_vec()), json()).prop_map(Op::Patch),
    ]
}

/// Like [`data_op`], but mostly a patch of nested keys of `prefs`, so that requests
/// owning different nested keys often patch the same object.
fn unlocked_op() -> impl Strategy<Value = Op> {
    let nested = prop::collection::btree_map(select(NESTED.to_vec()), json(), 1..4);
    prop_oneof![
        1 => data_op(),
        2 => nested.prop_map(|m| Op::Patch(json!({ "prefs": m }))),
    ]
}

/// One locked request: its operations, then maybe `destroy`.
#[derive(Clone)]
struct Request {
    ops: Vec<Op>,
    destroy: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        l.entries(&self.ops);
        if self.destroy {
            l.entry(&format_args!("destroy"));
        }
        l.finish()
    }
}

fn request() -> impl Strategy<Value = Request> {
    let op = prop_oneof![6 => data_op(), 1 => Just(Op::Regenerate)];
    (prop::collection::vec(op, 0..5), prop::bool::weighted(0.08))
        .prop_map(|(ops, destroy)| Request { ops, destroy })
}

/// Requests that open one session together; `order` is the order they commit in.
#[derive(Debug, Clone)]
struct Round {
    requests: Vec<Vec<Op>>,
    order: Vec<usize>,
}

/// A case of the unlocked property: the stored data, then rounds of concurrent requests.
#[derive(Clone)]
struct Interleaving {
    initial: Value,
    rounds: Vec<Round>,
}

impl fmt::Debug for Interleaving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interleaving")
            .field("initial", &format_args!("{}", self.initial))
            .field("rounds", &self.rounds)
            .finish()
    }
}

/// The part of `op` that touches only slots request `me` owns, if any. A slot is a top-level
/// key, except that when `split` is true `prefs` is shared and its nested keys are the slots.
fn owned_part(op: &Op, me: usize, owner: &dyn Fn(&str) -> usize, split: bool) -> Option<Op> {
    let owns_top = |k: &str| !(split && k == "prefs") && owner(k) == me;
    match op {
        Op::Set(k, _) | Op::Delete(k) => owns_top(k).then(|| op.clone()),
        Op::Patch(Value::Object(p)) => {
            let mut kept = Map::new();
            for (k, v) in p {
                if owns_top(k) {
                    kept.insert(k.clone(), v.clone());
                } else if let (true, "prefs", Value::Object(nested)) = (split, k.as_str(), v) {
                    let mine: Map<_, _> = nested
                        .iter()
                        .filter(|(n, _)| owner(n) == me)
                        .map(|(n, v)| (n.clone(), v.clone()))
                        .collect();
                    if !mine.is_empty() {
                        kept.insert(k.clone(), Value::Object(mine));
                    }
                }
            }
            (!kept.is_empty()).then_some(Op::Patch(Value::Object(kept)))
        }
        _ => None,
    }
}

fn round() -> impl Strategy<Value = Round> {
    (2usize..=3).prop_flat_map(|n| {
        (
            prop::bool::weighted(0.75),
            prop::collection::vec(0..n, TOP.len() + NESTED.len()),
            prop::collection::vec(prop::collection::vec(unlocked_op(), 0..6), n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(|(split, owners, raw, order)| {
                let owner = |k: &str| {
                    let slot = TOP.iter().chain(&NESTED).position(|s| *s == k);
                    owners[slot.expect("a known key")]
                };
                let requests = raw
                    .iter()
                    .enumerate()
                    .map(|(me, ops)| {
                        ops.iter()
                            .filter_map(|op| owned_part(op, me, &owner, split))
                            .collect()
                    })
                    .collect();
                Round { requests, order }
            })
    })
}

fn interleaving() -> impl Strategy<Value = Interleaving> {
    let initial = object(select(TOP.to_vec()), json()).prop_map(|mut v| {
        let m = v.as_object_mut().unwrap();
        m.retain(|_, v| !v.is_null());
        m.insert("seed".into(), json!(0)); // never touched, so the session always exists
        v
    });
    (initial, prop::collection::vec(round(), 1..3))
        .prop_map(|(initial, rounds)| Interleaving { initial, rounds })
}

// ---- the properties ----

/// Fails, showing both sides as JSON, unless the session's data equals the model's.
fn check(got: &Data, model: &Data, what: fmt::Arguments) -> Result<(), TestCaseError> {
    if got != model {
        let (got, model) = (Value::Object(got.clone()), Value::Object(model.clone()));
        return Err(TestCaseError::fail(format!(
            "{what}: got {got}, model {model}"
        )));
    }
    Ok(())
}

fn run_locked(requests: &[Request]) -> Result<(), TestCaseError> {
    let w = World::new();
    let mut cookie: Option<String> = None;
    let mut model = Data::new();
    for (i, req) in requests.iter().enumerate() {
        w.tick();
        let mut o = w.open(cookie.as_deref(), true);
        prop_assert_eq!(o.session.is_new(), cookie.is_none(), "request {}", i);
        prop_assert_eq!(o.held.is_some(), cookie.is_some(), "request {}: lock", i);
        check(
            o.session.data(),
            &model,
            format_args!("request {i}: loaded"),
        )?;
        for (j, op) in req.ops.iter().enumerate() {
            session_apply(&mut o.session, op);
            model_apply(&mut model, op);
            check(
                o.session.data(),
                &model,
                format_args!("request {i}, op {j} ({op:?})"),
            )?;
        }
        let stored_before = cookie.is_some();
        if req.destroy {
            o.session.destroy();
            model.clear();
        }
        let regenerated = o.session.regenerated();
        let old_cookie = cookie.clone();
        cookie = w.commit(o, cookie);

        let stored = !req.destroy && (stored_before || !model.is_empty());
        prop_assert_eq!(cookie.is_some(), stored, "request {}: cookie", i);
        prop_assert_eq!(w.backend.len(), stored as usize, "request {}: records", i);
        let s = w.load(cookie.as_deref());
        prop_assert_eq!(s.is_new(), !stored, "request {}: reload", i);
        check(s.data(), &model, format_args!("request {i}: reloaded"))?;

        if let (true, Some(old)) = (regenerated, &old_cookie) {
            let o = w.open(Some(old), true);
            prop_assert!(o.session.is_new() && o.session.missing() && o.held.is_none());
            prop_assert!(
                o.session.is_empty(),
                "request {}: the old id loads nothing",
                i
            );
            let kept = w.commit(o, old_cookie.clone());
            prop_assert_eq!(kept, old_cookie, "an empty unknown session sets no cookie");
            prop_assert_eq!(w.backend.len(), stored as usize, "the probe stored nothing");
        }
    }
    Ok(())
}

fn run_interleaved(case: &Interleaving) -> Result<(), TestCaseError> {
    let w = World::new();
    let mut model = case.initial.as_object().unwrap().clone();
    let cookie = w.create(&model);
    for (r, round) in case.rounds.iter().enumerate() {
        w.tick();
        let mut opened: Vec<Option<Opened>> = round
            .requests
            .iter()
            .map(|_| Some(w.open(Some(&cookie), false)))
            .collect();
        for (i, ops) in round.requests.iter().enumerate() {
            let s = &mut opened[i].as_mut().unwrap().session;
            check(
                s.data(),
                &model,
                format_args!("round {r}, request {i}: loaded"),
            )?;
            let mut view = model.clone();
            for op in ops {
                session_apply(s, op);
                model_apply(&mut view, op);
            }
            check(
                s.data(),
                &view,
                format_args!("round {r}, request {i}: its own view"),
            )?;
        }
        for &i in &round.order {
            w.tick();
            let o = opened[i].take().unwrap();
            let after = w.commit(o, Some(cookie.clone()));
            prop_assert!(after.is_some(), "round {}, request {}: cookie kept", r, i);
            for op in &round.requests[i] {
                model_apply(&mut model, op);
            }
        }
        let s = w.load(Some(&cookie));
        check(
            s.data(),
            &model,
            format_args!("round {r}: stored after all commits"),
        )?;
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None, // no regression files written next to the test
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn locked_requests_match_the_model(requests in prop::collection::vec(request(), 1..8)) {
        run_locked(&requests)?;
    }

    #[test]
    fn unlocked_interleaved_requests_lose_no_change(case in interleaving()) {
        run_interleaved(&case)?;
    }
}

// ---- the regression this model guards ----

fn stored_after(initial: Value, ops: &[Op]) -> Value {
    let w = World::new();
    let cookie = w.create(initial.as_object().unwrap());
    w.tick();
    let mut o = w.open(Some(&cookie), true);
    for op in ops {
        session_apply(&mut o.session, op);
    }
    let cookie = w.commit(o, Some(cookie));
    Value::Object(w.load(cookie.as_deref()).data().clone())
}

#[test]
fn a_nested_null_in_a_patch_deletes_the_nested_key() {
    let got = stored_after(
        json!({"user": {"id": 1, "role": "admin"}}),
        &[Op::Patch(json!({"user": {"role": null}}))],
    );
    assert_eq!(got, json!({"user": {"id": 1}}));
}

#[test]
fn set_replaces_an_object_whole() {
    let got = stored_after(
        json!({"user": {"id": 1, "role": "admin"}}),
        &[Op::Set("user", json!({"id": 2}))],
    );
    assert_eq!(got, json!({"user": {"id": 2}}));
}

#[test]
fn set_to_an_empty_object_stores_it() {
    let got = stored_after(json!({"k": {"a": 1}}), &[Op::Set("k", json!({}))]);
    assert_eq!(got, json!({"k": {}}));
}

#[test]
fn concurrent_patches_to_sibling_nested_keys_both_survive() {
    let w = World::new();
    let cookie = w.create(json!({"prefs": {}}).as_object().unwrap());
    let mut first = w.open(Some(&cookie), false);
    let mut second = w.open(Some(&cookie), false);
    first
        .session
        .apply_patch(&json!({"prefs": {"a": 1}}))
        .unwrap();
    second
        .session
        .apply_patch(&json!({"prefs": {"b": 2}}))
        .unwrap();
    w.commit(first, Some(cookie.clone()));
    w.commit(second, Some(cookie.clone()));
    let got = Value::Object(w.load(Some(&cookie)).data().clone());
    assert_eq!(got, json!({"prefs": {"a": 1, "b": 2}}));
}
