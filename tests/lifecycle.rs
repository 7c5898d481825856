//! The request lifecycle ([`store::open`] / [`store::commit`]): the same behaviours the
//! end-to-end suite checks on the Durable Object backend. Each test runs twice, on the
//! in-memory backend and on the engine's remote backend over real lock objects
//! (tests/support: the object's own lock, record cache and await order, and the settings
//! protocol), so the two agree on every rule here; the fault tests that need the memory
//! backend's switches run on it alone.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use edge_sessions::engine::session::signing::Verified;
use edge_sessions::engine::session::CookieAction;
use edge_sessions::engine::worker::memory::{MemoryBackend, SleepFuture};
use edge_sessions::engine::worker::request::RequestSession;
use edge_sessions::engine::worker::store::{self, Backend};
use edge_sessions::{Config, Error, SessionId, Signer};
use serde_json::json;
use tokio::time::{sleep, Instant};

mod support;
use support::local::{Inspect, Objects};

const SECRET: &str = "lifecycle-secret-0123456789abcdef0123";

thread_local! {
    /// Each test runs on its own thread with tokio's paused clock; this is its time zero.
    static T0: Instant = Instant::now();
}

/// The test's clock in Unix-like milliseconds, shared by the backend and the lifecycle calls.
fn now() -> u64 {
    support::world::T0 + T0.with(|t0| t0.elapsed().as_millis() as u64)
}

fn memory(cfg: &Config) -> Rc<MemoryBackend> {
    now(); // the clock starts with the test
    let clock: Rc<dyn Fn() -> u64> = Rc::new(now);
    let sleeper: Rc<dyn Fn(u64) -> SleepFuture> =
        Rc::new(|ms| Box::pin(sleep(Duration::from_millis(ms))));
    Rc::new(MemoryBackend::new(cfg.clone(), clock, sleeper))
}

/// The engine's remote backend over real lock objects, on the same clock.
fn objects(cfg: &Config) -> Rc<Objects> {
    now(); // the clock starts with the test, as the world's does
    Rc::new(Objects::new(cfg))
}

async fn create(
    b: &impl Backend,
    cfg: &Config,
    signer: &Signer,
    data: serde_json::Value,
) -> Verified {
    let mut o = store::open(b, None, true, now()).await.unwrap();
    o.session.update(data.as_object().unwrap().clone()).unwrap();
    let id = o.session.id().clone();
    let c = store::commit(b, o, cfg, signer, now()).await.unwrap();
    assert!(matches!(c, CookieAction::Set { .. }));
    Verified {
        id,
        needs_resign: false,
    }
}

async fn concurrent_increments_with_the_lock_lose_nothing<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 0})).await;
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for i in 0..50u64 {
        let (b, v, cfg, signer) = (b.clone(), v.clone(), cfg.clone(), signer.clone());
        handles.push(local.spawn_local(async move {
            let mut o = store::open(&*b, Some(v), true, now()).await.unwrap();
            let n = o.session.get("n").unwrap().as_u64().unwrap();
            sleep(Duration::from_millis(i % 7)).await; // the "origin" takes a while
            o.session.set("n", json!(n + 1)).unwrap();
            store::commit(&*b, o, &cfg, &signer, now()).await.unwrap();
        }));
    }
    // join every task: a panic (a failed assertion) inside one fails the test
    local
        .run_until(async {
            for h in handles {
                h.await.expect("task panicked");
            }
        })
        .await;
    assert_eq!(b.stored(&v.id).unwrap().data()["n"], json!(50));
}

async fn without_the_lock_different_keys_still_merge<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"seed": 1})).await;
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for i in 0..20u64 {
        let (b, v, cfg, signer) = (b.clone(), v.clone(), cfg.clone(), signer.clone());
        handles.push(local.spawn_local(async move {
            let mut o = store::open(&*b, Some(v), false, now()).await.unwrap();
            sleep(Duration::from_millis(20 - i)).await;
            o.session.set(format!("k{i}"), json!(i)).unwrap();
            store::commit(&*b, o, &cfg, &signer, now()).await.unwrap();
        }));
    }
    // join every task: a panic (a failed assertion) inside one fails the test
    local
        .run_until(async {
            for h in handles {
                h.await.expect("task panicked");
            }
        })
        .await;
    let data = b.stored(&v.id).unwrap().into_data();
    assert_eq!(data.len(), 21);
}

