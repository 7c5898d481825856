//! The `SessionLock` object's rules ([`edge_sessions::engine::object::LockObject`]) natively,
//! through its public API only, on the in-memory [`World`] of tests/support/world.rs: objects
//! (one per name, each with its own storage and alarm), a shared KV namespace and a clock the
//! tests set, with fault switches for the failure paths.
use edge_sessions::engine::object::user::{Binding, Listed};
use edge_sessions::engine::object::{kv_key, KV_GRACE_S};
use edge_sessions::engine::session::edits::{Edit, Edits};
use edge_sessions::engine::session::record::{Change, Record};
use edge_sessions::engine::wire::{
    ApplyMsg, BeginMsg, DestroyedAnswer, IdMsg, Op, Reply, SweepAnswer, UserAddMsg, UserMsg,
};
use edge_sessions::engine::wire::{ObjectSettings, SettingsRef};
use edge_sessions::engine::worker::store::Begun;
use edge_sessions::{Config, Lease, SessionId};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

mod support;
use support::world::{World, T0};

// ---- messages and replies ----

/// The settings a worker sends: defaults, with a 10 s idle timeout.
fn params() -> ObjectSettings {
    ObjectSettings {
        timeout_ms: 10_000,
        absolute_ms: None,
        ..ObjectSettings::of(&Config::default())
    }
}

fn rid() -> String {
    SessionId::generate().unwrap().as_str().to_owned()
}

fn new_sid() -> String {
    SessionId::generate().unwrap().as_str().to_owned()
}

fn tag(sid: &str) -> String {
    SessionId::parse(sid).unwrap().log_tag()
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn bind(user: &str) -> Binding {
    Binding {
        user: user.into(),
        client: None,
        replaces: None,
    }
}

/// A record created at `now` for `user`.
fn record(p: &ObjectSettings, now: u64, user: Option<&str>) -> Record {
    let mut r = Record::new(&p.to_config(), map(json!({"n": 1})), now);
    r.user = user.map(str::to_owned);
    r
}

/// The answer of a call: its value, or the wire error kind (`lease_lost`, `backend`, ...).
fn answer<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    match serde_json::from_str::<Reply<T>>(text).expect("a reply") {
        Reply::Ok(v) => Ok(v),
        Reply::Err(e) => Err(e.error),
    }
}

async fn apply_as(
    w: &World,
    sid: &str,
    p: &ObjectSettings,
    change: Change,
    lease: Option<Lease>,
) -> Result<Value, String> {
    let msg = ApplyMsg {
        rid: rid(),
        sid: sid.to_owned(),
        settings: SettingsRef::full(p),
        change,
        lease,
        release: false,
    };
    let body = serde_json::to_string(&msg).unwrap();
    answer(&w.object(sid).call(Op::Apply, &body).await)
}

async fn apply(w: &World, sid: &str, p: &ObjectSettings, change: Change) -> Result<Value, String> {
    apply_as(w, sid, p, change, None).await
}

/// A login: a new session created bound to `user`.
async fn create_bound(
    w: &World,
    sid: &str,
    user: &str,
    p: &ObjectSettings,
) -> Result<Value, String> {
    let change = Change::Create {
        record: record(p, w.now(), Some(user)),
        bind: Some(bind(user)),
    };
    apply(w, sid, p, change).await
}

fn update(key: &str, value: Value, accessed: u64) -> Change {
    let edits: Edits = [(key.to_owned(), Edit::Set(value))].into();
    Change::Update {
        edits,
        accessed,
        timeout_ms: None,
        bind: None,
    }
}

fn begin_msg(sid: &str, p: &ObjectSettings, lock: bool) -> String {
    serde_json::to_string(&BeginMsg {
        rid: rid(),
        sid: sid.to_owned(),
        settings: SettingsRef::full(p),
        lock,
    })
    .unwrap()
}

async fn begin(w: &World, sid: &str, p: &ObjectSettings, lock: bool) -> Result<Begun, String> {
    answer(
        &w.object(sid)
            .call(Op::Begin, &begin_msg(sid, p, lock))
            .await,
    )
}

/// The live record a `begin` without the lock finds.
async fn load(w: &World, sid: &str) -> Option<Record> {
    begin(w, sid, &params(), false).await.unwrap().record
}

fn user_msg(uid: &str, sid: Option<&str>, p: &ObjectSettings) -> String {
    serde_json::to_string(&UserMsg {
        uid: uid.to_owned(),
        sid: sid.map(str::to_owned),
        settings: SettingsRef::full(p),
    })
    .unwrap()
}

async fn list(w: &World, uid: &str, current: Option<&str>) -> Vec<Listed> {
    let body = user_msg(uid, current, &params());
    let text = w
        .object(&format!("user:{uid}"))
        .call(Op::UserList, &body)
        .await;
    answer(&text).expect("userList answers")
}

