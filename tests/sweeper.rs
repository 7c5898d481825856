//! One cron sweep run (`sweeper::run`) natively, through the public API only: an in-memory KV
//! ([`SweepStore`]) whose listing pages over a sorted key set with metadata, and a
//! [`RemoteBackend`] over a fake transport playing the sessions' objects (each `sweep` call
//! deletes the session's key, as the object would, unless the test says it is live or
//! unreachable).
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use edge_sessions::engine::session::record::Meta;
use edge_sessions::engine::sweep::sweeper::{
    self, listed_key, parse_list, SweepStore, SWEEP_CURSOR_KEY,
};
use edge_sessions::engine::sweep::{ListedKey, Page};
use edge_sessions::engine::wire::Op;
use edge_sessions::engine::worker::remote::{Failed, RemoteBackend, Transport};
use edge_sessions::engine::worker::retry::Failure;
use edge_sessions::{Config, Error, SessionId};
use serde_json::{json, Value};

/// The sweep's clock (Unix ms): metadata `exp` at or before it is expired.
const NOW: u64 = 500;
const PREFIX: &str = "session:";

/// The listed keys with their metadata, shared by the KV and the objects (which delete their
/// own key when they sweep).
type Keys = Rc<RefCell<BTreeMap<String, Option<Value>>>>;

#[derive(Default)]
struct Kv {
    keys: Keys,
    /// Plain values: the sweep's cursor.
    values: RefCell<HashMap<String, String>>,
    /// The cursor of every `list` call, in order.
    lists: RefCell<Vec<Option<String>>>,
    /// Every write and delete of a plain value.
    writes: RefCell<Vec<String>>,
    /// Fault: `get` fails.
    fail_get: Cell<bool>,
}

impl SweepStore for Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        if self.fail_get.get() {
            return Err(Error::Backend("kv get failed".into()));
        }
        Ok(self.values.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), Error> {
        self.writes.borrow_mut().push(format!("put {key}={value}"));
        self.values.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.writes.borrow_mut().push(format!("delete {key}"));
        self.values.borrow_mut().remove(key);
        Ok(())
    }
    /// KV-like paging: keys after the cursor (the last key returned), `limit` at a time.
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.lists.borrow_mut().push(cursor.clone());
        let keys = self.keys.borrow();
        let after: Vec<_> = keys
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| cursor.as_ref().is_none_or(|c| k.as_str() > c.as_str()))
            .collect();
        let page: Vec<ListedKey> = after
            .iter()
            .take(limit)
            .map(|(k, m)| listed_key((*k).clone(), (*m).clone()))
            .collect();
        Ok(Page {
            complete: after.len() <= limit,
            cursor: page.last().map(|k| k.name.clone()),
            keys: page,
        })
    }
}

/// The sessions' objects: `sweep` deletes the key unless the session is live or unreachable.
#[derive(Default)]
struct Objects {
    keys: Keys,
    live: RefCell<HashSet<String>>,
    unreachable: RefCell<HashSet<String>>,
    /// The session ids asked to sweep, in order.
    swept: RefCell<Vec<String>>,
}

impl Transport for Objects {
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        _channel: Option<&str>,
    ) -> Result<String, Failed> {
        assert_eq!(op, Op::Sweep);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["sid"], json!(sid));
        self.swept.borrow_mut().push(sid.to_owned());
        if self.unreachable.borrow().contains(sid) {
            return Err(Failed {
                failure: Failure::Other,
                error: Error::Backend("object unreachable".into()),
            });
        }
        let deleted = !self.live.borrow().contains(sid);
        if deleted {
            self.keys.borrow_mut().remove(&format!("{PREFIX}{sid}"));
        }
        Ok(json!({"ok": {"deleted": deleted}}).to_string())
    }
    async fn sleep(&self, _ms: u64) {}
}

struct World {
    kv: Kv,
    objects: RemoteBackend<Objects>,
}

impl World {
    fn new() -> World {
        let keys = Keys::default();
        let objects = Objects {
            keys: keys.clone(),
            ..Objects::default()
        };
        World {
            kv: Kv {
                keys,
                ..Kv::default()
            },
            objects: RemoteBackend::new(objects, &Config::default()),
        }
    }

    /// Lists `id` with metadata `meta` (raw JSON, so tests can store bad metadata).
    fn add(&self, id: &SessionId, meta: Option<Value>) {
        let key = format!("{PREFIX}{}", id.as_str());
        self.kv.keys.borrow_mut().insert(key, meta);
    }

