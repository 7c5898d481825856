//! An in-memory world of `SessionLock` objects ([`LockObject`]) for native tests: one
//! object per name, each with its own storage and alarm, a shared KV namespace, a clock the
//! tests set, and fault switches for the failure paths. Objects call each other through the
//! world, as a session's object calls its user's index (`user:<uid>`) and the index calls
//! sessions' objects to kill them. tests/object.rs drives the objects with messages;
//! [`super::local`] puts the engine's `RemoteBackend` in front of them.
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::time::Duration;

use edge_sessions::engine::object::{LockObject, ObjectHost};
use edge_sessions::engine::session::record::Record;
use edge_sessions::engine::wire::Op;
use edge_sessions::Error;

/// Where the world's clock starts (Unix ms).
pub const T0: u64 = 1_700_000_000_000;

// ---- the test host ----

/// One KV entry: value, expiration (Unix s), metadata (JSON text).
pub type KvEntry = (String, u64, String);

/// What an object keeps across restarts: its storage and its alarm.
#[derive(Default)]
pub struct Durable {
    pub storage: RefCell<HashMap<String, String>>,
    pub alarm: Cell<Option<u64>>,
    /// Rows written, as Cloudflare bills them: one per key put or deleted, one per `setAlarm`.
    pub rows_written: Cell<usize>,
}

/// An object and its durable state.
#[derive(Clone)]
pub struct Slot {
    pub object: Rc<LockObject<Host>>,
    pub durable: Rc<Durable>,
}

/// Everything the objects share: the clock, KV, the objects by name, and the fault switches.
#[derive(Default)]
pub struct World {
    /// Set by [`World::advance`] and [`World::sleep`]; the clock never runs behind tokio's
    /// (paused) clock since the world was made either, so a test may sleep with tokio directly.
    pub clock: Cell<u64>,
    pub started: Cell<Option<tokio::time::Instant>>,
    pub kv: RefCell<HashMap<String, KvEntry>>,
    pub objects: RefCell<HashMap<String, Slot>>,
    pub me: RefCell<Weak<World>>,
    /// Fault: every `kv_delete` fails.
    pub fail_kv_delete: Cell<bool>,
    /// Fault: calls to these object names fail (the object is unreachable).
    pub unreachable: RefCell<HashSet<String>>,
    /// Fault: calls to these object names are delivered only after this many ms.
    pub delayed: RefCell<HashMap<String, u64>>,
    /// Every call between objects: (callee, operation name).
    pub calls: RefCell<Vec<(String, &'static str)>>,
    /// KV writes (puts) so far.
    pub kv_puts: Cell<usize>,
}

/// One object's host: the world, plus its own durable state.
pub struct Host {
    pub world: Weak<World>,
    pub durable: Rc<Durable>,
}

impl World {
    pub fn new() -> Rc<World> {
        let w = Rc::new(World::default());
        w.clock.set(T0);
        w.started.set(Some(tokio::time::Instant::now()));
        *w.me.borrow_mut() = Rc::downgrade(&w);
        w
    }

    pub fn now(&self) -> u64 {
        let elapsed = self
            .started
            .get()
            .map_or(0, |t| t.elapsed().as_millis() as u64);
        self.clock.get().max(T0 + elapsed)
    }

    pub fn advance(&self, ms: u64) {
        self.clock.set(self.now() + ms);
    }

    pub fn slot(&self, name: &str) -> Slot {
        if let Some(s) = self.objects.borrow().get(name) {
            return s.clone();
        }
        let durable = Rc::new(Durable::default());
        let host = Host {
            world: self.me.borrow().clone(),
            durable: durable.clone(),
        };
        let slot = Slot {
            object: Rc::new(LockObject::new(host)),
            durable,
        };
        self.objects
            .borrow_mut()
            .insert(name.to_owned(), slot.clone());
        slot
    }

    /// The object named `name`, created on first use.
    pub fn object(&self, name: &str) -> Rc<LockObject<Host>> {
        self.slot(name).object
    }

    /// A new incarnation of the object named `name` on the same storage and alarm.
    pub fn restart(&self, name: &str) {
        let durable = self.slot(name).durable;
        let host = Host {
            world: self.me.borrow().clone(),
            durable: durable.clone(),
        };
        let object = Rc::new(LockObject::new(host));
        self.objects
            .borrow_mut()
            .insert(name.to_owned(), Slot { object, durable });
    }