/// The tags of `uid`'s listed sessions, in the index's order (oldest first).
async fn listed_tags(w: &World, uid: &str) -> Vec<String> {
    list(w, uid, None).await.into_iter().map(|l| l.id).collect()
}

async fn destroy(w: &World, uid: &str, except: Option<&str>) -> Result<DestroyedAnswer, String> {
    let body = user_msg(uid, except, &params());
    answer(
        &w.object(&format!("user:{uid}"))
            .call(Op::UserDestroy, &body)
            .await,
    )
}

async fn sweep(w: &World, sid: &str, p: &ObjectSettings) -> Result<SweepAnswer, String> {
    let body = serde_json::to_string(&IdMsg {
        sid: sid.to_owned(),
        settings: SettingsRef::full(p),
        lease: None,
        caller: None,
    })
    .unwrap();
    answer(&w.object(sid).call(Op::Sweep, &body).await)
}

fn kv_key_of(sid: &str) -> String {
    kv_key(&params().key_prefix, &SessionId::parse(sid).unwrap())
}

/// The session is gone everywhere: no record, no storage at all, no alarm, no KV mirror.
fn assert_purged(w: &World, sid: &str) {
    assert_eq!(w.keys(sid), Vec::<String>::new(), "storage left behind");
    assert_eq!(w.alarm_at(sid), None, "alarm left set");
    assert!(w.kv_get(&kv_key_of(sid)).is_none(), "KV mirror left behind");
}

/// Nothing of the session stays in its object, now or once its alarm (if set) has fired.
async fn assert_nothing_left(w: &World, sid: &str) {
    if w.alarm_at(sid).is_some() {
        w.fire_alarm(sid).await.unwrap();
    }
    assert_eq!(
        (w.keys(sid), w.alarm_at(sid)),
        (Vec::<String>::new(), None),
        "something stays behind with nothing to purge it"
    );
}

// ---- 1. a bound create is listed before it is stored ----

#[tokio::test(start_paused = true)]
async fn a_bound_create_is_listed_and_refused_when_the_index_is_unreachable() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    assert_eq!(w.stored(&a).unwrap().user.as_deref(), Some("ann"));
    assert_eq!(load(&w, &a).await.unwrap().user.as_deref(), Some("ann"));
    let listed = list(&w, "ann", Some(&a)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, tag(&a));
    assert_eq!((listed[0].created, listed[0].bound), (T0, T0));
    assert!(listed[0].current);
    assert!(listed_tags(&w, "bob").await.is_empty());

    // the index is unreachable: the login is refused, nothing is stored
    w.set_unreachable("user:ann", true);
    let b = new_sid();
    assert_eq!(
        create_bound(&w, &b, "ann", &p).await.unwrap_err(),
        "backend"
    );
    assert!(w.stored(&b).is_none(), "a bound record stored unlisted");
    assert!(load(&w, &b).await.is_none());
    w.set_unreachable("user:ann", false);
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a)]);

    // an unbound create never asks an index
    let c = new_sid();
    let before = w.calls.borrow().len();
    let change = Change::Create {
        record: record(&p, w.now(), None),
        bind: None,
    };
    apply(&w, &c, &p, change).await.unwrap();
    assert_eq!(w.calls.borrow().len(), before);
    assert!(w.stored(&c).is_some());

    // once the index is back, the same login goes through
    create_bound(&w, &b, "ann", &p).await.unwrap();
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a), tag(&b)]);
}

/// A refused bound create leaves nothing of the session behind in its object (nor anything that
/// its alarm would not purge).
// Regression: `apply` saved the object's identity before asking the index and left it
// behind when the index call failed, out of reach of the alarm and the sweep.

#[tokio::test(start_paused = true)]
async fn a_refused_bound_create_leaves_no_storage_behind() {
    let w = World::new();
    let p = params();
    w.set_unreachable("user:ann", true);
    let b = new_sid();
    assert!(create_bound(&w, &b, "ann", &p).await.is_err());
    assert_nothing_left(&w, &b).await;
}

// ---- 2. log out everywhere (but here) ----

