//! The engine's [`RemoteBackend`] natively, through its public API only, over a fake
//! [`Transport`] that records every call, answers from a script and sleeps instantly: retries
//! (only for failures the runtime marks retryable, with the same call id), refusals mapped to
//! errors, the release of a lease whose grant may have been lost, and the channel a granted
//! lease's later calls travel on.
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use edge_sessions::engine::session::edits::Edits;
use edge_sessions::engine::session::record::Change;
use edge_sessions::engine::wire::Op;
use edge_sessions::engine::worker::remote::{Failed, RemoteBackend, Transport};
use edge_sessions::engine::worker::retry::Failure;
use edge_sessions::engine::worker::store::Backend;
use edge_sessions::{Config, Error, Lease, SessionId};
use serde_json::{json, Value};

/// One call as the transport saw it.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    op: Op,
    body: Value,
    channel: Option<String>,
}

/// A scripted outcome of one attempt.
enum Answer {
    /// The object's answer, a JSON `Reply`.
    Reply(Value),
    /// The call failed on the way, marked so.
    Fail(Failure),
}

/// Records everything; answers from `script` in order, then `{"ok": null}` (enough for
/// `apply` and `release`, whose answers are ignored).
#[derive(Default)]
struct Fake {
    script: RefCell<VecDeque<Answer>>,
    calls: RefCell<Vec<Call>>,
    closed: RefCell<Vec<String>>,
    /// What `close` returns: true when ending the channel releases the lease.
    close_releases: Cell<bool>,
    /// What `forget` returns: true when the transport held a stub on the channel.
    holds_stubs: Cell<bool>,
    forgotten: RefCell<Vec<String>>,
    waits: RefCell<Vec<u64>>,
}

impl Transport for Fake {
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        channel: Option<&str>,
    ) -> Result<String, Failed> {
        self.calls.borrow_mut().push(Call {
            name: sid.to_owned(),
            op,
            body: serde_json::from_str(&body).expect("bodies are JSON"),
            channel: channel.map(str::to_owned),
        });
        match self.script.borrow_mut().pop_front() {
            Some(Answer::Reply(v)) => Ok(v.to_string()),
            Some(Answer::Fail(failure)) => Err(Failed {
                failure,
                error: Error::Backend(format!("injected {failure:?}")),
            }),
            None => Ok(json!({"ok": null}).to_string()),
        }
    }

    fn close(&self, channel: &str) -> bool {
        self.closed.borrow_mut().push(channel.to_owned());
        self.close_releases.get()
    }

    fn forget(&self, channel: &str) -> bool {
        self.forgotten.borrow_mut().push(channel.to_owned());
        self.holds_stubs.get()
    }

    async fn sleep(&self, ms: u64) {
        self.waits.borrow_mut().push(ms);
    }
}

fn remote(script: Vec<Answer>) -> RemoteBackend<Fake> {
    let fake = Fake::default();
    *fake.script.borrow_mut() = script.into();
    RemoteBackend::new(fake, &Config::default())
}

fn calls(b: &RemoteBackend<Fake>) -> Vec<Call> {
    b.transport().calls.borrow().clone()
}

fn ok(v: Value) -> Answer {
    Answer::Reply(json!({ "ok": v }))
}

fn refused(err: Value) -> Answer {
    Answer::Reply(json!({ "err": err }))
}

fn sid() -> SessionId {
    SessionId::generate().unwrap()
}

fn refresh() -> Change {
    Change::Update {
        edits: Edits::new(),
        accessed: 1_000,
        timeout_ms: None,
        bind: None,
    }
}

fn granted(token: u64) -> Answer {
    ok(json!({"lease": {"token": token, "expires": 9_000}, "record": null}))
}

const LEASE: Lease = Lease {
    token: 7,
    expires: 9_000,
};