    /// The object's storage keys, sorted.
    pub fn keys(&self, name: &str) -> Vec<String> {
        let durable = self.slot(name).durable;
        let mut keys: Vec<String> = durable.storage.borrow().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The object's stored record, if any.
    pub fn stored(&self, name: &str) -> Option<Record> {
        let durable = self.slot(name).durable;
        let text = durable.storage.borrow().get("rec").cloned();
        text.map(|t| Record::decode(&t).expect("a stored record decodes"))
    }

    /// Rows the object named `name` has written so far.
    pub fn rows_written(&self, name: &str) -> usize {
        self.slot(name).durable.rows_written.get()
    }

    /// When the object's alarm is set to fire.
    pub fn alarm_at(&self, name: &str) -> Option<u64> {
        self.slot(name).durable.alarm.get()
    }

    /// Fires the object's alarm: the clock moves to its time (if that is later), the alarm is
    /// consumed, and the object's `alarm()` runs. Panics if no alarm is set.
    pub async fn fire_alarm(&self, name: &str) -> Result<(), Error> {
        let slot = self.slot(name);
        let at = slot
            .durable
            .alarm
            .take()
            .unwrap_or_else(|| panic!("no alarm set on {name}"));
        self.clock.set(self.now().max(at));
        slot.object.alarm().await
    }

    pub fn kv_get(&self, key: &str) -> Option<KvEntry> {
        self.kv.borrow().get(key).cloned()
    }

    pub fn set_unreachable(&self, name: &str, down: bool) {
        let mut set = self.unreachable.borrow_mut();
        if down {
            set.insert(name.to_owned());
        } else {
            set.remove(name);
        }
    }

    pub fn calls_to(&self, name: &str, op: Op) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|(n, o)| n == name && *o == op.name())
            .count()
    }

    /// A timer on tokio's paused clock that also moves the world's clock to its end.
    pub async fn sleep(&self, ms: u64) {
        let until = self.now() + ms;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.clock.set(self.now().max(until));
    }
}

impl Host {
    pub fn world(&self) -> Rc<World> {
        self.world
            .upgrade()
            .expect("the world outlives its objects")
    }
}

pub fn bump(counter: &Cell<usize>) {
    counter.set(counter.get() + 1);
}

pub fn fault(what: &str) -> Error {
    Error::Backend(format!("injected fault: {what}"))
}

impl ObjectHost for Host {
    fn now(&self) -> u64 {
        self.world().now()
    }

    async fn sleep(&self, ms: u64) {
        self.world().sleep(ms).await
    }

    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self.durable.storage.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: String) -> Result<(), Error> {
        bump(&self.durable.rows_written);
        self.durable
            .storage
            .borrow_mut()
            .insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        bump(&self.durable.rows_written);
        self.durable.storage.borrow_mut().remove(key);
        Ok(())
    }

    async fn set_alarm(&self, at: u64) -> Result<(), Error> {
        bump(&self.durable.rows_written);
        self.durable.alarm.set(Some(at));
        Ok(())
    }

    async fn delete_all(&self) -> Result<(), Error> {
        self.durable.alarm.set(None);
        self.durable.storage.borrow_mut().clear();
        Ok(())
    }

    async fn kv_put(
        &self,
        key: &str,
        value: String,
        expiration: u64,
        metadata: String,
    ) -> Result<(), Error> {
        let world = self.world();
        bump(&world.kv_puts);
        world
            .kv
            .borrow_mut()
            .insert(key.to_owned(), (value, expiration, metadata));
        Ok(())
    }

    async fn kv_delete(&self, key: &str) -> Result<(), Error> {
        let world = self.world();
        if world.fail_kv_delete.get() {
            return Err(fault("kv_delete"));
        }
        world.kv.borrow_mut().remove(key);
        Ok(())
    }

    async fn call(&self, name: &str, op: Op, body: String) -> Result<String, Error> {
        let world = self.world();
        world.calls.borrow_mut().push((name.to_owned(), op.name()));
        let delay = world.delayed.borrow().get(name).copied();
        if let Some(ms) = delay {
            world.sleep(ms).await;
        }
        if world.unreachable.borrow().contains(name) {
            return Err(fault(&format!("{name} unreachable")));
        }
        let obj = world.object(name);
        // boxed: an object's call future contains its host's call future
        let fut: Pin<Box<dyn Future<Output = String>>> =
            Box::pin(async move { obj.call(op, &body).await });
        Ok(fut.await)
    }
}