#[tokio::test(start_paused = true)]
async fn destroying_all_but_one_kills_the_others_and_fences_their_lock_holders() {
    let w = World::new();
    let p = params();
    let (a, b, c) = (new_sid(), new_sid(), new_sid());
    for sid in [&a, &b, &c] {
        create_bound(&w, sid, "ann", &p).await.unwrap();
        w.advance(1);
    }
    // mirrored to KV: each alarm is now set for its session's expiry
    for sid in [&a, &b, &c] {
        w.fire_alarm(sid).await.unwrap();
        assert!(w.kv_get(&kv_key_of(sid)).is_some());
        assert!(w.alarm_at(sid).unwrap() > w.now());
    }
    // a request on b holds b's lock across the destroy
    let (text, token) = w.object(&b).begin_leased(&begin_msg(&b, &p, true)).await;
    let held: Begun = answer(&text).unwrap();
    let lease = held.lease.unwrap();
    assert_eq!(Some(lease.token), token);
    assert!(held.record.is_some());

    let done = destroy(&w, "ann", Some(&a)).await.unwrap();
    assert_eq!(done.destroyed, 2);
    let listed = list(&w, "ann", Some(&a)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, tag(&a));
    assert!(listed[0].current);

    // the others are dead at once; the kept one lives
    for sid in [&b, &c] {
        assert!(w.stored(sid).is_none());
        assert!(load(&w, sid).await.is_none());
    }
    assert!(load(&w, &a).await.is_some());
    assert!(w.stored(&a).is_some());

    // b's lock holder cannot write after the destroy (its lease was revoked), nor recreate b
    let late = apply_as(&w, &b, &p, update("n", json!(2), w.now()), Some(lease)).await;
    assert_eq!(late.unwrap_err(), "lease_lost");
    let recreate = Change::Create {
        record: record(&p, w.now(), Some("ann")),
        bind: None,
    };
    let late = apply_as(&w, &b, &p, recreate, Some(lease)).await;
    assert_eq!(late.unwrap_err(), "lease_lost");
    assert!(w.stored(&b).is_none());
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a)]);
    // b's lock is free: the next request is granted it at once
    let at_once = ObjectSettings {
        wait_ms: 0,
        ..p.clone()
    };
    let next = begin(&w, &b, &at_once, true).await.unwrap();
    assert!(next.lease.unwrap().token > lease.token);
    assert!(next.record.is_none());

    // the killed sessions' alarms, moved to now, purge what is left of them (the KV mirror)
    for sid in [&b, &c] {
        assert!(w.alarm_at(sid).is_some_and(|t| t <= w.now()));
        w.fire_alarm(sid).await.unwrap();
        assert_purged(&w, sid);
    }
    // the kept one is untouched
    assert!(w.kv_get(&kv_key_of(&a)).is_some());
    assert!(w.alarm_at(&a).unwrap() > w.now());

    // then all of them: the count, and an empty index keeps no storage
    let done = destroy(&w, "ann", None).await.unwrap();
    assert_eq!(done.destroyed, 1);
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert!(load(&w, &a).await.is_none());
    assert_eq!(w.keys("user:ann"), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_destroy_that_cannot_reach_a_session_fails_and_keeps_it_listed() {
    let w = World::new();
    let p = params();
    let (a, b) = (new_sid(), new_sid());
    create_bound(&w, &a, "ann", &p).await.unwrap();
    create_bound(&w, &b, "ann", &p).await.unwrap();
    w.set_unreachable(&b, true);
    assert_eq!(destroy(&w, "ann", None).await.unwrap_err(), "backend");
    // a was killed and unlisted; b, alive, stays listed so a retry finds it
    assert!(load(&w, &a).await.is_none());
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&b)]);
    w.set_unreachable(&b, false);
    assert!(load(&w, &b).await.is_some());
    assert_eq!(destroy(&w, "ann", None).await.unwrap().destroyed, 1);
    assert!(load(&w, &b).await.is_none());
    assert!(listed_tags(&w, "ann").await.is_empty());
}

// ---- 3. the cap ----

#[tokio::test(start_paused = true)]
async fn over_the_cap_the_oldest_session_is_killed_and_unlisted() {
    let w = World::new();
    let p = ObjectSettings {
        user_cap: 2,
        ..params()
    };
    let (a, b, c) = (new_sid(), new_sid(), new_sid());
    for sid in [&a, &b] {
        create_bound(&w, sid, "ann", &p).await.unwrap();
        w.advance(1_000);
    }
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a), tag(&b)]);
    create_bound(&w, &c, "ann", &p).await.unwrap();
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&b), tag(&c)]);
    assert!(load(&w, &a).await.is_none(), "the oldest is dead");
    assert!(w.stored(&a).is_none());
    assert!(load(&w, &b).await.is_some());
    assert!(load(&w, &c).await.is_some());
    assert_eq!(w.calls_to(&a, Op::Kill), 1);
    assert_eq!(w.calls_to(&b, Op::Kill), 0);
    // and it is purged by its alarm
    w.fire_alarm(&a).await.unwrap();
    assert_purged(&w, &a);
}

// ---- 4. expiry through the alarm ----

