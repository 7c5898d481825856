//! The per-id lock: a FIFO queue with leases and fencing tokens.
//!
//! One [`FifoLock`] guards one session id, inside a single-threaded owner (the session's
//! Durable Object, or the in-memory backend). Waiters are woken by the release itself through
//! a oneshot channel, never by polling. A lease ends at its expiry if its holder dies; the next
//! waiter's own timer notices and takes over. Every grant gets a strictly larger token, and
//! [`FifoLock::check`] refuses writes from anyone but the current, unexpired holder, so a
//! holder that stalled past its lease cannot overwrite newer data.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;

use futures_channel::oneshot;
use futures_util::future::{select, Either};
use serde::{Deserialize, Serialize};

use crate::engine::Error;

/// A granted lock: the fencing token and when the grant ends (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Strictly increasing per lock; writes must carry the current one.
    pub token: u64,
    /// Expiry of this lease.
    pub expires: u64,
}

struct Waiter {
    ticket: u64,
    lease_ms: u64,
    caller: Option<String>,
    tx: oneshot::Sender<Lease>,
}

struct State {
    last_token: u64,
    holder: Option<Lease>,
    /// The call id the holder's lease was granted to, if it gave one.
    holder_caller: Option<String>,
    waiters: VecDeque<Waiter>,
    next_ticket: u64,
}

/// A FIFO lock with leases. Single-threaded by design (interior mutability, no borrow is
/// held across an await).
pub struct FifoLock {
    state: RefCell<State>,
}

impl FifoLock {
    /// A free lock whose first token will be `token_floor + 1`. Owners that can restart pick a
    /// floor above any token issued before the restart (the Durable Object uses its start
    /// time in microseconds), so tokens keep increasing across restarts.
    pub fn new(token_floor: u64) -> Self {
        Self::with_floor(token_floor)
    }

    /// The lock of an owner incarnation started at `start_ms` (Unix ms) that may have
    /// restarted: tokens start above the start time in microseconds, so they exceed every
    /// token an earlier incarnation issued as long as it granted fewer than a thousand leases
    /// per millisecond of its life (a lease grant costs a round trip, so it cannot).
    pub fn for_incarnation(start_ms: u64) -> Self {
        Self::with_floor(start_ms.saturating_mul(1_000))
    }

    fn with_floor(token_floor: u64) -> Self {
        FifoLock {
            state: RefCell::new(State {
                last_token: token_floor,
                holder: None,
                holder_caller: None,
                waiters: VecDeque::new(),
                next_ticket: 0,
            }),
        }
    }

    fn grant(&self, st: &mut State, now: u64, lease_ms: u64, caller: Option<String>) -> Lease {
        st.last_token += 1;
        let lease = Lease {
            token: st.last_token,
            expires: now + lease_ms,
        };
        st.holder = Some(lease);
        st.holder_caller = caller;
        lease
    }

    /// Hands the free lock to the first waiter still listening.
    fn hand_off(&self, st: &mut State, now: u64) {
        while let Some(w) = st.waiters.pop_front() {
            let lease = self.grant(st, now, w.lease_ms, w.caller);
            if w.tx.send(lease).is_ok() {
                return;
            }
            st.holder = None;
            st.holder_caller = None;
        }
    }

    /// Ends an expired lease and wakes the next waiter. Returns true if a lease was ended.
    pub fn expire(&self, now: u64) -> bool {
        let mut st = self.state.borrow_mut();
        match st.holder {
            Some(h) if h.expires <= now => {
                st.holder = None;
                st.holder_caller = None;
                self.hand_off(&mut st, now);
                true
            }
            _ => false,
        }
    }

    /// Releases `token`'s lease and wakes the next waiter. A stale token changes nothing.
    pub fn release(&self, token: u64, now: u64) -> bool {
        let mut st = self.state.borrow_mut();
        if st.holder.map(|h| h.token) != Some(token) {
            return false;
        }
        st.holder = None;
        st.holder_caller = None;
        self.hand_off(&mut st, now);
        true
    }

    /// Releases whatever the call `caller` holds, and drops its places in the queue: its
    /// `begin` failed on the way back, so it never learnt its lease. Returns true if a lease
    /// was released.
    pub fn release_caller(&self, caller: &str, now: u64) -> bool {
        let token = {
            let mut st = self.state.borrow_mut();
            st.waiters.retain(|w| w.caller.as_deref() != Some(caller));
            match (st.holder, st.holder_caller.as_deref()) {
                (Some(h), Some(c)) if c == caller => Some(h.token),
                _ => None,
            }
        };
        token.is_some_and(|t| self.release(t, now))
    }

