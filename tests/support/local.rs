//! The engine's [`RemoteBackend`] in front of the [`World`]'s real lock objects: a
//! [`Transport`] that hands each call to the object named, in process, so a backend test runs
//! the worker's side (call ids, retries, the settings protocol) and the object's rules (its
//! lock, record cache and await order) together.
use std::rc::Rc;

use edge_sessions::engine::session::record::{Change, Record};
use edge_sessions::engine::wire::Op;
use edge_sessions::engine::worker::memory::MemoryBackend;
use edge_sessions::engine::worker::remote::{Failed, RemoteBackend, Transport};
use edge_sessions::engine::worker::store::{Backend, Begun};
use edge_sessions::{Config, Error, Lease, SessionId};

use super::world::World;

/// Calls the world's objects directly. It keeps no channel, so a lease ends with a `release`
/// call, as the workers-rs library's does.
pub struct LocalTransport {
    pub world: Rc<World>,
}

impl Transport for LocalTransport {
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        _channel: Option<&str>,
    ) -> Result<String, Failed> {
        self.world
            .calls
            .borrow_mut()
            .push((sid.to_owned(), op.name()));
        let object = self.world.object(sid);
        Ok(object.call(op, &body).await)
    }

    async fn sleep(&self, ms: u64) {
        self.world.sleep(ms).await
    }
}

/// A remote backend with `config`'s settings over the world's objects.
pub fn remote(world: &Rc<World>, config: &Config) -> RemoteBackend<LocalTransport> {
    let transport = LocalTransport {
        world: world.clone(),
    };
    RemoteBackend::new(transport, config)
}

/// A backend under test, with what the lifecycle tests look at.
#[allow(async_fn_in_trait)]
pub trait Inspect: Backend {
    /// The record stored under `id`, if any.
    fn stored(&self, id: &SessionId) -> Option<Record>;
    /// How many records are stored.
    fn len(&self) -> usize;
    /// True if none is.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inspect for MemoryBackend {
    fn stored(&self, id: &SessionId) -> Option<Record> {
        MemoryBackend::stored(self, id)
    }
    fn len(&self) -> usize {
        MemoryBackend::len(self)
    }
}

/// The engine's remote backend over the world's real objects.
pub struct Objects {
    pub world: Rc<World>,
    pub remote: RemoteBackend<LocalTransport>,
}

impl Objects {
    pub fn new(config: &Config) -> Self {
        let world = World::new();
        let remote = remote(&world, config);
        Objects { world, remote }
    }
}

impl Backend for Objects {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        self.remote.begin(id, lock).await
    }
    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        self.remote.apply(id, change, lease, release).await
    }
    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        self.remote.release(id, lease).await
    }
}

impl Inspect for Objects {
    /// The record the object holds as authoritative (its storage), unexpired or not.
    fn stored(&self, id: &SessionId) -> Option<Record> {
        self.world.stored(id.as_str())
    }
    fn len(&self) -> usize {
        let names: Vec<String> = self.world.objects.borrow().keys().cloned().collect();
        names
            .iter()
            .filter(|n| self.world.stored(n).is_some())
            .count()
    }
}