#[tokio::test(start_paused = true)]
async fn an_expired_bound_session_is_unlisted_and_purged_by_its_alarm() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    let expires = w.stored(&a).unwrap().expires;
    assert_eq!(expires, T0 + 10_000);
    // first alarm: the KV mirror, then re-armed for the expiry
    assert_eq!(w.alarm_at(&a), Some(T0));
    w.fire_alarm(&a).await.unwrap();
    let (value, expiration, meta) = w.kv_get(&kv_key_of(&a)).expect("mirrored");
    assert_eq!(Record::decode(&value).unwrap(), w.stored(&a).unwrap());
    assert_eq!(expiration, expires / 1000 + 1 + KV_GRACE_S);
    assert_eq!(
        serde_json::from_str::<Value>(&meta).unwrap(),
        json!({"exp": expires, "ver": 1})
    );
    assert_eq!(w.alarm_at(&a), Some(expires));

    w.fire_alarm(&a).await.unwrap();
    assert_eq!(w.now(), expires);
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert_purged(&w, &a);
    assert_eq!(w.keys("user:ann"), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn when_the_index_is_unreachable_the_expiry_purge_waits_for_it() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    w.fire_alarm(&a).await.unwrap(); // mirrored
    let expires = w.stored(&a).unwrap().expires;

    w.set_unreachable("user:ann", true);
    w.fire_alarm(&a).await.unwrap();
    assert_eq!(w.now(), expires);
    // nothing purged: the record and identity stay, the mirror too, and the alarm is re-armed
    assert!(w.stored(&a).is_some());
    assert_eq!(w.keys(&a), vec!["rec".to_owned(), "who".to_owned()]);
    assert!(w.kv_get(&kv_key_of(&a)).is_some());
    let retry = w.alarm_at(&a).expect("the alarm is re-armed");
    assert!(retry > expires);
    // an expired session is never served meanwhile
    assert!(load(&w, &a).await.is_none());

    // still down at the retry: it waits again, later
    w.fire_alarm(&a).await.unwrap();
    let again = w.alarm_at(&a).expect("re-armed again");
    assert!(again - w.now() > retry - expires, "backs off");
    assert!(w.stored(&a).is_some());

    w.set_unreachable("user:ann", false);
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a)]);
    w.fire_alarm(&a).await.unwrap();
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert_purged(&w, &a);
}

#[tokio::test(start_paused = true)]
async fn when_kv_refuses_the_delete_the_purge_retries() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    w.fire_alarm(&a).await.unwrap();
    w.fail_kv_delete.set(true);
    w.fire_alarm(&a).await.unwrap();
    // unlisted, but the mirror is still there: the identity stays and the alarm is re-armed
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert!(w.kv_get(&kv_key_of(&a)).is_some());
    assert!(w.keys(&a).contains(&"who".to_owned()));
    assert!(w.alarm_at(&a).is_some_and(|t| t > w.now()));
    assert!(load(&w, &a).await.is_none());
    w.fail_kv_delete.set(false);
    w.fire_alarm(&a).await.unwrap();
    assert_purged(&w, &a);
}

#[tokio::test(start_paused = true)]
async fn an_expired_bound_session_is_purged_after_a_restart() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    w.fire_alarm(&a).await.unwrap();
    // both objects restart (memory lost) before the expiry alarm: storage tells the session's
    // object who it is, and the index its entries
    w.restart(&a);
    w.restart("user:ann");
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a)]);
    w.restart("user:ann");
    w.fire_alarm(&a).await.unwrap();
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert_purged(&w, &a);
}

// ---- 4b. what a write is billed for ----

/// A new unbound session holding `{"n": 1}`, its creation mirrored to KV by its first alarm.
async fn mirrored_session(w: &World, p: &ObjectSettings) -> String {
    let sid = new_sid();
    let change = Change::Create {
        record: record(p, w.now(), None),
        bind: None,
    };
    apply(w, &sid, p, change).await.unwrap();
    assert_eq!(
        w.alarm_at(&sid),
        Some(w.now()),
        "a creation is mirrored at once"
    );
    w.fire_alarm(&sid).await.unwrap();
    assert!(w.kv_get(&kv_key_of(&sid)).is_some(), "mirrored");
    sid
}

#[tokio::test(start_paused = true)]
async fn a_warm_write_writes_one_row_and_leaves_kv_and_the_alarm_alone() {
    let w = World::new();
    let p = params();
    let a = mirrored_session(&w, &p).await;
    let first_expiry = w.stored(&a).unwrap().expires;
    assert_eq!(w.alarm_at(&a), Some(first_expiry));
    let kv_puts = w.kv_puts.get();
    // a burst of writes, warm and then cold (the object evicted): one row each, nothing else
    for i in 0..6u64 {
        if i == 3 {
            w.restart(&a);
        }
        w.advance(1_000);
        let rows = w.rows_written(&a);
        apply(&w, &a, &p, update("n", json!(i + 2), w.now()))
            .await
            .unwrap();
        assert_eq!(
            w.rows_written(&a) - rows,
            1,
            "write {i}: the record's row only"
        );
        assert_eq!(
            w.alarm_at(&a),
            Some(first_expiry),
            "write {i}: the alarm stays"
        );
    }
    assert_eq!(w.kv_puts.get(), kv_puts, "no KV write for the burst yet");
    // the alarm, at the expiry KV knows, finds the session live: KV gets the latest record
    // and its later expiry, and the alarm moves to that expiry
    w.fire_alarm(&a).await.unwrap();
    assert_eq!(w.kv_puts.get(), kv_puts + 1, "the burst is one KV write");
    let latest = w.stored(&a).unwrap();
    assert_eq!(latest.data(), &map(json!({"n": 7})));
    let (value, _, meta) = w.kv_get(&kv_key_of(&a)).unwrap();
    assert_eq!(Record::decode(&value).unwrap(), latest);
    assert_eq!(
        serde_json::from_str::<Value>(&meta).unwrap(),
        json!({"exp": latest.expires, "ver": latest.version})
    );
    assert_eq!(w.alarm_at(&a), Some(latest.expires));
    assert!(latest.expires > first_expiry);
}