#[tokio::test(flavor = "current_thread")]
async fn retryable_failures_are_retried_with_backoff_and_the_same_call_id() {
    let b = remote(vec![
        Answer::Fail(Failure::Retryable),
        Answer::Fail(Failure::Retryable),
    ]);
    let id = sid();
    b.apply(&id, &refresh(), None, false).await.unwrap();
    let c = calls(&b);
    assert_eq!(c.len(), 3);
    assert!(c.iter().all(|x| x.op == Op::Apply && x.name == id.as_str()));
    // a retry is the same logical call: the object recognises it by its rid
    assert!(c.iter().all(|x| x.body == c[0].body));
    assert!(c[0].body["rid"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(*b.transport().waits.borrow(), [50, 200]);
}

#[tokio::test(flavor = "current_thread")]
async fn retries_stop_after_three_attempts() {
    let b = remote((0..5).map(|_| Answer::Fail(Failure::Retryable)).collect());
    let err = b.sweep(&sid()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Backend(m) if m.contains("Retryable")),
        "{err}"
    );
    assert_eq!(calls(&b).len(), 3);
    assert_eq!(*b.transport().waits.borrow(), [50, 200]);
}

#[tokio::test(flavor = "current_thread")]
async fn overloaded_and_other_failures_are_never_retried() {
    for failure in [Failure::Overloaded, Failure::Other] {
        let b = remote(vec![Answer::Fail(failure), ok(json!({"deleted": true}))]);
        let err = b.sweep(&sid()).await.unwrap_err();
        // the transport's own error comes back, not a generic one
        assert!(
            matches!(&err, Error::Backend(m) if m == &format!("injected {failure:?}")),
            "{err}"
        );
        assert_eq!(calls(&b).len(), 1, "{failure:?}");
        assert!(b.transport().waits.borrow().is_empty());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refusal_is_final_and_maps_to_its_error() {
    let b = remote(vec![refused(json!({"error": "lease_lost"})), granted(1)]);
    let err = b.apply(&sid(), &refresh(), None, false).await.unwrap_err();
    assert!(matches!(err, Error::LeaseLost), "{err}");
    assert_eq!(calls(&b).len(), 1);
    assert!(b.transport().waits.borrow().is_empty());

    let b = remote(vec![refused(
        json!({"error": "too_large", "size": 5000, "limit": 4096}),
    )]);
    let err = b.apply(&sid(), &refresh(), None, false).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                size: 5000,
                limit: 4096
            }
        ),
        "{err}"
    );

    for (kind, want) in [("lock_timeout", "LockTimeout"), ("gone", "Gone")] {
        let b = remote(vec![refused(json!({ "error": kind }))]);
        let err = b.apply(&sid(), &refresh(), None, false).await.unwrap_err();
        assert_eq!(format!("{err:?}"), want);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_answer_that_is_not_a_reply_is_a_backend_error() {
    let b = remote(vec![Answer::Reply(json!({"deleted": true}))]);
    assert!(matches!(b.sweep(&sid()).await, Err(Error::Backend(_))));
    assert_eq!(calls(&b).len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_locking_begin_releases_whatever_its_call_was_granted() {
    let b = remote(vec![Answer::Fail(Failure::Other)]);
    let id = sid();
    assert!(b.begin(&id, true).await.is_err());
    let c = calls(&b);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0].op, Op::Begin);
    assert_eq!(c[0].body["lock"], json!(true));
    let rid = c[0].body["rid"].clone();
    // the grant may have been lost on the way back: release by the begin's call id
    assert_eq!(c[1].op, Op::Release);
    assert_eq!(c[1].name, id.as_str());
    assert_eq!(c[1].body["caller"], rid);
    assert_eq!(c[1].body["lease"], Value::Null);
    // and the begin's channel never carried a lease
    assert_eq!(*b.transport().closed.borrow(), [rid.as_str().unwrap()]);

    // a refused begin is the same: the object may still hold the caller in its queue
    let b = remote(vec![refused(json!({"error": "lock_timeout"}))]);
    assert!(matches!(b.begin(&id, true).await, Err(Error::LockTimeout)));
    let c = calls(&b);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].body["caller"], c[0].body["rid"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_begin_without_the_lock_releases_nothing() {
    let b = remote(vec![Answer::Fail(Failure::Other)]);
    assert!(b.begin(&sid(), false).await.is_err());
    assert_eq!(calls(&b).len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_granted_lease_keeps_its_channel_until_an_apply_releases_it() {
    let b = remote(vec![granted(7)]);
    let id = sid();
    let begun = b.begin(&id, true).await.unwrap();
    assert_eq!(begun.lease, Some(LEASE));
    let begin = &calls(&b)[0];
    let rid = begin.body["rid"].as_str().unwrap().to_owned();
    assert_eq!(begin.channel.as_deref(), Some(rid.as_str()));
    assert!(b.transport().closed.borrow().is_empty());

    b.apply(&id, &refresh(), Some(&LEASE), false).await.unwrap();
    b.apply(&id, &refresh(), Some(&LEASE), true).await.unwrap();
    let c = calls(&b);
    assert_eq!(c[1].channel.as_deref(), Some(rid.as_str()));
    assert_eq!(c[2].channel.as_deref(), Some(rid.as_str()));
    assert_eq!(c[2].body["release"], json!(true));
    assert_eq!(c[2].body["lease"]["token"], json!(7));
    // each apply is its own logical call
    assert_ne!(c[1].body["rid"], c[2].body["rid"]);
    assert_eq!(*b.transport().closed.borrow(), [rid.as_str()]);

    // the channel is gone: a later release goes by call, off any channel
    b.release(&id, &LEASE).await.unwrap();
    let c = calls(&b);
    assert_eq!(c.len(), 4);
    assert_eq!((c[3].op, c[3].channel.clone()), (Op::Release, None));
    assert_eq!(b.transport().closed.borrow().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_releasing_apply_still_closes_the_channel() {
    let b = remote(vec![granted(7), refused(json!({"error": "lease_lost"}))]);
    let id = sid();
    b.begin(&id, true).await.unwrap();
    let rid = calls(&b)[0].body["rid"].as_str().unwrap().to_owned();
    let err = b.apply(&id, &refresh(), Some(&LEASE), true).await;
    assert!(matches!(err, Err(Error::LeaseLost)));
    assert_eq!(*b.transport().closed.borrow(), [rid]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_lease_is_released_by_closing_its_channel_when_that_releases() {
    let b = remote(vec![granted(7)]);
    b.transport().close_releases.set(true);
    let id = sid();
    b.begin(&id, true).await.unwrap();
    let rid = calls(&b)[0].body["rid"].as_str().unwrap().to_owned();
    b.release(&id, &LEASE).await.unwrap();
    assert_eq!(calls(&b).len(), 1, "no release call: the close did it");
    assert_eq!(*b.transport().closed.borrow(), [rid]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_lease_is_released_by_call_when_closing_does_not_release() {
    let b = remote(vec![granted(7)]);
    let id = sid();
    b.begin(&id, true).await.unwrap();
    let rid = calls(&b)[0].body["rid"].as_str().unwrap().to_owned();
    b.release(&id, &LEASE).await.unwrap();
    let c = calls(&b);
    assert_eq!(c.len(), 2);
    assert_eq!((c[1].op, c[1].name.as_str()), (Op::Release, id.as_str()));
    assert_eq!(c[1].body["lease"], json!({"token": 7, "expires": 9_000}));
    assert_eq!(c[1].channel, None);
    assert_eq!(*b.transport().closed.borrow(), [rid]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_begin_without_a_lease_closes_its_channel_at_once() {
    let b = remote(vec![ok(json!({"lease": null, "record": null}))]);
    let id = sid();
    let begun = b.begin(&id, false).await.unwrap();
    assert_eq!(begun.lease, None);
    let c = calls(&b);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].body["lock"], json!(false));
    let rid = c[0].body["rid"].as_str().unwrap();
    assert_eq!(c[0].channel.as_deref(), Some(rid));
    assert_eq!(*b.transport().closed.borrow(), [rid]);
}

#[tokio::test(flavor = "current_thread")]
async fn leases_of_other_sessions_or_tokens_have_no_channel() {
    let b = remote(vec![granted(7)]);
    let id = sid();
    b.begin(&id, true).await.unwrap();
    let other = Lease { token: 8, ..LEASE };
    b.apply(&id, &refresh(), Some(&other), false).await.unwrap();
    b.apply(&sid(), &refresh(), Some(&LEASE), false)
        .await
        .unwrap();
    b.apply(&id, &refresh(), None, false).await.unwrap();
    let c = calls(&b);
    assert!(c[1..].iter().all(|x| x.channel.is_none()), "{c:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn user_calls_go_to_the_users_index() {
    let b = remote(vec![
        ok(json!([])),
        ok(json!({"destroyed": 3})),
        ok(json!({"destroyed": 0})),
    ]);
    let me = sid();
    assert!(b.user_list("alice", Some(&me)).await.unwrap().is_empty());
    assert_eq!(b.user_destroy("alice", Some(&me)).await.unwrap(), 3);
    assert_eq!(b.user_destroy("alice", None).await.unwrap(), 0);
    let c = calls(&b);
    assert!(c
        .iter()
        .all(|x| x.name == "user:alice" && x.channel.is_none()));
    assert_eq!(
        c.iter().map(|x| x.op).collect::<Vec<_>>(),
        [Op::UserList, Op::UserDestroy, Op::UserDestroy]
    );
    assert_eq!(c[0].body["uid"], json!("alice"));
    assert_eq!(c[0].body["sid"], json!(me.as_str()));
    assert_eq!(c[1].body["sid"], json!(me.as_str()));
    assert_eq!(c[2].body.get("sid"), None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_user_id_fails_before_any_call() {
    let b = remote(vec![]);
    for bad in ["", "a:b", "a/b", "x y", "u".repeat(129).as_str()] {
        assert!(matches!(
            b.user_list(bad, None).await,
            Err(Error::Config(_))
        ));
        assert!(matches!(
            b.user_destroy(bad, None).await,
            Err(Error::Config(_))
        ));
    }
    assert!(calls(&b).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn sweep_asks_the_sessions_object() {
    let b = remote(vec![
        ok(json!({"deleted": true})),
        ok(json!({"deleted": false})),
    ]);
    let id = sid();
    assert!(b.sweep(&id).await.unwrap());
    assert!(!b.sweep(&id).await.unwrap());
    let c = calls(&b);
    assert!(c
        .iter()
        .all(|x| x.op == Op::Sweep && x.name == id.as_str() && x.channel.is_none()));
    assert_eq!(c[0].body["sid"], json!(id.as_str()));
}

/// A locked `begin` on a fresh backend whose transport holds lease stubs; the channel it opened.
async fn locked(b: &RemoteBackend<Fake>, id: &SessionId) -> String {
    b.transport().holds_stubs.set(true);
    b.begin(id, true).await.unwrap();
    calls(b)[0]
        .channel
        .clone()
        .expect("a locking begin opens a channel")
}

#[tokio::test(flavor = "current_thread")]
async fn an_unmarked_failure_on_a_lease_channel_is_asked_once_of_the_object_itself() {
    let b = remote(vec![
        granted(7),
        Answer::Fail(Failure::Other),
        ok(json!({})),
    ]);
    let id = sid();
    let ch = locked(&b, &id).await;
    b.apply(&id, &refresh(), Some(&LEASE), true).await.unwrap();
    let c = calls(&b);
    assert_eq!(c.len(), 3);
    assert_eq!(
        c[1].channel.as_deref(),
        Some(ch.as_str()),
        "first on the lease's stub"
    );
    assert_eq!(c[2].channel, None, "then on the object itself");
    assert_eq!(
        c[2].body, c[1].body,
        "the same call, so a repeat is harmless"
    );
    assert_eq!(*b.transport().forgotten.borrow(), [ch]);
    assert!(
        b.transport().waits.borrow().is_empty(),
        "asked at once, not a retry"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn only_unmarked_failures_on_a_held_channel_are_asked_of_the_object() {
    // a transport without stubs (fetch): the failure is final
    let b = remote(vec![granted(7), Answer::Fail(Failure::Other)]);
    let id = sid();
    b.begin(&id, true).await.unwrap();
    assert!(b.apply(&id, &refresh(), Some(&LEASE), false).await.is_err());
    assert_eq!(calls(&b).len(), 2);
    // overloaded: never more load; retryable: the retry rules, on the same channel
    let b = remote(vec![granted(7), Answer::Fail(Failure::Overloaded)]);
    locked(&b, &id).await;
    assert!(b.apply(&id, &refresh(), Some(&LEASE), false).await.is_err());
    assert_eq!(calls(&b).len(), 2);
    let b = remote(vec![
        granted(7),
        Answer::Fail(Failure::Retryable),
        ok(json!({})),
    ]);
    let ch = locked(&b, &id).await;
    b.apply(&id, &refresh(), Some(&LEASE), false).await.unwrap();
    let c = calls(&b);
    assert_eq!(c[2].channel.as_deref(), Some(ch.as_str()));
    assert!(b.transport().forgotten.borrow().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn settings_go_by_version_and_whole_only_when_asked_or_for_a_new_object() {
    let settings = |c: &Call| c.body["settings"].clone();
    let b = remote(vec![granted(7)]);
    let id = sid();
    let begun = b.begin(&id, true).await.unwrap();
    b.apply(&id, &refresh(), begun.lease.as_ref(), true)
        .await
        .unwrap();
    let seen = calls(&b);
    let v = settings(&seen[0])["v"].clone();
    assert!(v.is_u64(), "{seen:?}");
    for c in &seen {
        assert_eq!(settings(c), json!({ "v": v }), "by version only: {c:?}");
    }
    // a new session's object has none: its create carries them
    let create = Change::Create {
        record: edge_sessions::engine::Record::new(&Config::default(), Default::default(), 1),
        bind: None,
    };
    b.apply(&sid(), &create, None, false).await.unwrap();
    let whole = settings(calls(&b).last().unwrap());
    assert_eq!(whole["v"], v);
    assert_eq!(whole["full"]["max_data_bytes"], json!(4096));
}

#[tokio::test(flavor = "current_thread")]
async fn an_object_without_the_settings_is_asked_again_with_them_once() {
    let unknown = || refused(json!({"error": "settings"}));
    let b = remote(vec![unknown(), granted(3)]);
    let id = sid();
    let begun = b.begin(&id, true).await.unwrap();
    assert_eq!(begun.lease.map(|l| l.token), Some(3));
    let seen = calls(&b);
    assert_eq!(seen.len(), 2);
    assert!(seen[0].body["settings"].get("full").is_none());
    assert!(seen[1].body["settings"]["full"].is_object());
    // the same call, on the same channel (not a new billed call on a stub), same call id
    assert_eq!(seen[0].body["rid"], seen[1].body["rid"]);
    assert_eq!(seen[0].channel, seen[1].channel);
    assert!(b.transport().waits.borrow().is_empty());

    // refused again with them: an internal error, not a loop
    let b = remote(vec![unknown(), unknown(), unknown()]);
    let err = b.apply(&sid(), &refresh(), None, false).await.unwrap_err();
    assert!(matches!(err, Error::Internal(_)), "{err}");
    assert_eq!(calls(&b).len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn every_logical_call_has_its_own_call_id() {
    let b = remote(vec![granted(1), ok(Value::Null), granted(2)]);
    let id = sid();
    for _ in 0..2 {
        let begun = b.begin(&id, true).await.unwrap();
        b.apply(&id, &refresh(), begun.lease.as_ref(), true)
            .await
            .unwrap();
    }
    let rids: Vec<String> = calls(&b)
        .iter()
        .map(|c| c.body["rid"].as_str().expect("a call id").to_owned())
        .collect();
    assert_eq!(rids.len(), 4);
    let distinct: std::collections::HashSet<&String> = rids.iter().collect();
    assert_eq!(distinct.len(), 4, "{rids:?}");
    // long enough to be unguessable across isolates: the random part is a session id's
    assert!(rids.iter().all(|r| r.len() > 32), "{rids:?}");
}