async fn unknown_ids_are_replaced_and_anonymous_requests_write_nothing<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let unknown = Verified {
        id: SessionId::generate().unwrap(),
        needs_resign: false,
    };
    let o = store::open(&*b, Some(unknown.clone()), true, now())
        .await
        .unwrap();
    assert_ne!(o.session.id(), &unknown.id);
    assert!(o.session.missing());
    assert!(o.held.is_none(), "the unknown id's lock is not kept");
    store::commit(&*b, o, &cfg, &signer, now()).await.unwrap();
    assert!(b.is_empty());
}

async fn regenerate_and_destroy<B: Inspect + 'static>(backend: fn(&Config) -> Rc<B>) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"user": "ann"})).await;
    let mut o = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    o.session.regenerate().unwrap();
    let new_id = o.session.id().clone();
    store::commit(&*b, o, &cfg, &signer, now()).await.unwrap();
    assert!(b.stored(&v.id).is_none(), "old id dead at once");
    assert_eq!(b.stored(&new_id).unwrap().data()["user"], json!("ann"));

    let nv = Verified {
        id: new_id.clone(),
        needs_resign: false,
    };
    let mut o = store::open(&*b, Some(nv), true, now()).await.unwrap();
    o.session.destroy();
    assert_eq!(
        store::commit(&*b, o, &cfg, &signer, now()).await.unwrap(),
        CookieAction::Remove
    );
    assert!(b.is_empty());
}

#[tokio::test(start_paused = true)]
async fn storage_failure_is_an_error_never_a_fresh_session() {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = memory(&cfg);
    let v = create(&b, &cfg, &signer, json!({"keep": true})).await;
    *b.fail_with.borrow_mut() = Some("kv exploded at 10.0.0.1".into());
    let err = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend(_)));
    assert_eq!(err.status(), 503);
    assert!(!err.public_message().contains("10.0.0.1"));
    *b.fail_with.borrow_mut() = None;
    assert_eq!(b.stored(&v.id).unwrap().data()["keep"], json!(true));
}

async fn a_failed_commit_still_releases_the_lock<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config {
        max_data_bytes: 64,
        lock_wait: Duration::from_millis(100),
        ..Config::default()
    };
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1})).await;
    let mut o = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    o.session.set("big", json!("x".repeat(200))).unwrap();
    assert!(matches!(
        store::commit(&*b, o, &cfg, &signer, now()).await,
        Err(Error::TooLarge { .. })
    ));
    // the lock is free again: a new request gets it well within its 100 ms wait
    let o = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    assert!(o.held.is_some());
    assert_eq!(
        b.stored(&v.id).unwrap().data().len(),
        1,
        "nothing of the oversized change was stored"
    );
}

async fn a_lock_wait_timeout_is_a_clear_503<B: Inspect + 'static>(backend: fn(&Config) -> Rc<B>) {
    let cfg = Config {
        lock_wait: Duration::from_millis(200),
        ..Config::default()
    };
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1})).await;
    let _held = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    let err = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout));
    assert_eq!(err.status(), 503);
}