#[tokio::test(start_paused = true)]
async fn a_shorter_timeout_reaches_kv_at_once() {
    let w = World::new();
    let p = params();
    let a = mirrored_session(&w, &p).await;
    w.advance(2_000);
    let edits: Edits = [("n".to_owned(), Edit::Set(json!(2)))].into();
    let shorter = Change::Update {
        edits,
        accessed: w.now(),
        timeout_ms: Some(1_000),
        bind: None,
    };
    apply(&w, &a, &p, shorter).await.unwrap();
    let expires = w.stored(&a).unwrap().expires;
    assert_eq!(expires, w.now() + 1_000);
    // the sweep must not see the old, later expiry past KV's write interval
    assert!(w.alarm_at(&a).is_some_and(|t| t <= w.now() + 1_000));
    w.fire_alarm(&a).await.unwrap();
    let (_, _, meta) = w.kv_get(&kv_key_of(&a)).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&meta).unwrap()["exp"],
        json!(expires)
    );
}

#[tokio::test(start_paused = true)]
async fn the_kv_key_outlives_the_expiry_it_knows_by_the_grace() {
    let w = World::new();
    let p = params();
    let a = mirrored_session(&w, &p).await;
    let (_, expiration, _) = w.kv_get(&kv_key_of(&a)).unwrap();
    let expires = w.stored(&a).unwrap().expires;
    assert_eq!(expiration, expires / 1000 + 1 + KV_GRACE_S);
}

// ---- 5. expiry through the sweep ----

#[tokio::test(start_paused = true)]
async fn the_sweep_unlists_an_expired_bound_session_and_keeps_a_live_one() {
    let w = World::new();
    let p = params();
    let (old, live) = (new_sid(), new_sid());
    create_bound(&w, &old, "ann", &p).await.unwrap();
    w.fire_alarm(&old).await.unwrap();
    w.advance(8_000);
    create_bound(&w, &live, "ann", &p).await.unwrap();
    w.fire_alarm(&live).await.unwrap();
    w.advance(4_000); // old expired at T0 + 10 s; live lives until T0 + 18 s

    assert!(sweep(&w, &old, &p).await.unwrap().deleted);
    assert_purged(&w, &old);
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&live)]);

    assert!(!sweep(&w, &live, &p).await.unwrap().deleted);
    assert!(w.stored(&live).is_some());
    assert!(load(&w, &live).await.is_some());
    assert!(w.kv_get(&kv_key_of(&live)).is_some());
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&live)]);
}

#[tokio::test(start_paused = true)]
async fn the_sweep_keeps_an_expired_bound_session_while_its_index_is_unreachable() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    w.fire_alarm(&a).await.unwrap();
    w.advance(20_000);
    w.set_unreachable("user:ann", true);
    assert_eq!(sweep(&w, &a, &p).await.unwrap_err(), "backend");
    assert!(w.stored(&a).is_some());
    assert!(w.kv_get(&kv_key_of(&a)).is_some());
    w.set_unreachable("user:ann", false);
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&a)]);
    assert!(sweep(&w, &a, &p).await.unwrap().deleted);
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert_purged(&w, &a);
}

// ---- 6. regenerate ----

#[tokio::test(start_paused = true)]
async fn a_regenerated_session_takes_over_its_entry() {
    let w = World::new();
    let p = params();
    let (old, new) = (new_sid(), new_sid());
    let first = Change::Create {
        record: record(&p, w.now(), Some("ann")),
        bind: Some(Binding {
            client: Some("Firefox on Linux".into()),
            ..bind("ann")
        }),
    };
    apply(&w, &old, &p, first).await.unwrap();
    w.advance(5_000);
    // the regenerate: the new id, with the old record's creation time, replacing the old id
    let mut moved = record(&p, w.now(), Some("ann"));
    moved.created = T0;
    let regen = Change::Create {
        record: moved,
        bind: Some(Binding {
            replaces: Some(old.clone()),
            ..bind("ann")
        }),
    };
    apply(&w, &new, &p, regen).await.unwrap();
    let listed = list(&w, "ann", Some(&new)).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, tag(&new));
    assert_eq!(listed[0].created, T0, "the old entry's creation time");
    assert_eq!(listed[0].bound, T0 + 5_000);
    assert_eq!(listed[0].client.as_deref(), Some("Firefox on Linux"));
    assert!(listed[0].current);

    apply(&w, &old, &p, Change::Delete).await.unwrap();
    assert!(load(&w, &old).await.is_none());
    let listed = list(&w, "ann", None).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, tag(&new));
    assert_eq!(listed[0].created, T0);
    assert!(load(&w, &new).await.is_some());
}

