//! Behaviour of the platform-free engine that the other suites leave unchecked, found by
//! mutation testing (`cargo mutants --file 'src/engine/**'`): each test pins down a rule a
//! surviving mutant broke, through the public API only.
use std::rc::Rc;
use std::time::Duration;

use edge_sessions::engine::session::record::{Change, Record};
use edge_sessions::engine::session::signing::Verified;
use edge_sessions::engine::session::CookieAction;
use edge_sessions::engine::worker::memory::{MemoryBackend, SleepFuture};
use edge_sessions::engine::worker::store::{self, Backend};
use edge_sessions::{Config, Error, Session, SessionId, Signer};
use serde_json::{json, Map, Value};

const SECRET: &str = "behaviour-secret-0123456789abcdef-0123";

fn map(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn signer() -> Signer {
    Signer::from_list(SECRET).unwrap()
}

fn cfg() -> Config {
    Config {
        timeout: Duration::from_secs(100),
        ..Config::default()
    }
}

/// A session loaded from a live record holding `data`, created at 0 and opened at 1.
fn existing(data: Value) -> Session {
    let v = Verified {
        id: SessionId::generate().unwrap(),
        needs_resign: false,
    };
    Session::open(Some(v), Some(Record::new(&cfg(), map(data), 0)), 1).unwrap()
}

/// A memory backend on a fixed clock `t` (ms) whose lock never waits: a held lock is a
/// `LockTimeout` at once.
fn backend(cfg: &Config, t: u64) -> MemoryBackend {
    let clock: Rc<dyn Fn() -> u64> = Rc::new(move || t);
    let sleeper: Rc<dyn Fn(u64) -> SleepFuture> = Rc::new(|_| Box::pin(async {}));
    let cfg = Config {
        lock_wait: Duration::ZERO,
        ..cfg.clone()
    };
    MemoryBackend::new(cfg, clock, sleeper)
}

// ---- session.rs ----

#[test]
fn regenerating_twice_still_deletes_the_id_the_client_had() {
    let mut s = existing(json!({"user": "ann"}));
    let first = s.id().clone();
    s.regenerate().unwrap();
    s.regenerate().unwrap();
    assert_eq!(s.original_id(), Some(&first));
    let plan = s.plan(&cfg(), &signer(), 5).unwrap();
    assert_eq!(plan.ops.len(), 2);
    assert_eq!(&plan.ops[1], &(first, Change::Delete));
}

#[test]
fn regenerating_a_session_never_stored_has_nothing_to_delete() {
    let mut s = Session::fresh().unwrap();
    s.set("k", json!(1)).unwrap();
    s.regenerate().unwrap();
    assert!(s.regenerated());
    assert_eq!(s.original_id(), None);
    let plan = s.plan(&cfg(), &signer(), 5).unwrap();
    assert!(matches!(&plan.ops[..], [(id, Change::Create { .. })] if id == s.id()));
}

#[test]
fn a_regenerated_then_destroyed_session_deletes_the_old_id() {
    let mut s = existing(json!({"a": 1}));
    let old = s.id().clone();
    s.regenerate().unwrap();
    s.destroy();
    let plan = s.plan(&cfg(), &signer(), 5).unwrap();
    assert_eq!(plan.ops, vec![(old, Change::Delete)]);
    assert_eq!(plan.cookie, CookieAction::Remove);
}

#[test]
fn a_new_session_over_the_size_budget_is_refused() {
    let c = Config {
        max_data_bytes: 32,
        ..cfg()
    };
    let mut s = Session::fresh().unwrap();
    s.set("big", json!("x".repeat(64))).unwrap();
    assert!(matches!(
        s.plan(&c, &signer(), 1),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn flush_change_only_for_a_live_stored_modified_session() {
    let mut s = existing(json!({"a": 1}));
    assert_eq!(s.flush_change(7), None, "unmodified");
    s.set("a", json!(2)).unwrap();
    assert_eq!(
        s.flush_change(7),
        Some(Change::Update {
            edits: s.edits().clone(),
            accessed: 7,
            timeout_ms: None,
            bind: None,
        })
    );
    let mut fresh = Session::fresh().unwrap();
    fresh.set("a", json!(1)).unwrap();
    assert_eq!(fresh.flush_change(7), None, "never stored");
    let mut regen = existing(json!({"a": 1}));
    regen.set("a", json!(2)).unwrap();
    regen.regenerate().unwrap();
    assert_eq!(regen.flush_change(7), None, "regenerated");
    let mut gone = existing(json!({"a": 1}));
    gone.destroy();
    assert!(gone.is_modified());
    assert_eq!(gone.flush_change(7), None, "destroyed");
}

#[test]
fn mark_flushed_updates_the_record_and_clears_the_edits() {
    let c = cfg();
    let mut s = existing(json!({"a": 1}));
    s.set("a", json!(2)).unwrap();
    s.mark_flushed(&c, 5_000);
    assert!(!s.is_modified());
    let rec = s.record().unwrap();
    assert_eq!(rec.data(), &map(json!({"a": 2})));
    assert_eq!(rec.accessed, 5_000);
    assert_eq!(rec.expires, 105_000);
    assert_eq!(rec.created, 0);
}

// ---- cookies.rs ----

#[test]
fn for_action_maps_each_cookie_action_to_its_set_cookie() {
    use edge_sessions::engine::session::cookies::{for_action, removal_cookie, session_cookie};
    use edge_sessions::CookieConfig;
    let ck = CookieConfig::default();
    assert_eq!(for_action(&ck, CookieAction::Keep, "/"), None);
    let set = CookieAction::Set {
        value: "v.t".into(),
        max_age: Duration::from_secs(60),
        persistent: true,
    };
    assert_eq!(
        for_action(&ck, set, "/"),
        Some(session_cookie(
            &ck,
            "v.t".into(),
            Duration::from_secs(60),
            "/"
        ))
    );
    // the action's own persistence wins over the configured one ("remember me")
    let browser = CookieConfig {
        persistent: false,
        ..CookieConfig::default()
    };
    let remembered = CookieAction::Set {
        value: "v.t".into(),
        max_age: Duration::from_secs(60),
        persistent: true,
    };
    let got = for_action(&browser, remembered, "/").unwrap();
    assert!(got.contains("Max-Age=60"), "{got}");
    let plain = CookieAction::Set {
        value: "v.t".into(),
        max_age: Duration::from_secs(60),
        persistent: false,
    };
    let got = for_action(&ck, plain, "/").unwrap();
    assert!(!got.contains("Max-Age"), "{got}");
    let got = for_action(&ck, CookieAction::Remove, "/").unwrap();
    assert_eq!(got, removal_cookie(&ck, "/"));
    assert!(got.contains("Max-Age=0"));
}

// ---- store.rs ----

#[tokio::test]
async fn an_unknown_id_is_unlocked_at_once_and_a_known_one_stays_locked() {
    let c = Config::default();
    let b = backend(&c, 1_000);
    let unknown = Verified {
        id: SessionId::generate().unwrap(),
        needs_resign: false,
    };
    let o = store::open(&b, Some(unknown.clone()), true, 1_000)
        .await
        .unwrap();
    assert!(o.session.is_new() && o.held.is_none());
    // the presented id's lock is free again: a second locked open does not wait
    let again = b.begin(&unknown.id, true).await.unwrap();
    assert!(again.lease.is_some());
    let mut o = store::open(&b, None, true, 1_000).await.unwrap();
    o.session.set("k", json!(1)).unwrap();
    let id = o.session.id().clone();
    store::commit(&b, o, &c, &signer(), 1_000).await.unwrap();
    let known = Verified {
        id: id.clone(),
        needs_resign: false,
    };
    let o = store::open(&b, Some(known), true, 1_000).await.unwrap();
    assert_eq!(o.held.as_ref().map(|(h, _)| h), Some(&id));
}

// ---- edits.rs / record.rs ----

/// `{"k": {"n": {"n": ... 0}}}` with the data object `levels` deep.
fn nested_data(levels: usize) -> Map<String, Value> {
    let mut v = json!(0);
    for _ in 0..levels {
        v = json!({ "n": v });
    }
    map(v)
}

#[test]
fn records_nested_too_deep_are_refused_on_decode_and_on_store() {
    use edge_sessions::engine::session::edits::{check_data_depth, MAX_DEPTH};
    use edge_sessions::engine::session::record::apply_op;
    assert!(check_data_depth(&nested_data(MAX_DEPTH)).is_ok());
    assert!(matches!(
        check_data_depth(&nested_data(MAX_DEPTH + 1)),
        Err(Error::TooDeep { .. })
    ));
    let c = Config {
        max_data_bytes: 6000,
        ..cfg()
    };
    let deep = Record::new(&c, nested_data(MAX_DEPTH + 1), 0);
    assert!(Record::decode(&deep.encode()).is_err());
    let ok = Record::new(&c, nested_data(MAX_DEPTH), 0);
    assert_eq!(Record::decode(&ok.encode()).unwrap(), ok);
    let create = Change::Create {
        record: deep,
        bind: None,
    };
    assert!(matches!(
        apply_op(&c, None, &create, 1),
        Err(Error::TooDeep { .. })
    ));
}

// ---- handoff.rs ----

#[test]
fn an_origin_secret_of_exactly_32_bytes_is_accepted() {
    use edge_sessions::engine::proxy::handoff::HandoffSigner;
    let s32 = "o".repeat(32);
    assert!(HandoffSigner::from_secrets(Some(&s32), SECRET).is_ok());
    let e = HandoffSigner::from_secrets(Some(&s32[1..]), SECRET)
        .err()
        .unwrap();
    assert!(e.to_string().contains("31 bytes"), "{e}");
}

fn handoff() -> edge_sessions::engine::proxy::handoff::Handoff<'static> {
    edge_sessions::engine::proxy::handoff::Handoff {
        method: "GET",
        target: "/",
        id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        data: "e30",
        new: "",
    }
}

#[test]
fn handoff_clock_skew_allows_exactly_five_seconds_ahead() {
    use edge_sessions::engine::proxy::handoff::{HandoffSigner, Refusal};
    let s = HandoffSigner::from_secrets(None, SECRET).unwrap();
    let now = 1_800_000_000;
    let ahead5 = s.sign(now + 5, &handoff());
    assert_eq!(s.verify(&ahead5, &handoff(), now, 60), Ok(()));
    let ahead6 = s.sign(now + 6, &handoff());
    assert_eq!(s.verify(&ahead6, &handoff(), now, 60), Err(Refusal::Stale));
}

#[test]
fn handoff_signature_headers_must_be_exactly_digits_and_64_hex() {
    use edge_sessions::engine::proxy::handoff::{HandoffSigner, Refusal};
    let s = HandoffSigner::from_secrets(None, SECRET).unwrap();
    let now = 1_800_000_000;
    let sig = s.sign(now, &handoff());
    let (_, v1) = sig.split_once(',').unwrap();
    let malformed = [
        // a sign in front of the time: u64 parsing would take it
        format!("t=+{now},{v1}"),
        // 13 digits: parses as a u64, but is longer than allowed
        format!("t=0{now}00,{v1}"),
        // a longer tag whose first 64 digits are the right ones
        format!("{sig}00"),
    ];
    for bad in malformed {
        assert_eq!(
            s.verify(&bad, &handoff(), now, 60),
            Err(Refusal::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn handoff_times_of_twelve_digits_are_well_formed() {
    use edge_sessions::engine::proxy::handoff::HandoffSigner;
    let s = HandoffSigner::from_secrets(None, SECRET).unwrap();
    let t = 123_456_789_012;
    let sig = s.sign(t, &handoff());
    assert_eq!(s.verify(&sig, &handoff(), t, 60), Ok(()));
}

// ---- lock.rs ----

fn fixed_clock() -> u64 {
    1_000
}

fn never(_ms: u64) -> std::future::Pending<()> {
    std::future::pending()
}

#[test]
fn release_caller_drops_only_that_callers_place_in_the_queue() {
    use edge_sessions::engine::FifoLock;
    use futures_util::FutureExt as _;
    let lock = FifoLock::new(0);
    let a = lock
        .acquire_as(Some("a"), fixed_clock, 0, 60_000, never)
        .now_or_never()
        .expect("a free lock is granted at once")
        .unwrap();
    let mut b = std::pin::pin!(lock.acquire_as(Some("b"), fixed_clock, 60_000, 60_000, never));
    assert!(b.as_mut().now_or_never().is_none(), "b queues");
    let mut c = std::pin::pin!(lock.acquire_as(Some("c"), fixed_clock, 60_000, 60_000, never));
    assert!(c.as_mut().now_or_never().is_none(), "c queues");
    assert_eq!(lock.waiting(), 2);
    assert!(!lock.release_caller("b", 1_000), "b holds nothing");
    assert_eq!(lock.waiting(), 1, "only b left the queue");
    assert!(lock.release(a.token, 1_000));
    let granted = c.as_mut().now_or_never().expect("c is next").unwrap();
    assert!(granted.token > a.token);
    assert_eq!(lock.holder(), Some(granted));
}

/// A timer on a hand-driven clock: ready once the clock reaches its end.
struct Until {
    at: u64,
    clock: Rc<std::cell::Cell<u64>>,
}

impl std::future::Future for Until {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.clock.get() >= self.at {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

#[test]
fn a_waiter_that_times_out_leaves_the_others_queued() {
    use edge_sessions::engine::FifoLock;
    use futures_util::FutureExt as _;
    let t = Rc::new(std::cell::Cell::new(1_000));
    let now = || t.get();
    let sleep = |ms: u64| Until {
        at: t.get() + ms,
        clock: t.clone(),
    };
    let lock = FifoLock::new(0);
    let a = lock
        .acquire(now, 0, 60_000, sleep)
        .now_or_never()
        .unwrap()
        .unwrap();
    let mut patient = std::pin::pin!(lock.acquire(now, 60_000, 60_000, sleep));
    assert!(patient.as_mut().now_or_never().is_none());
    let mut hasty = std::pin::pin!(lock.acquire(now, 10, 60_000, sleep));
    assert!(hasty.as_mut().now_or_never().is_none());
    assert_eq!(lock.waiting(), 2);
    t.set(1_010);
    assert!(matches!(
        hasty.as_mut().now_or_never(),
        Some(Err(Error::LockTimeout))
    ));
    assert_eq!(lock.waiting(), 1, "the patient waiter keeps its place");
    assert!(lock.release(a.token, 1_010));
    let got = patient.as_mut().now_or_never().unwrap().unwrap();
    assert_eq!(lock.holder(), Some(got));
}

// ---- protocol.rs ----

#[test]
fn an_empty_action_header_is_no_action() {
    use edge_sessions::engine::proxy::protocol::{apply_origin, Action};
    assert_eq!(Action::parse("").unwrap(), None);
    assert_eq!(Action::parse("  ").unwrap(), None);
    let mut s = existing(json!({"a": 1}));
    apply_origin(&mut s, None, Some(" ")).unwrap();
    assert!(!s.regenerated() && !s.is_destroyed() && !s.is_modified());
}

#[test]
fn a_waiter_never_asks_for_a_zero_length_timer() {
    use edge_sessions::engine::FifoLock;
    use futures_util::FutureExt as _;
    let t = Rc::new(std::cell::Cell::new(1_000));
    let asked = std::cell::RefCell::new(Vec::new());
    let now = || t.get();
    let sleep = |ms: u64| {
        asked.borrow_mut().push(ms);
        Until {
            at: t.get() + ms,
            clock: t.clone(),
        }
    };
    let lock = FifoLock::new(0);
    lock.acquire(now, 0, 1_000, sleep)
        .now_or_never()
        .unwrap()
        .unwrap();
    // b asks for a lease that ends the instant it is granted
    let mut b = std::pin::pin!(lock.acquire(now, 60_000, 0, sleep));
    assert!(b.as_mut().now_or_never().is_none());
    let mut c = std::pin::pin!(lock.acquire(now, 60_000, 1_000, sleep));
    assert!(c.as_mut().now_or_never().is_none());
    t.set(2_000);
    // c's timer fires first: the expired lease passes to b, whose lease already ends now
    assert!(c.as_mut().now_or_never().is_none(), "c waits at least 1 ms");
    assert!(asked.borrow().iter().all(|&ms| ms >= 1), "{asked:?}");
    assert!(b.as_mut().now_or_never().unwrap().is_ok());
    t.set(2_001);
    assert!(c.as_mut().now_or_never().unwrap().is_ok());
}

// ---- sweep.rs ----

#[test]
fn sweep_budget_counts_extra_spending_and_needs_room_for_a_delete() {
    use edge_sessions::engine::sweep::Sweep;
    assert_eq!(Sweep::new(1, 0, "session:", None).next_list(), None);
    let mut s = Sweep::new(2, 0, "session:", None);
    assert_eq!(s.next_list(), Some(None), "one list and one delete fit");
    let mut s = Sweep::new(4, 0, "session:", None);
    s.spend(2);
    assert_eq!(s.used(), 2);
    assert_eq!(s.next_list(), Some(None));
    assert_eq!(s.used(), 3);
    assert_eq!(s.next_list(), None, "no room left for a delete");
    assert_eq!(s.stats().pages, 1);
}

#[test]
fn a_page_whose_expired_keys_exactly_fill_the_budget_is_finished() {
    use edge_sessions::engine::session::record::Meta;
    use edge_sessions::engine::sweep::{ListedKey, Page, Sweep};
    let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate().unwrap()).collect();
    let keys = ids
        .iter()
        .map(|id| ListedKey {
            name: format!("session:{}", id.as_str()),
            meta: Some(Meta { exp: 10, ver: 1 }),
        })
        .collect();
    let mut s = Sweep::new(4, 500, "session:", None);
    assert_eq!(s.next_list(), Some(None));
    let got = s.page(Page {
        keys,
        cursor: Some("c1".into()),
        complete: false,
    });
    assert_eq!(got, ids);
    assert_eq!(
        s.resume_cursor(),
        Some("c1"),
        "the next run starts after it"
    );
    assert_eq!(s.used(), 4);
    assert_eq!(s.stats().deleted, 3);
    assert_eq!(s.stats().listed, 3);
    assert_eq!(s.stats().skipped, 0);
}

// ---- request.rs ----

#[tokio::test]
async fn an_abandoned_request_releases_its_lock() {
    use edge_sessions::engine::worker::request::RequestSession;
    let c = Config::default();
    let b = backend(&c, 1_000);
    let mut o = store::open(&b, None, true, 1_000).await.unwrap();
    o.session.set("k", json!(1)).unwrap();
    let id = o.session.id().clone();
    store::commit(&b, o, &c, &signer(), 1_000).await.unwrap();
    let v = Verified {
        id: id.clone(),
        needs_resign: false,
    };
    let mut r = RequestSession::new(Some(v), true);
    assert!(!r.holds_lock(), "nothing loaded yet");
    assert!(r.loaded().is_none());
    r.load(&b, 1_000).await.unwrap().set("k", json!(2)).unwrap();
    assert!(r.holds_lock());
    assert_eq!(r.loaded().unwrap().get("k"), Some(&json!(2)));
    r.abandon(&b).await;
    let next = b.begin(&id, true).await.unwrap();
    assert!(next.lease.is_some(), "the lock is free");
    assert_eq!(next.record.unwrap().data()["k"], json!(1), "nothing saved");
}

#[tokio::test]
async fn an_unused_request_session_keeps_the_cookie_and_holds_nothing() {
    use edge_sessions::engine::worker::request::RequestSession;
    let c = Config::default();
    let b = backend(&c, 1_000);
    let r = RequestSession::new(None, true);
    let (cookie, held) = r.finish(&b, &c, &signer(), 1_000).await.unwrap();
    assert_eq!(cookie, CookieAction::Keep);
    assert!(held.is_none());
    assert!(b.is_empty());
}

#[test]
fn data_of_exactly_the_size_budget_fits() {
    use edge_sessions::engine::session::record::check_size;
    let data = map(json!({"a": "xyz"})); // {"a":"xyz"} is 11 bytes
    let at = Config {
        max_data_bytes: 11,
        ..cfg()
    };
    assert_eq!(check_size(&at, &data).unwrap(), 11);
    let under = Config {
        max_data_bytes: 10,
        ..cfg()
    };
    assert!(matches!(
        check_size(&under, &data),
        Err(Error::TooLarge {
            size: 11,
            limit: 10
        })
    ));
}

#[test]
fn session_accessors_report_the_loaded_state() {
    let id = SessionId::generate().unwrap();
    let rec = Record::new(&cfg(), map(json!({"a": 1})), 0);
    let resigned = Verified {
        id: id.clone(),
        needs_resign: true,
    };
    let s = Session::open(Some(resigned), Some(rec.clone()), 1).unwrap();
    assert!(s.needs_resign());
    assert_eq!(s.record(), Some(&rec));
    assert!(!s.is_empty());
    let current = Verified {
        id,
        needs_resign: false,
    };
    let s = Session::open(Some(current), Some(rec), 1).unwrap();
    assert!(!s.needs_resign());
    let fresh = Session::fresh().unwrap();
    assert!(fresh.is_empty() && fresh.record().is_none() && !fresh.needs_resign());
}

// ---- config.rs ----

fn from_vars(pairs: &[(&str, &str)]) -> Result<Config, Error> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

#[test]
fn every_enumerated_var_value_is_read() {
    use edge_sessions::{LockingMode, SameSite};
    for (v, want) in [
        ("implicit", LockingMode::Implicit),
        ("Early", LockingMode::Early),
        ("explicit", LockingMode::Explicit),
        ("none", LockingMode::None),
    ] {
        assert_eq!(from_vars(&[("SESSION_LOCKING", v)]).unwrap().locking, want);
    }
    for (v, want) in [
        ("lax", SameSite::Lax),
        ("strict", SameSite::Strict),
        ("None", SameSite::None),
    ] {
        let c = from_vars(&[("SESSION_COOKIE_SAMESITE", v)]).unwrap();
        assert_eq!(c.cookie.same_site, want);
    }
    for v in ["off", "none"] {
        let c = from_vars(&[("SESSION_ABSOLUTE_TIMEOUT", v)]).unwrap();
        assert_eq!(c.absolute_timeout, None);
    }
    let c = from_vars(&[("SESSION_REFRESH_SHARE", "0.5")]).unwrap();
    assert_eq!(c.refresh_share, 0.5);
    for (v, want) in [
        ("1", true),
        ("yes", true),
        ("on", true),
        ("0", false),
        ("no", false),
        ("off", false),
    ] {
        let c = from_vars(&[("SESSION_COOKIE_HTTPONLY", v)]).unwrap();
        assert_eq!(c.cookie.http_only, want, "{v}");
    }
    let c = from_vars(&[
        ("SESSION_SWEEP_BUDGET", "3"),
        ("SESSION_SWEEP_PAGE", "1000"),
    ])
    .unwrap();
    assert_eq!((c.sweep_budget, c.sweep_page), (3, 1000));
    assert!(from_vars(&[("SESSION_SWEEP_BUDGET", "2")]).is_err());
    assert!(from_vars(&[("SESSION_SWEEP_PAGE", "1001")]).is_err());
}

#[test]
fn duration_limits_are_inclusive() {
    use edge_sessions::engine::config::MAX_COOKIE_AGE;
    let ms = Duration::from_millis;
    let ok = |c: Config| c.validate().is_ok();
    let base = Config::default;
    assert!(ok(Config {
        timeout: Duration::from_secs(1),
        ..base()
    }));
    assert!(!ok(Config {
        timeout: ms(999),
        ..base()
    }));
    assert!(ok(Config {
        timeout: MAX_COOKIE_AGE,
        ..base()
    }));
    assert!(!ok(Config {
        timeout: MAX_COOKIE_AGE + ms(1),
        ..base()
    }));
    assert!(ok(Config {
        absolute_timeout: Some(Duration::from_secs(1)),
        ..base()
    }));
    assert!(!ok(Config {
        absolute_timeout: Some(ms(999)),
        ..base()
    }));
    assert!(ok(Config {
        absolute_timeout: Some(MAX_COOKIE_AGE),
        ..base()
    }));
    assert!(!ok(Config {
        absolute_timeout: Some(MAX_COOKIE_AGE + ms(1)),
        ..base()
    }));
    assert!(ok(Config {
        lock_wait: MAX_COOKIE_AGE,
        ..base()
    }));
    assert!(!ok(Config {
        lock_wait: MAX_COOKIE_AGE + ms(1),
        ..base()
    }));
    assert!(ok(Config {
        lock_lease: ms(100),
        ..base()
    }));
    assert!(!ok(Config {
        lock_lease: ms(99),
        ..base()
    }));
    assert!(ok(Config {
        lock_lease: MAX_COOKIE_AGE,
        ..base()
    }));
    assert!(!ok(Config {
        lock_lease: MAX_COOKIE_AGE + ms(1),
        ..base()
    }));
}

#[test]
fn a_sessions_own_timeout_is_bounded_inclusively() {
    use edge_sessions::engine::config::MAX_COOKIE_AGE;
    let mut s = existing(json!({"a": 1}));
    s.set_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(s.timeout_override(), Some(1_000));
    s.set_timeout(MAX_COOKIE_AGE).unwrap();
    assert_eq!(
        s.timeout_override(),
        Some(MAX_COOKIE_AGE.as_millis() as u64)
    );
    for bad in [
        Duration::from_millis(999),
        MAX_COOKIE_AGE + Duration::from_millis(1),
    ] {
        let mut s = existing(json!({"a": 1}));
        assert!(s.set_timeout(bad).is_err(), "{bad:?}");
        assert_eq!(s.timeout_override(), None);
        assert!(!s.is_modified());
    }
}

#[test]
fn cookie_path_domain_and_header_prefix_are_each_checked() {
    use edge_sessions::{CookieConfig, HeaderNames};
    let with_cookie = |f: &dyn Fn(&mut CookieConfig)| {
        let mut c = Config::default();
        c.cookie.name = "sid".into();
        f(&mut c.cookie);
        c.validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert_eq!(with_cookie(&|_| {}), "");
    assert_eq!(with_cookie(&|c| c.path = "/app".into()), "");
    for bad in ["app", "/a;b", "/a\tb"] {
        let e = with_cookie(&|c| c.path = bad.into());
        assert!(e.starts_with("SESSION_COOKIE_PATH must"), "{bad:?}: {e}");
    }
    assert_eq!(with_cookie(&|c| c.domain = Some("example.com".into())), "");
    for bad in ["", "a;b", "a\tb", "a b"] {
        let e = with_cookie(&|c| c.domain = Some(bad.into()));
        assert!(e.starts_with("SESSION_COOKIE_DOMAIN"), "{bad:?}: {e}");
    }
    for bad in ["", "x_session_"] {
        let c = Config {
            headers: HeaderNames::with_prefix(bad),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("SESSION_HEADER_PREFIX"), "{bad:?}: {e}");
    }
}

#[test]
fn object_settings_carry_every_storage_setting() {
    let c = Config {
        max_data_bytes: 1_234,
        lock_wait: Duration::from_secs(5),
        lock_lease: Duration::from_secs(7),
        key_prefix: "s2:".into(),
        log_level: edge_sessions::engine::log::Level::Debug,
        ..Config::default()
    };
    let back = edge_sessions::engine::wire::ObjectSettings::of(&c).to_config();
    assert_eq!(back.max_data_bytes, 1_234);
    assert_eq!(back.lock_wait, Duration::from_secs(5));
    assert_eq!(back.lock_lease, Duration::from_secs(7));
    assert_eq!(back.key_prefix, "s2:");
    assert_eq!(back.log_level, edge_sessions::engine::log::Level::Debug);
}

#[test]
fn origin_host_names_may_contain_hyphens() {
    use edge_sessions::engine::proxy::origin::parse_origin;
    assert_eq!(
        parse_origin(Some("https://my-app.example-host.com")).unwrap(),
        "https://my-app.example-host.com"
    );
    assert!(parse_origin(Some("https://my_app.example")).is_err());
}

// ---- error.rs / id.rs / memory.rs ----

#[test]
fn clients_get_a_fixed_message_per_kind_of_failure() {
    assert_eq!(
        Error::LockTimeout.public_message(),
        "session busy, try again"
    );
    assert_eq!(
        Error::Backend("x".into()).public_message(),
        "session storage unavailable"
    );
    assert_eq!(
        Error::Gone.public_message(),
        "session ended; this change was not saved"
    );
}

#[test]
fn a_session_ids_debug_form_is_its_log_tag() {
    let id = SessionId::generate().unwrap();
    assert_eq!(format!("{id:?}"), format!("SessionId({})", id.log_tag()));
}

#[tokio::test]
async fn the_memory_backend_counts_its_records() {
    let c = Config::default();
    let b = backend(&c, 1_000);
    assert!(b.is_empty());
    assert_eq!(b.len(), 0);
    for _ in 0..2 {
        let mut o = store::open(&b, None, false, 1_000).await.unwrap();
        o.session.set("k", json!(1)).unwrap();
        store::commit(&b, o, &c, &signer(), 1_000).await.unwrap();
    }
    assert!(!b.is_empty());
    assert_eq!(b.len(), 2);
}

// ---- wire.rs ----

#[test]
fn errors_cross_the_wire_as_their_own_kind() {
    use edge_sessions::engine::wire::WireError;
    let round = |e: Error| WireError::from_error(&e).into_error();
    assert!(matches!(round(Error::LockTimeout), Error::LockTimeout));
    assert!(matches!(round(Error::LeaseLost), Error::LeaseLost));
    assert!(matches!(round(Error::Gone), Error::Gone));
    assert!(matches!(
        round(Error::TooLarge {
            size: 9_000,
            limit: 4_096
        }),
        Error::TooLarge {
            size: 9_000,
            limit: 4_096
        }
    ));
    assert!(matches!(
        round(Error::TooDeep {
            depth: 70,
            limit: 64
        }),
        Error::TooDeep {
            depth: 70,
            limit: 64
        }
    ));
    assert_eq!(
        WireError::from_error(&Error::Config("x".into())).error,
        "config"
    );
    assert_eq!(
        WireError::from_error(&Error::Backend("secret detail".into())).error,
        "backend"
    );
}

// ---- log.rs ----

#[test]
fn every_log_level_name_parses_and_round_trips() {
    use edge_sessions::engine::log::Level;
    for (name, level) in [
        ("error", Level::Error),
        ("warn", Level::Warn),
        ("info", Level::Info),
        ("debug", Level::Debug),
    ] {
        assert_eq!(Level::parse(name).unwrap(), level);
        assert_eq!(Level::parse(&name.to_uppercase()).unwrap(), level);
        assert_eq!(level.as_str(), name);
    }
    assert!(Level::parse("verbose").is_err());
}

#[test]
fn misuse_and_internal_failures_are_their_own_kinds() {
    use edge_sessions::engine::wire::WireError;
    for e in [
        Error::Usage("call load() first".into()),
        Error::Internal("x".into()),
    ] {
        assert_eq!(e.status(), 500);
        assert_eq!(e.public_message(), "internal error");
    }
    assert!(Error::Usage("call load() first".into())
        .to_string()
        .contains("call load() first"));
    // depth travels as depth, not in the size field
    let w = WireError::from_error(&Error::TooDeep {
        depth: 130,
        limit: 128,
    });
    assert_eq!((w.size, w.depth, w.limit), (None, Some(130), Some(128)));
    assert!(matches!(
        w.into_error(),
        Error::TooDeep {
            depth: 130,
            limit: 128
        }
    ));
    assert!(matches!(
        WireError::from_error(&Error::Internal("x".into())).into_error(),
        Error::Internal(_)
    ));
}

#[tokio::test]
async fn acquiring_with_locking_off_is_a_usage_error() {
    use edge_sessions::engine::worker::scope::Sessions;
    let config = Config {
        locking: edge_sessions::LockingMode::None,
        ..Config::default()
    };
    let sessions = Sessions::new(config.clone(), signer(), Rc::new(backend(&config, 1_000)));
    let mut scope = sessions.start("", "/", None);
    let r = scope.acquire(1_000).await;
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
}