async fn explicit_locking_acquire_and_release<B: Inspect + 'static>(backend: fn(&Config) -> Rc<B>) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1})).await;
    let begun = b.begin(&v.id, true).await.unwrap();
    let lease = begun.lease.unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    {
        let (b, v, order) = (b.clone(), v.clone(), order.clone());
        handles.push(local.spawn_local(async move {
            let second = b.begin(&v.id, true).await.unwrap();
            order.borrow_mut().push("second acquired");
            b.release(&v.id, &second.lease.unwrap()).await.unwrap();
        }));
    }
    {
        let (b, v, order) = (b.clone(), v.clone(), order.clone());
        handles.push(local.spawn_local(async move {
            sleep(Duration::from_millis(50)).await;
            order.borrow_mut().push("first released");
            b.release(&v.id, &lease).await.unwrap();
        }));
    }
    // join every task: a panic (a failed assertion) inside one fails the test
    local
        .run_until(async {
            for h in handles {
                h.await.expect("task panicked");
            }
        })
        .await;
    assert_eq!(*order.borrow(), vec!["first released", "second acquired"]);
}

/// Counts backend calls, to prove laziness.
struct Counting<B> {
    inner: Rc<B>,
    calls: RefCell<usize>,
}

impl<B: Backend> Backend for Counting<B> {
    async fn begin(
        &self,
        id: &SessionId,
        lock: bool,
    ) -> Result<edge_sessions::engine::worker::store::Begun, Error> {
        *self.calls.borrow_mut() += 1;
        self.inner.begin(id, lock).await
    }
    async fn apply(
        &self,
        id: &SessionId,
        change: &edge_sessions::engine::session::record::Change,
        lease: Option<&edge_sessions::Lease>,
        release: bool,
    ) -> Result<(), Error> {
        *self.calls.borrow_mut() += 1;
        self.inner.apply(id, change, lease, release).await
    }
    async fn release(&self, id: &SessionId, lease: &edge_sessions::Lease) -> Result<(), Error> {
        *self.calls.borrow_mut() += 1;
        self.inner.release(id, lease).await
    }
}

async fn an_untouched_session_costs_no_storage_and_keeps_the_cookie<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1})).await;
    let counting = Counting {
        inner: b.clone(),
        calls: RefCell::new(0),
    };
    let rs = RequestSession::new(Some(v), true);
    let (action, held) = rs.finish(&counting, &cfg, &signer, now()).await.unwrap();
    assert_eq!(action, CookieAction::Keep);
    assert!(held.is_none());
    assert_eq!(*counting.calls.borrow(), 0);
}

async fn explicit_release_saves_under_the_lock<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config {
        locking: edge_sessions::LockingMode::Explicit,
        ..Config::default()
    };
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 0})).await;
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for i in 0..20u64 {
        let (b, v, cfg, signer) = (b.clone(), v.clone(), cfg.clone(), signer.clone());
        handles.push(local.spawn_local(async move {
            let mut rs = RequestSession::new(Some(v), false);
            rs.acquire(&*b, now()).await.unwrap();
            assert!(rs.holds_lock());
            let s = rs.load(&*b, now()).await.unwrap();
            let n = s.get("n").unwrap().as_u64().unwrap();
            sleep(Duration::from_millis(i % 3)).await;
            s.set("n", json!(n + 1)).unwrap();
            rs.release(&*b, &cfg, now()).await.unwrap();
            assert!(!rs.holds_lock());
            // nothing left to save: the release flushed it
            let (_, held) = rs.finish(&*b, &cfg, &signer, now()).await.unwrap();
            assert!(held.is_none());
        }));
    }
    // join every task: a panic (a failed assertion) inside one fails the test
    local
        .run_until(async {
            for h in handles {
                h.await.expect("task panicked");
            }
        })
        .await;
    assert_eq!(b.stored(&v.id).unwrap().data()["n"], json!(20));
}

async fn acquire_keeps_earlier_edits_on_top_of_the_fresh_record<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1, "b": 1})).await;
    let mut rs = RequestSession::new(Some(v.clone()), false);
    rs.load(&*b, now())
        .await
        .unwrap()
        .set("a", json!(2))
        .unwrap();
    // someone else changes b meanwhile
    let mut other = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    other.session.set("b", json!(9)).unwrap();
    store::commit(&*b, other, &cfg, &signer, now())
        .await
        .unwrap();
    rs.acquire(&*b, now()).await.unwrap();
    let s = rs.loaded().unwrap();
    assert_eq!(s.get("a"), Some(&json!(2)));
    assert_eq!(s.get("b"), Some(&json!(9)));
    rs.finish(&*b, &cfg, &signer, now()).await.unwrap();
    assert_eq!(
        b.stored(&v.id).unwrap().into_data(),
        json!({"a": 2, "b": 9}).as_object().unwrap().clone()
    );
}