// ---- deletes and rebinding ----

#[tokio::test(start_paused = true)]
async fn deleting_a_bound_session_unlists_it_and_rebinding_moves_it() {
    let w = World::new();
    let p = params();
    let (a, b) = (new_sid(), new_sid());
    create_bound(&w, &a, "ann", &p).await.unwrap();
    create_bound(&w, &b, "ann", &p).await.unwrap();
    apply(&w, &a, &p, Change::Delete).await.unwrap();
    assert_eq!(listed_tags(&w, "ann").await, vec![tag(&b)]);
    assert!(load(&w, &a).await.is_none());

    // set_user("bob") on b: listed for bob, no longer for ann
    let rebind = Change::Update {
        edits: Edits::new(),
        accessed: w.now(),
        timeout_ms: None,
        bind: Some(bind("bob")),
    };
    apply(&w, &b, &p, rebind).await.unwrap();
    assert_eq!(w.stored(&b).unwrap().user.as_deref(), Some("bob"));
    assert!(listed_tags(&w, "ann").await.is_empty());
    assert_eq!(listed_tags(&w, "bob").await, vec![tag(&b)]);
    // a plain update of a bound session does not touch its index
    let before = w.calls.borrow().len();
    apply(&w, &b, &p, update("k", json!(1), w.now()))
        .await
        .unwrap();
    assert_eq!(w.calls.borrow().len(), before);
    assert_eq!(listed_tags(&w, "bob").await, vec![tag(&b)]);

    // a failed unlisting does not fail the delete (the entry is destroyed harmlessly later)
    w.set_unreachable("user:bob", true);
    apply(&w, &b, &p, Change::Delete).await.unwrap();
    assert!(load(&w, &b).await.is_none());
    w.set_unreachable("user:bob", false);
    assert_eq!(listed_tags(&w, "bob").await, vec![tag(&b)]);
    assert_eq!(destroy(&w, "bob", None).await.unwrap().destroyed, 1);
    assert!(listed_tags(&w, "bob").await.is_empty());
}

// ---- 7. leases tied to the caller ----

#[tokio::test(start_paused = true)]
async fn a_lease_is_released_by_its_token_and_a_stale_token_is_ignored() {
    let w = World::new();
    let p = ObjectSettings {
        wait_ms: 5_000,
        ..params()
    };
    let at_once = ObjectSettings {
        wait_ms: 0,
        ..p.clone()
    };
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    let obj = w.object(&a);

    let (text, token) = obj.begin_leased(&begin_msg(&a, &p, true)).await;
    let first: Begun = answer(&text).unwrap();
    let token = token.expect("a lease token");
    assert_eq!(first.lease.map(|l| l.token), Some(token));
    assert!(first.record.is_some());
    // held: a request that cannot wait is refused
    let (text, none) = obj.begin_leased(&begin_msg(&a, &at_once, true)).await;
    assert_eq!(answer::<Begun>(&text).unwrap_err(), "lock_timeout");
    assert_eq!(none, None);

    // the caller went away: its token frees the lock, and the next request gets it at once
    obj.release_token(token);
    assert!(obj.lock().holder().is_none());
    let t = w.now();
    let (text, second) = obj.begin_leased(&begin_msg(&a, &p, true)).await;
    assert_eq!(w.now(), t, "granted without waiting");
    let second = second.expect("granted");
    assert!(second > token);
    assert_eq!(
        answer::<Begun>(&text).unwrap().lease.map(|l| l.token),
        Some(second)
    );

    // the stale token neither releases the new lease nor writes
    obj.release_token(token);
    assert_eq!(obj.lock().holder().map(|l| l.token), Some(second));
    let (text, _) = obj.begin_leased(&begin_msg(&a, &at_once, true)).await;
    assert_eq!(answer::<Begun>(&text).unwrap_err(), "lock_timeout");
    let stale = Lease {
        token,
        expires: u64::MAX,
    };
    let refused = apply_as(&w, &a, &p, update("n", json!(9), w.now()), Some(stale)).await;
    assert_eq!(refused.unwrap_err(), "lease_lost");
    let current = obj.lock().holder().unwrap();
    apply_as(&w, &a, &p, update("n", json!(2), w.now()), Some(current))
        .await
        .unwrap();
    assert_eq!(w.stored(&a).unwrap().data()["n"], json!(2));

    // a waiter is handed the lock when the holder's token is released
    let local = tokio::task::LocalSet::new();
    let waiter = {
        let (obj, body) = (obj.clone(), begin_msg(&a, &p, true));
        local.spawn_local(async move { obj.begin_leased(&body).await })
    };
    local
        .run_until(async {
            tokio::task::yield_now().await;
            assert_eq!(obj.lock().waiting(), 1);
            obj.release_token(second);
            let (_, third) = waiter.await.unwrap();
            assert!(third.unwrap() > second);
        })
        .await;
    assert_eq!(w.now(), t, "handed over without waiting for a timer");
}