    fn swept(&self) -> Vec<String> {
        self.objects.transport().swept.borrow().clone()
    }

    fn cursor(&self) -> Option<String> {
        self.kv.values.borrow().get(SWEEP_CURSOR_KEY).cloned()
    }

    async fn run(&self, budget: usize, page: usize) -> sweeper::SweepReport {
        let cfg = Config {
            sweep_budget: budget,
            sweep_page: page,
            ..Config::default()
        };
        sweeper::run(&self.kv, &self.objects, &cfg, NOW)
            .await
            .unwrap()
    }
}

/// `n` fresh ids in key order, so tests know which page each lands on.
fn sorted_ids(n: usize) -> Vec<SessionId> {
    let mut ids: Vec<SessionId> = (0..n).map(|_| SessionId::generate().unwrap()).collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids
}

fn expired() -> Option<Value> {
    Some(json!({"exp": NOW, "ver": 1})) // exp == now counts as expired
}

fn live() -> Option<Value> {
    Some(json!({"exp": NOW + 1, "ver": 1}))
}

fn key(id: &SessionId) -> String {
    format!("{PREFIX}{}", id.as_str())
}

fn strs(ids: &[SessionId]) -> Vec<String> {
    ids.iter().map(|i| i.as_str().to_owned()).collect()
}