async fn explicit_acquire_after_regenerate_or_destroy_is_refused<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"a": 1})).await;
    for destroy in [false, true] {
        let mut rs = RequestSession::new(Some(v.clone()), false);
        let s = rs.load(&*b, now()).await.unwrap();
        if destroy {
            s.destroy();
        } else {
            s.regenerate().unwrap();
        }
        let err = rs.acquire(&*b, now()).await.unwrap_err();
        assert!(
            err.to_string().contains("before regenerate() or destroy()"),
            "{err}"
        );
        rs.abandon(&*b).await;
    }
    assert_eq!(b.stored(&v.id).unwrap().data()["a"], json!(1));
}

async fn a_refused_flush_keeps_the_final_commit_fenced<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = Config {
        lock_lease: Duration::from_millis(100),
        ..Config::default()
    };
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 0})).await;
    let mut stale = RequestSession::new(Some(v.clone()), false);
    stale.acquire(&*b, now()).await.unwrap();
    stale.loaded().unwrap().set("n", json!(1)).unwrap();
    sleep(Duration::from_millis(150)).await; // lease gone; a newer holder writes
    let mut newer = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    newer.session.set("n", json!(10)).unwrap();
    store::commit(&*b, newer, &cfg, &signer, now())
        .await
        .unwrap();
    assert!(matches!(
        stale.release(&*b, &cfg, now()).await,
        Err(Error::LeaseLost)
    ));
    assert!(matches!(
        stale.finish(&*b, &cfg, &signer, now()).await,
        Err(Error::LeaseLost)
    ));
    assert_eq!(b.stored(&v.id).unwrap().data()["n"], json!(10));
}

/// A config whose leases run out quickly and whose expiry refresh is due at once.
fn short_lease() -> Config {
    Config {
        lock_lease: Duration::from_millis(100),
        refresh_share: 0.0,
        ..Config::default()
    }
}

async fn a_read_only_request_that_outlives_its_lease_still_answers<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = short_lease();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 1})).await;
    let slow = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    sleep(Duration::from_millis(150)).await; // the lease is gone; the refresh would be refused
    let before = b.stored(&v.id).unwrap();
    let cookie = store::commit(&*b, slow, &cfg, &signer, now())
        .await
        .unwrap();
    assert_eq!(
        cookie,
        CookieAction::Keep,
        "the skipped refresh sets no cookie"
    );
    assert_eq!(b.stored(&v.id).unwrap(), before, "nothing written");
    // and the lock is free
    let next = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    assert!(next.held.is_some());
}

async fn a_destroy_whose_lease_was_lost_still_destroys<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = short_lease();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"user": "ann"})).await;
    let mut logout = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    sleep(Duration::from_millis(150)).await;
    let mut newer = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    newer.session.set("seen", json!(true)).unwrap();
    store::commit(&*b, newer, &cfg, &signer, now())
        .await
        .unwrap();
    logout.session.destroy();
    let cookie = store::commit(&*b, logout, &cfg, &signer, now())
        .await
        .unwrap();
    assert_eq!(cookie, CookieAction::Remove);
    assert!(b.stored(&v.id).is_none(), "logout wins over the lost lease");
}