// ---- wire plumbing ----

#[tokio::test(start_paused = true)]
async fn operations_are_routed_by_name() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    let idx = w.object("user:ann");
    let text = idx.call_named("userList", &user_msg("ann", None, &p)).await;
    let listed: Vec<Listed> = answer(&text).unwrap();
    assert_eq!(listed.len(), 1);
    let text = idx.call_named("nope", "{}").await;
    assert_eq!(answer::<Value>(&text).unwrap_err(), "backend");
    let text = idx.call_named("userList", "not json").await;
    assert_eq!(answer::<Value>(&text).unwrap_err(), "backend");
    // a bad user id is refused by the index
    let bad = serde_json::to_string(&UserAddMsg {
        uid: "a:b".into(),
        sid: a.clone(),
        created: T0,
        bind: bind("a:b"),
        settings: SettingsRef::full(&p),
    })
    .unwrap();
    let text = w.object("user:a:b").call(Op::UserAdd, &bad).await;
    assert_eq!(answer::<Value>(&text).unwrap_err(), "backend");
}

// ---- races with a kill ----

/// A "log out everywhere" that lands while a lock holder's bound write waits for its user's
/// index must still win: after the destroy answered, the session is dead and stays dead.
// Regression: `apply` checked the lease, then awaited `userAdd`, then stored: a `kill`
// delivered during that await was undone by the write (the object takes other requests while
// it awaits another object). The index is now asked first, before the record is read.
#[tokio::test(start_paused = true)]
async fn a_kill_during_a_bound_write_is_not_undone_by_it() {
    let w = World::new();
    let p = params();
    let (a, keep) = (new_sid(), new_sid());
    create_bound(&w, &a, "ann", &p).await.unwrap();
    create_bound(&w, &keep, "ann", &p).await.unwrap();
    let held: Begun = begin(&w, &a, &p, true).await.unwrap();
    let lease = held.lease.unwrap();
    // the holder's write re-binds (set_user again, say with a client): its userAdd is slow
    w.delayed.borrow_mut().insert("user:ann".into(), 50);
    let rebind = Change::Update {
        edits: [("n".to_owned(), Edit::Set(json!(2)))].into(),
        accessed: w.now(),
        timeout_ms: None,
        bind: Some(Binding {
            client: Some("Phone".into()),
            ..bind("ann")
        }),
    };
    let local = tokio::task::LocalSet::new();
    let (w2, a2, p2) = (w.clone(), a.clone(), p.clone());
    let write =
        local.spawn_local(async move { apply_as(&w2, &a2, &p2, rebind, Some(lease)).await });
    let destroyed = local
        .run_until(async {
            tokio::task::yield_now().await;
            let asked = w.calls_to("user:ann", Op::UserAdd);
            assert_eq!(asked, 3, "the write is now waiting for the index");
            let done = destroy(&w, "ann", Some(&keep)).await.unwrap();
            assert!(load(&w, &a).await.is_none(), "killed");
            (done.destroyed, write.await.unwrap())
        })
        .await;
    assert_eq!(destroyed.0, 1);
    // the write must be refused (its lease was revoked), and the session stay dead and unlisted
    let after = (
        destroyed.1.map_err(|_| "refused"),
        load(&w, &a).await.is_some(),
        listed_tags(&w, "ann").await.contains(&tag(&a)),
    );
    assert_eq!(
        after,
        (Err("refused"), false, false),
        "(the holder's write, alive after the destroy, listed after the destroy)"
    );
}

/// Without the lock, concurrent writes of different keys merge (the object applies each to the
/// record as it stands), also when one of them binds the session to its user.
// Regression: `apply` read the record, then awaited `userAdd`, then stored what it had
// computed before the await, losing an unlocked write that landed meanwhile.
#[tokio::test(start_paused = true)]
async fn an_unlocked_write_during_a_bound_write_is_not_lost() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    create_bound(&w, &a, "ann", &p).await.unwrap();
    w.delayed.borrow_mut().insert("user:ann".into(), 50);
    let rebind = Change::Update {
        edits: [("x".to_owned(), Edit::Set(json!(1)))].into(),
        accessed: w.now(),
        timeout_ms: None,
        bind: Some(bind("ann")),
    };
    let local = tokio::task::LocalSet::new();
    let (w2, a2, p2) = (w.clone(), a.clone(), p.clone());
    let bound = local.spawn_local(async move { apply(&w2, &a2, &p2, rebind).await });
    local
        .run_until(async {
            tokio::task::yield_now().await;
            let asked = w.calls_to("user:ann", Op::UserAdd);
            assert_eq!(asked, 2, "the bound write is now waiting for the index");
            apply(&w, &a, &p, update("y", json!(2), w.now()))
                .await
                .unwrap();
            bound.await.unwrap().unwrap();
        })
        .await;
    let data = w.stored(&a).unwrap().into_data();
    assert_eq!(
        (data.get("x"), data.get("y")),
        (Some(&json!(1)), Some(&json!(2))),
        "{data:?}"
    );
}