    /// Fencing: only the current holder, before its lease ends, may write.
    pub fn check(&self, token: u64, now: u64) -> Result<(), Error> {
        match self.state.borrow().holder {
            Some(h) if h.token == token && now < h.expires => Ok(()),
            _ => Err(Error::LeaseLost),
        }
    }

    /// The current lease, if any (expired or not).
    pub fn holder(&self) -> Option<Lease> {
        self.state.borrow().holder
    }

    /// Number of queued waiters.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiters.len()
    }

    /// Waits in FIFO order for the lock, at most `wait_ms`, for a lease of `lease_ms`. `now`
    /// reads the clock and `sleep(ms)` is the platform's timer; both are passed in so the same
    /// code serves the Durable Object and native tests.
    pub async fn acquire<N, S, F>(
        &self,
        now: N,
        wait_ms: u64,
        lease_ms: u64,
        sleep: S,
    ) -> Result<Lease, Error>
    where
        N: Fn() -> u64,
        S: Fn(u64) -> F,
        F: Future<Output = ()>,
    {
        self.acquire_as(None, now, wait_ms, lease_ms, sleep).await
    }

    /// [`FifoLock::acquire`] for the call `caller`: when that call already holds the lock (a
    /// retry whose first attempt was granted but whose answer was lost), it gets the same
    /// lease back instead of queueing behind itself.
    pub async fn acquire_as<N, S, F>(
        &self,
        caller: Option<&str>,
        now: N,
        wait_ms: u64,
        lease_ms: u64,
        sleep: S,
    ) -> Result<Lease, Error>
    where
        N: Fn() -> u64,
        S: Fn(u64) -> F,
        F: Future<Output = ()>,
    {
        let start = now();
        self.expire(start);
        let (ticket, mut rx) = {
            let mut st = self.state.borrow_mut();
            if let (Some(h), Some(c)) = (st.holder, caller) {
                if st.holder_caller.as_deref() == Some(c) {
                    return Ok(h);
                }
            }
            if st.holder.is_none() && st.waiters.is_empty() {
                return Ok(self.grant(&mut st, start, lease_ms, caller.map(str::to_owned)));
            }
            let (tx, rx) = oneshot::channel();
            let ticket = st.next_ticket;
            st.next_ticket += 1;
            st.waiters.push_back(Waiter {
                ticket,
                lease_ms,
                caller: caller.map(str::to_owned),
                tx,
            });
            (ticket, rx)
        };
        let deadline = start.saturating_add(wait_ms);
        loop {
            let t = now();
            if t >= deadline {
                return self.give_up(ticket, rx, t);
            }
            let holder_end = self.holder().map_or(deadline, |h| h.expires);
            let until = deadline.min(holder_end).max(t + 1);
            let timer = std::pin::pin!(sleep(until - t));
            match select(&mut rx, timer).await {
                Either::Left((Ok(lease), _)) => return Ok(lease),
                Either::Left((Err(_), _)) => {
                    return Err(Error::Backend("lock waiter dropped".into()))
                }
                Either::Right(((), _)) => {
                    self.expire(now());
                }
            }
        }
    }

    /// Leaves the queue after a timeout; a lease granted in the same instant is passed on.
    fn give_up(
        &self,
        ticket: u64,
        mut rx: oneshot::Receiver<Lease>,
        now: u64,
    ) -> Result<Lease, Error> {
        self.state
            .borrow_mut()
            .waiters
            .retain(|w| w.ticket != ticket);
        if let Ok(Some(lease)) = rx.try_recv() {
            self.release(lease.token, now);
        }
        Err(Error::LockTimeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use tokio::time::{sleep, Duration, Instant};

    fn clock() -> impl Fn() -> u64 + Clone {
        let t0 = Instant::now();
        move || t0.elapsed().as_millis() as u64 + 1_000
    }

    fn nap(ms: u64) -> tokio::time::Sleep {
        sleep(Duration::from_millis(ms))
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_fifo_with_increasing_tokens() {
        let lock = Rc::new(FifoLock::new(0));
        let now = clock();
        let first = lock.acquire(&now, 1_000, 10_000, nap).await.unwrap();
        let order = Rc::new(RefCell::new(Vec::new()));
        let local = tokio::task::LocalSet::new();
        let mut handles = Vec::new();
        for i in 0..5 {
            let (lock, order, now) = (lock.clone(), order.clone(), now.clone());
            handles.push(local.spawn_local(async move {
                nap(i as u64).await; // enqueue in a known order
                let l = lock.acquire(&now, 60_000, 10_000, nap).await.unwrap();
                order.borrow_mut().push((i, l.token));
                nap(5).await;
                lock.release(l.token, now());
            }));
        }
        let (l2, now2) = (lock.clone(), now.clone());
        handles.push(local.spawn_local(async move {
            nap(20).await;
            assert_eq!(l2.waiting(), 5);
            l2.release(first.token, now2());
        }));
        // join every task: a panic (a failed assertion) inside one fails the test
        local
            .run_until(async {
                for h in handles {
                    h.await.expect("task panicked");
                }
            })
            .await;
        let got = order.borrow().clone();
        assert_eq!(
            got.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
        assert!(got[0].1 > first.token);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_times_out_with_a_clear_error_and_leaves_the_queue() {
        let lock = FifoLock::new(0);
        let now = clock();
        let held = lock.acquire(&now, 0, 60_000, nap).await.unwrap();
        let t = Instant::now();
        let err = lock.acquire(&now, 500, 60_000, nap).await.unwrap_err();
        assert!(matches!(err, Error::LockTimeout));
        assert_eq!(t.elapsed().as_millis(), 500);
        assert_eq!(lock.waiting(), 0);
        assert!(lock.release(held.token, now()));
        assert!(lock.holder().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_holders_lease_expires_and_the_waiter_takes_over() {
        let lock = FifoLock::new(0);
        let now = clock();
        let dead = lock.acquire(&now, 0, 1_000, nap).await.unwrap();
        let t = Instant::now();
        let next = lock.acquire(&now, 5_000, 1_000, nap).await.unwrap();
        assert_eq!(
            t.elapsed().as_millis(),
            1_000,
            "woken at lease expiry, not by polling"
        );
        assert!(next.token > dead.token);
        // fencing: the dead holder can neither write nor release the new lease
        assert!(matches!(
            lock.check(dead.token, now()),
            Err(Error::LeaseLost)
        ));
        assert!(!lock.release(dead.token, now()));
        assert!(lock.check(next.token, now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_holder_cannot_write_even_when_nobody_waits() {
        let lock = FifoLock::new(0);
        let now = clock();
        let l = lock.acquire(&now, 0, 1_000, nap).await.unwrap();
        assert!(lock.check(l.token, now()).is_ok());
        nap(1_000).await;
        assert!(matches!(lock.check(l.token, now()), Err(Error::LeaseLost)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_acquire_gets_its_own_lease_back_and_can_release_by_call_id() {
        let lock = FifoLock::new(0);
        let now = clock();
        let first = lock
            .acquire_as(Some("call-1"), &now, 0, 60_000, nap)
            .await
            .unwrap();
        // the answer was lost; the retry must not queue behind its own lease
        let retry = lock
            .acquire_as(Some("call-1"), &now, 0, 60_000, nap)
            .await
            .unwrap();
        assert_eq!(retry, first);
        // someone else still waits
        assert!(matches!(
            lock.acquire_as(Some("call-2"), &now, 10, 60_000, nap).await,
            Err(Error::LockTimeout)
        ));
        assert!(!lock.release_caller("call-2", now()));
        assert!(lock.release_caller("call-1", now()));
        assert!(lock.holder().is_none());
        assert!(!lock.release_caller("call-1", now()), "idempotent");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_keep_increasing_across_restarts() {
        // an incarnation that ran for 5 ms and granted leases as fast as it could (a thousand
        // per millisecond is far beyond a round trip per grant), then a restart 1 ms later
        let start = 1_700_000_000_000;
        let before = FifoLock::for_incarnation(start);
        let t = std::cell::Cell::new(start);
        let now = || t.get();
        let mut last = 0;
        for i in 0..5_000u64 {
            t.set(start + i / 1_000);
            let l = before.acquire(&now, 0, 60_000, nap).await.unwrap();
            assert!(before.release(l.token, now()));
            last = l.token;
        }
        let after = FifoLock::for_incarnation(start + 5);
        t.set(start + 5);
        let first = after.acquire(&now, 0, 60_000, nap).await.unwrap();
        assert!(first.token > last, "{} > {last}", first.token);
        // a write fenced by a token of the earlier incarnation is refused by the new one
        assert!(matches!(after.check(last, now()), Err(Error::LeaseLost)));
    }
}