fn tags(ids: &[SessionId]) -> Vec<String> {
    ids.iter().map(SessionId::log_tag).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn only_expired_keys_are_swept() {
    let w = World::new();
    let ids = sorted_ids(7);
    for id in &ids[..3] {
        w.add(id, expired());
    }
    w.add(&ids[3], live());
    w.add(&ids[4], Some(json!({"exp": "soon", "ver": 1}))); // metadata that does not decode
    w.add(&ids[5], None); // no metadata
    w.add(&ids[6], expired()); // KV says expired, the object knows better
    w.objects
        .transport()
        .live
        .borrow_mut()
        .insert(ids[6].as_str().into());
    w.kv.keys
        .borrow_mut()
        .insert(format!("{PREFIX}not-an-id"), expired());
    w.kv.keys.borrow_mut().insert("other:x".into(), expired());

    let report = w.run(900, 1000).await;
    let mut want = strs(&ids[..3]);
    want.push(ids[6].as_str().into());
    assert_eq!(w.swept(), want);
    assert_eq!(report.expired, tags(&ids[..3]));
    assert!(
        report
            .line
            .contains("pages=1 listed=8 deleted=3 kept_live=1 skipped=3"),
        "{}",
        report.line
    );
    assert!(report.line.contains("resume=from start"), "{}", report.line);
    // started from the beginning and finished: the cursor is untouched
    assert!(w.kv.writes.borrow().is_empty());
}

#[test]
fn parse_list_reads_a_kv_listing() {
    let page = parse_list(
        &json!({
            "keys": [
                {"name": "session:a", "metadata": {"exp": 5, "ver": 2}},
                {"name": "session:b", "metadata": {"exp": "x"}},
                {"name": "session:c", "metadata": null},
                {"name": "session:d"},
            ],
            "list_complete": false,
            "cursor": "next-page",
        })
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        page,
        Page {
            keys: vec![
                ListedKey {
                    name: "session:a".into(),
                    meta: Some(Meta { exp: 5, ver: 2 }),
                },
                ListedKey {
                    name: "session:b".into(),
                    meta: None,
                },
                ListedKey {
                    name: "session:c".into(),
                    meta: None,
                },
                ListedKey {
                    name: "session:d".into(),
                    meta: None,
                },
            ],
            cursor: Some("next-page".into()),
            complete: false,
        }
    );

    // the runtime may send an empty cursor on the last page
    let last = parse_list(r#"{"keys": [], "list_complete": true, "cursor": ""}"#).unwrap();
    assert_eq!((last.cursor, last.complete), (None, true));
    let bare = parse_list(r#"{"keys": [], "list_complete": true}"#).unwrap();
    assert_eq!(bare.cursor, None);

    for bad in [
        "",
        "[]",
        r#"{"keys": []}"#,
        r#"{"keys": [{}], "list_complete": true}"#,
    ] {
        assert!(matches!(parse_list(bad), Err(Error::Backend(_))), "{bad}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_budget_stops_a_run_and_the_next_run_resumes() {
    let w = World::new();
    let ids = sorted_ids(6);
    for id in &ids {
        w.add(id, expired());
    }
    // 2 for the cursor, 1 list and 2 deletes: exactly one page of 2 per run
    let first = w.run(5, 2).await;
    assert_eq!(w.swept(), strs(&ids[..2]));
    assert_eq!(first.expired, tags(&ids[..2]));
    assert!(first.line.contains("resume=next run"), "{}", first.line);
    assert_eq!(w.cursor(), Some(key(&ids[1])));

    let second = w.run(5, 2).await;
    assert_eq!(second.expired, tags(&ids[2..4]));
    assert_eq!(w.cursor(), Some(key(&ids[3])));

    let third = w.run(900, 2).await;
    assert_eq!(third.expired, tags(&ids[4..]));
    assert_eq!(w.swept(), strs(&ids));
    assert_eq!(
        *w.kv.lists.borrow(),
        [None, Some(key(&ids[1])), Some(key(&ids[3]))]
    );
    // finished: the cursor is deleted, so the next run starts from the beginning
    assert_eq!(w.cursor(), None);
    assert_eq!(
        *w.kv.writes.borrow(),
        [
            format!("put {SWEEP_CURSOR_KEY}={}", key(&ids[1])),
            format!("put {SWEEP_CURSOR_KEY}={}", key(&ids[3])),
            format!("delete {SWEEP_CURSOR_KEY}"),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_page_that_does_not_fit_the_budget_is_finished_next_run() {
    let w = World::new();
    let ids = sorted_ids(4);
    for id in &ids {
        w.add(id, expired());
    }
    // room for 2 deletes on a page of 4: the run stops at this page's start
    let first = w.run(5, 4).await;
    assert_eq!(first.expired, tags(&ids[..2]));
    assert!(first.line.contains("resume=from start"), "{}", first.line);
    assert_eq!(w.cursor(), None);
    let second = w.run(900, 4).await;
    assert_eq!(second.expired, tags(&ids[2..]));
    assert!(w.kv.keys.borrow().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_object_call_makes_the_next_run_repeat_its_page() {
    let w = World::new();
    let ids = sorted_ids(6);
    for id in &ids {
        w.add(id, expired());
    }
    w.objects
        .transport()
        .unreachable
        .borrow_mut()
        .insert(ids[3].as_str().into());

    let first = w.run(900, 2).await;
    // the failing page is finished (the others on it are swept), then the run stops
    assert_eq!(w.swept(), strs(&ids[..4]));
    assert_eq!(first.expired, tags(&ids[..3]));
    assert_eq!(*w.kv.lists.borrow(), [None, Some(key(&ids[1]))]);
    assert_eq!(w.cursor(), Some(key(&ids[1])), "resume at the failed page");

    w.objects.transport().unreachable.borrow_mut().clear();
    let second = w.run(900, 2).await;
    assert_eq!(second.expired, tags(&ids[3..]));
    assert_eq!(w.kv.lists.borrow()[2], Some(key(&ids[1])));
    assert!(w.kv.keys.borrow().is_empty());
    assert_eq!(w.cursor(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failure_on_the_first_page_stops_the_run_there() {
    let w = World::new();
    let ids = sorted_ids(4);
    for id in &ids {
        w.add(id, expired());
    }
    w.objects
        .transport()
        .unreachable
        .borrow_mut()
        .insert(ids[0].as_str().into());
    let report = w.run(900, 2).await;
    assert_eq!(*w.kv.lists.borrow(), [None]);
    assert_eq!(report.expired, tags(&ids[1..2]));
    assert!(report.line.contains("resume=from start"), "{}", report.line);
    assert!(w.kv.writes.borrow().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_kv_failure_fails_the_run_and_run_logged_swallows_it() {
    let w = World::new();
    w.add(&SessionId::generate().unwrap(), expired());
    w.kv.fail_get.set(true);
    let cfg = Config::default();
    assert!(matches!(
        sweeper::run(&w.kv, &w.objects, &cfg, NOW).await,
        Err(Error::Backend(_))
    ));
    assert_eq!(
        sweeper::run_logged(&w.kv, &w.objects, &cfg, NOW).await,
        None
    );
    assert!(w.swept().is_empty());
    w.kv.fail_get.set(false);
    let report = sweeper::run_logged(&w.kv, &w.objects, &cfg, NOW).await;
    assert_eq!(report.map(|r| r.expired.len()), Some(1));
}