/// A killed session's lock holder that writes after the session was purged leaves nothing
/// behind either.
// Regression: the refused write saved the identity again after the purge, with no alarm to
// remove it.
#[tokio::test(start_paused = true)]
async fn a_fenced_write_after_the_purge_leaves_no_storage_behind() {
    let w = World::new();
    let p = params();
    let (a, b) = (new_sid(), new_sid());
    create_bound(&w, &a, "ann", &p).await.unwrap();
    create_bound(&w, &b, "ann", &p).await.unwrap();
    let lease = begin(&w, &b, &p, true).await.unwrap().lease.unwrap();
    destroy(&w, "ann", Some(&a)).await.unwrap();
    w.fire_alarm(&b).await.unwrap();
    assert_purged(&w, &b);
    let late = apply_as(&w, &b, &p, update("n", json!(2), w.now()), Some(lease)).await;
    assert_eq!(late.unwrap_err(), "lease_lost");
    assert_nothing_left(&w, &b).await;
}

// ---- the object keeps its callers' settings ----

/// A `begin` naming the settings by version only.
async fn begin_named(w: &World, sid: &str, p: &ObjectSettings) -> Result<Begun, String> {
    let body = serde_json::to_string(&BeginMsg {
        rid: rid(),
        sid: sid.to_owned(),
        settings: SettingsRef {
            v: p.version(),
            full: None,
        },
        lock: true,
    })
    .unwrap();
    answer(&w.object(sid).call(Op::Begin, &body).await)
}

#[tokio::test(start_paused = true)]
async fn settings_sent_once_serve_later_calls_and_later_incarnations() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    // nothing known of `a` yet: a call naming the settings by version is refused, so the
    // caller sends them
    assert_eq!(begin_named(&w, &a, &p).await.unwrap_err(), "settings");
    let change = Change::Create {
        record: record(&p, w.now(), None),
        bind: None,
    };
    apply(&w, &a, &p, change).await.unwrap();
    let lease = begin_named(&w, &a, &p)
        .await
        .unwrap()
        .lease
        .expect("locked");
    // the lease is the one the settings say
    assert_eq!(lease.expires, w.now() + p.lease_ms);
    w.object(&a).release_token(lease.token);

    // a new incarnation reads them back with who it is, once
    w.restart(&a);
    let got = begin_named(&w, &a, &p).await.unwrap();
    assert!(got.record.is_some());
    w.object(&a).release_token(got.lease.unwrap().token);

    // other settings (a deploy changed them) are asked for
    let q = ObjectSettings {
        lease_ms: p.lease_ms + 1_000,
        ..p.clone()
    };
    assert_eq!(begin_named(&w, &a, &q).await.unwrap_err(), "settings");
}

#[tokio::test(start_paused = true)]
async fn a_read_that_sent_other_settings_persists_them_for_the_next_incarnation() {
    let w = World::new();
    let p = params();
    let a = new_sid();
    let change = Change::Create {
        record: record(&p, w.now(), None),
        bind: None,
    };
    apply(&w, &a, &p, change).await.unwrap();
    let q = ObjectSettings {
        wait_ms: p.wait_ms + 500,
        ..p.clone()
    };
    w.restart(&a);
    assert_eq!(begin_named(&w, &a, &q).await.unwrap_err(), "settings");
    let written = w.rows_written(&a);
    let got = begin(&w, &a, &q, true).await.unwrap();
    w.object(&a).release_token(got.lease.unwrap().token);
    assert_eq!(w.rows_written(&a), written + 1, "who it is, written once");
    w.restart(&a);
    let again = begin_named(&w, &a, &q).await.unwrap();
    assert!(again.record.is_some());
    // and the same settings again cost nothing more
    w.object(&a).release_token(again.lease.unwrap().token);
    let got = begin(&w, &a, &q, false).await.unwrap();
    assert!(got.record.is_some());
    assert_eq!(w.rows_written(&a), written + 1);
}

#[tokio::test(start_paused = true)]
async fn the_object_applies_the_data_limit_the_caller_names() {
    let w = World::new();
    let small = ObjectSettings {
        max_data_bytes: 16,
        ..params()
    };
    let a = new_sid();
    let change = Change::Create {
        record: record(&small, w.now(), None),
        bind: None,
    };
    apply(&w, &a, &small, change).await.unwrap();
    let big = update("k", json!("a value well over sixteen bytes"), w.now());
    assert_eq!(
        apply(&w, &a, &small, big.clone()).await.unwrap_err(),
        "too_large"
    );
    // the same change under the default limit goes through
    apply(&w, &a, &params(), big).await.unwrap();
}