async fn a_regenerate_whose_lease_was_lost_retries_under_a_fresh_lock<B: Inspect + 'static>(
    backend: fn(&Config) -> Rc<B>,
) {
    let cfg = short_lease();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = backend(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 1})).await;
    let mut login = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    login.session.set("user", json!("ann")).unwrap();
    login.session.regenerate().unwrap();
    sleep(Duration::from_millis(150)).await;
    let mut newer = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    newer.session.set("n", json!(10)).unwrap();
    store::commit(&*b, newer, &cfg, &signer, now())
        .await
        .unwrap();
    let cookie = store::commit(&*b, login, &cfg, &signer, now())
        .await
        .unwrap();
    let CookieAction::Set { value, .. } = cookie else {
        panic!("{cookie:?}")
    };
    let new_id = signer.verify(&value).unwrap().id;
    assert_ne!(new_id, v.id);
    assert!(b.stored(&v.id).is_none(), "the old id is dead");
    assert_eq!(
        serde_json::Value::Object(b.stored(&new_id).unwrap().into_data()),
        json!({"n": 10, "user": "ann"}),
        "the newer holder's write and the login's edit both survive"
    );
    assert_eq!(b.len(), 1, "no orphan record from the first attempt");
}

#[tokio::test(start_paused = true)]
async fn a_write_lost_on_the_way_still_releases_the_lock() {
    let cfg = short_lease();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = memory(&cfg);
    let v = create(&b, &cfg, &signer, json!({"n": 1})).await;
    let mut o = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    o.session.set("n", json!(2)).unwrap();
    b.lose_applies.set(1); // the write (which carries the release) never reaches the store
    assert!(store::commit(&*b, o, &cfg, &signer, now()).await.is_err());
    let asked = now();
    let mut again = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    assert_eq!(
        now(),
        asked,
        "granted at once, not after the lost lease ran out"
    );
    again.session.set("n", json!(3)).unwrap();
    store::commit(&*b, again, &cfg, &signer, now())
        .await
        .unwrap();
    assert_eq!(b.stored(&v.id).unwrap().data()["n"], json!(3));
}

#[tokio::test(start_paused = true)]
async fn a_regenerate_that_cannot_delete_the_old_id_leaves_only_the_old_session() {
    let cfg = Config::default();
    let signer = Signer::from_list(SECRET).unwrap();
    let b = memory(&cfg);
    let v = create(&b, &cfg, &signer, json!({"user": "ann"})).await;
    let mut o = store::open(&*b, Some(v.clone()), true, now())
        .await
        .unwrap();
    o.session.regenerate().unwrap();
    let new_id = o.session.id().clone();
    // the new record is created, then the old id's delete never arrives
    b.lose_after.set(1);
    b.lose_applies.set(1);
    assert!(store::commit(&*b, o, &cfg, &signer, now()).await.is_err());
    assert!(
        b.stored(&v.id).is_some(),
        "the old session still works (the request failed)"
    );
    assert!(
        b.stored(&new_id).is_none(),
        "no second live copy under the new id"
    );
    assert_eq!(b.len(), 1);
}

/// Each test above, on both backends: `<name>::on_memory` and `<name>::on_objects`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(start_paused = true)]
            async fn on_memory() {
                super::$name(super::memory).await
            }
            #[tokio::test(start_paused = true)]
            async fn on_objects() {
                super::$name(super::objects).await
            }
        }
    )*};
}

on_both!(
    concurrent_increments_with_the_lock_lose_nothing,
    without_the_lock_different_keys_still_merge,
    unknown_ids_are_replaced_and_anonymous_requests_write_nothing,
    regenerate_and_destroy,
    a_failed_commit_still_releases_the_lock,
    a_lock_wait_timeout_is_a_clear_503,
    explicit_locking_acquire_and_release,
    an_untouched_session_costs_no_storage_and_keeps_the_cookie,
    explicit_release_saves_under_the_lock,
    acquire_keeps_earlier_edits_on_top_of_the_fresh_record,
    explicit_acquire_after_regenerate_or_destroy_is_refused,
    a_refused_flush_keeps_the_final_commit_fenced,
    a_read_only_request_that_outlives_its_lease_still_answers,
    a_destroy_whose_lease_was_lost_still_destroys,
    a_regenerate_whose_lease_was_lost_retries_under_a_fresh_lock,
);
