//! In-memory backend (CherryPy's RAM storage): the reference implementation of [`Backend`]
//! for native tests and single-isolate use. It applies the same [`apply_op`] rules and uses the
//! same [`FifoLock`] as the Durable Object.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::engine::session::record::{apply_op, Applied, Change, Record};
use crate::engine::worker::store::{Backend, Begun};
use crate::engine::{Config, Error, FifoLock, Lease, SessionId};

/// A boxed timer future.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Records and locks in memory, with an injected clock and timer.
pub struct MemoryBackend {
    cfg: Config,
    records: RefCell<HashMap<SessionId, Record>>,
    locks: RefCell<HashMap<SessionId, Rc<FifoLock>>>,
    clock: Rc<dyn Fn() -> u64>,
    sleeper: Rc<dyn Fn(u64) -> SleepFuture>,
    /// Fault injection for tests: when set, every storage call fails with this message.
    pub fail_with: RefCell<Option<String>>,
    /// Fault injection for tests: this many next `apply` calls are lost on the way (they fail
    /// without reaching the store, so they neither write nor release), as a Durable Object
    /// call can fail before the object sees it.
    pub lose_applies: std::cell::Cell<u32>,
    /// Fault injection for tests: how many `apply` calls pass before `lose_applies` starts.
    pub lose_after: std::cell::Cell<u32>,
}

impl MemoryBackend {
    /// A backend using `clock` (Unix ms) and `sleeper` (a timer).
    pub fn new(
        cfg: Config,
        clock: Rc<dyn Fn() -> u64>,
        sleeper: Rc<dyn Fn(u64) -> SleepFuture>,
    ) -> Self {
        MemoryBackend {
            cfg,
            records: RefCell::default(),
            locks: RefCell::default(),
            clock,
            sleeper,
            fail_with: RefCell::new(None),
            lose_applies: std::cell::Cell::new(0),
            lose_after: std::cell::Cell::new(0),
        }
    }

    fn lock_for(&self, id: &SessionId) -> Rc<FifoLock> {
        self.locks
            .borrow_mut()
            .entry(id.clone())
            .or_insert_with(|| Rc::new(FifoLock::new(0)))
            .clone()
    }

    fn fault(&self) -> Result<(), Error> {
        match &*self.fail_with.borrow() {
            Some(m) => Err(Error::Backend(m.clone())),
            None => Ok(()),
        }
    }

    /// The stored record for `id`, for assertions.
    pub fn stored(&self, id: &SessionId) -> Option<Record> {
        self.records.borrow().get(id).cloned()
    }

    /// Number of stored records.
    pub fn len(&self) -> usize {
        self.records.borrow().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.records.borrow().is_empty()
    }
}

impl Backend for MemoryBackend {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        self.fault()?;
        let lease = if lock {
            let l = self.lock_for(id);
            let sleeper = self.sleeper.clone();
            Some(
                l.acquire(
                    || (self.clock)(),
                    self.cfg.lock_wait.as_millis() as u64,
                    self.cfg.lock_lease.as_millis() as u64,
                    move |ms| sleeper(ms),
                )
                .await?,
            )
        } else {
            None
        };
        let now = (self.clock)();
        let record = self
            .records
            .borrow()
            .get(id)
            .filter(|r| !r.is_expired(now))
            .cloned();
        Ok(Begun { lease, record })
    }

    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        if self.lose_after.get() > 0 && self.lose_applies.get() > 0 {
            self.lose_after.set(self.lose_after.get() - 1);
        } else if self.lose_applies.get() > 0 {
            self.lose_applies.set(self.lose_applies.get() - 1);
            return Err(Error::Backend(
                "injected: call lost before the store".into(),
            ));
        }
        let now = (self.clock)();
        let result = (|| {
            self.fault()?;
            if let Some(l) = lease {
                self.lock_for(id).check(l.token, now)?;
            }
            let current = self.records.borrow().get(id).cloned();
            match apply_op(&self.cfg, current.as_ref(), change, now)? {
                Applied::Stored(r) => self.records.borrow_mut().insert(id.clone(), r),
                Applied::Deleted => self.records.borrow_mut().remove(id),
            };
            Ok(())
        })();
        if let (Some(l), true) = (lease, release) {
            self.lock_for(id).release(l.token, now);
        }
        result
    }

    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        self.lock_for(id).release(lease.token, (self.clock)());
        Ok(())
    }
}
