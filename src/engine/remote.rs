//! The engine's [`Backend`] over `SessionLock` objects: each call is one call to the object
//! named by the session id, through a [`Transport`] (JavaScript RPC in the JS layer, fetch in
//! the workers-rs library). Retries, call ids and the release of a lease whose grant was lost
//! on the way live here, once, for both.

use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::record::Change;
use super::retry::{self, Failure};
use super::store::{Backend, Begun};
use super::wire::{ApplyMsg, BeginMsg, IdMsg, Op, Reply, SweepAnswer};
use super::{Config, Error, Lease, SessionId, StoreParams};

/// A call that failed on the way to or from the object (not an answer of the object).
#[derive(Debug)]
pub struct Failed {
    /// How the runtime marked the failure.
    pub failure: Failure,
    /// The error, for the log.
    pub error: Error,
}

/// How a runtime reaches a session's object.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait Transport {
    /// One attempt of `op` with the JSON message `body` on the object named `sid`: the
    /// object's answer (a JSON [`Reply`]), or how the call failed on the way.
    async fn call(&self, sid: &str, op: Op, body: String) -> Result<String, Failed>;
    /// Resolves after `ms` milliseconds (between retries).
    async fn sleep(&self, ms: u64);
}

/// A [`Backend`] that routes every session through its object.
pub struct RemoteBackend<T> {
    transport: Rc<T>,
    params: Rc<StoreParams>,
}

impl<T> Clone for RemoteBackend<T> {
    fn clone(&self) -> Self {
        RemoteBackend {
            transport: self.transport.clone(),
            params: self.params.clone(),
        }
    }
}

/// A fresh call id for one logical call (all its attempts share it).
fn call_id() -> Result<String, Error> {
    Ok(SessionId::generate()?.as_str().to_owned())
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl<T: Transport> RemoteBackend<T> {
    /// Calls objects through `transport` with `config`'s storage settings.
    pub fn new(transport: T, config: &Config) -> Self {
        RemoteBackend {
            transport: Rc::new(transport),
            params: Rc::new(config.store_params()),
        }
    }

    /// The transport, for calls the backend does not make itself.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    fn params(&self) -> StoreParams {
        (*self.params).clone()
    }

    /// One logical call: retried while the runtime marks the failure retryable; the object's
    /// answers, refusals included, are final.
    async fn call<M: Serialize, R: DeserializeOwned>(
        &self,
        id: &SessionId,
        op: Op,
        msg: &M,
    ) -> Result<R, Error> {
        let body = serde_json::to_string(msg).map_err(backend)?;
        let mut attempt = 1;
        loop {
            match self.transport.call(id.as_str(), op, body.clone()).await {
                Err(Failed { failure, error }) => {
                    attempt += 1;
                    match retry::retry_after(failure, attempt) {
                        Some(ms) => self.transport.sleep(ms).await,
                        None => return Err(error),
                    }
                }
                Ok(text) => {
                    return match serde_json::from_str::<Reply<R>>(&text).map_err(backend)? {
                        Reply::Ok(v) => Ok(v),
                        Reply::Err(w) => Err(w.into_error()),
                    }
                }
            }
        }
    }

    /// Asks the object to delete its session if it has expired; true if it did.
    pub async fn sweep(&self, id: &SessionId) -> Result<bool, Error> {
        let msg = IdMsg {
            sid: id.as_str().into(),
            params: self.params(),
            lease: None,
            caller: None,
        };
        let a: SweepAnswer = self.call(id, Op::Sweep, &msg).await?;
        Ok(a.deleted)
    }
}

impl<T: Transport> Backend for RemoteBackend<T> {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        let rid = call_id()?;
        let msg = BeginMsg {
            rid: rid.clone(),
            sid: id.as_str().into(),
            params: self.params(),
            lock,
        };
        let r = self.call(id, Op::Begin, &msg).await;
        if let (Err(_), true) = (&r, lock) {
            // The lease may have been granted with the answer lost on the way: release
            // whatever this call holds or waits for, so the lock does not sit out its lease.
            let msg = IdMsg {
                sid: id.as_str().into(),
                params: self.params(),
                lease: None,
                caller: Some(rid),
            };
            let _ = self
                .call::<_, serde_json::Value>(id, Op::Release, &msg)
                .await;
        }
        r
    }

    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        let msg = ApplyMsg {
            rid: call_id()?,
            sid: id.as_str().into(),
            params: self.params(),
            change: change.clone(),
            lease: lease.copied(),
            release,
        };
        self.call::<_, serde_json::Value>(id, Op::Apply, &msg)
            .await
            .map(|_| ())
    }

    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        let msg = IdMsg {
            sid: id.as_str().into(),
            params: self.params(),
            lease: Some(*lease),
            caller: None,
        };
        self.call::<_, serde_json::Value>(id, Op::Release, &msg)
            .await
            .map(|_| ())
    }
}
