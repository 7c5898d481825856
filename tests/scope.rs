//! The handler scope both libraries wrap (`engine::scope`): `SESSION_COMMIT=after-response`
//! defers exactly the plain updates of an existing locked session, holding the lock until the
//! deferred commit lands; everything else is confirmed before the response.
use std::rc::Rc;
use std::time::Duration;

use edge_sessions::engine::worker::memory::{MemoryBackend, SleepFuture};
use edge_sessions::engine::worker::scope::{Finished, Sessions, Unlock};
use edge_sessions::engine::worker::store::Backend;
use edge_sessions::{CommitMode, Config, Error, SessionId, Signer};
use serde_json::json;

const SECRET: &str = "scope-secret-0123456789abcdef-0123456";

fn cfg(commit: CommitMode) -> Config {
    Config {
        commit,
        timeout: Duration::from_secs(100),
        lock_wait: Duration::ZERO, // a held lock is a LockTimeout at once
        ..Config::default()
    }
}

fn sessions(commit: CommitMode) -> (Sessions<Rc<MemoryBackend>>, Rc<MemoryBackend>) {
    let clock: Rc<dyn Fn() -> u64> = Rc::new(|| 1_000);
    let sleeper: Rc<dyn Fn(u64) -> SleepFuture> = Rc::new(|_| Box::pin(async {}));
    let b = Rc::new(MemoryBackend::new(cfg(commit), clock, sleeper));
    let s = Sessions::new(cfg(commit), Signer::from_list(SECRET).unwrap(), b.clone());
    (s, b)
}

/// The cookie header for a session created with `n = 0`, and its id.
async fn created(s: &Sessions<Rc<MemoryBackend>>) -> (String, SessionId) {
    let mut scope = s.start("", "/", None);
    let session = scope.session(1_000).await.unwrap();
    session.set("n", json!(0)).unwrap();
    let id = session.id().clone();
    let done = scope.finish(1_000).await.unwrap();
    assert!(
        done.unlock.is_none(),
        "a create is confirmed before the response"
    );
    let set = done.set_cookie.expect("a new session gets a cookie");
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, id)
}

async fn is_locked(b: &MemoryBackend, id: &SessionId) -> bool {
    match b.begin(id, true).await {
        Ok(begun) => {
            b.release(id, &begun.lease.unwrap()).await.unwrap();
            false
        }
        Err(Error::LockTimeout) => true,
        Err(e) => panic!("unexpected {e}"),
    }
}

/// Runs a test on a current-thread runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

async fn update(
    s: &Sessions<Rc<MemoryBackend>>,
    cookie: &str,
    n: u64,
) -> Finished<Rc<MemoryBackend>> {
    let mut scope = s.start(cookie, "/", None);
    scope
        .session(1_000)
        .await
        .unwrap()
        .set("n", json!(n))
        .unwrap();
    scope.finish(1_000).await.unwrap()
}

#[test]
fn after_response_defers_a_plain_update_and_holds_the_lock_until_it_lands() {
    block_on(async {
        let (s, b) = sessions(CommitMode::AfterResponse);
        let (cookie, id) = created(&s).await;
        let done = update(&s, &cookie, 1).await;
        let Some(unlock @ Unlock::Commit { .. }) = done.unlock else {
            panic!("a plain update under the lock is deferred")
        };
        assert_eq!(
            b.stored(&id).unwrap().data()["n"],
            json!(0),
            "not written before the response"
        );
        assert!(
            is_locked(&b, &id).await,
            "the lock is held until the deferred commit lands"
        );
        unlock.run().await;
        assert_eq!(b.stored(&id).unwrap().data()["n"], json!(1));
        assert!(!is_locked(&b, &id).await, "released with the commit");
    });
}

#[test]
fn before_response_is_the_default_and_confirms_every_update() {
    block_on(async {
        let (s, b) = sessions(CommitMode::default());
        let (cookie, id) = created(&s).await;
        let done = update(&s, &cookie, 1).await;
        assert!(done.unlock.is_none());
        assert_eq!(b.stored(&id).unwrap().data()["n"], json!(1));
        assert!(!is_locked(&b, &id).await);
    });
}

#[test]
fn after_response_still_confirms_regenerate_destroy_and_refusals_first() {
    block_on(async {
        let (s, b) = sessions(CommitMode::AfterResponse);
        // regenerate: the new id exists and the old one is gone before the response
        let (cookie, old) = created(&s).await;
        let mut scope = s.start(&cookie, "/", None);
        scope.session(1_000).await.unwrap().regenerate().unwrap();
        let done = scope.finish(1_000).await.unwrap();
        assert!(done.unlock.is_none());
        assert!(b.stored(&old).is_none());
        // destroy
        let (cookie, id) = created(&s).await;
        let mut scope = s.start(&cookie, "/", None);
        scope.session(1_000).await.unwrap().destroy();
        assert!(scope.finish(1_000).await.unwrap().unlock.is_none());
        assert!(b.stored(&id).is_none());
        // too large: refused before the response, nothing saved, lock free
        let (cookie, id) = created(&s).await;
        let mut scope = s.start(&cookie, "/", None);
        let big = "x".repeat(5_000);
        scope
            .session(1_000)
            .await
            .unwrap()
            .set("big", json!(big))
            .unwrap();
        assert!(matches!(
            scope.finish(1_000).await,
            Err(Error::TooLarge { .. })
        ));
        assert_eq!(b.stored(&id).unwrap().data().get("big"), None);
        assert!(!is_locked(&b, &id).await);
    });
}

#[test]
fn after_response_leaves_a_read_only_request_to_a_plain_release() {
    block_on(async {
        let (s, b) = sessions(CommitMode::AfterResponse);
        let (cookie, id) = created(&s).await;
        let mut scope = s.start(&cookie, "/", None);
        scope.session(1_000).await.unwrap();
        let done = scope.finish(1_000).await.unwrap();
        let Some(unlock @ Unlock::Release { .. }) = done.unlock else {
            panic!("a read holds nothing to write")
        };
        unlock.run().await;
        assert!(!is_locked(&b, &id).await);
    });
}
