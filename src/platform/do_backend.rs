//! The engine's [`Backend`] over `SessionLock` Durable Objects: each call is one request to
//! the object named by the session id.

use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Request, RequestInit};

use super::lock_object::{ApplyMsg, BeginMsg, IdMsg, SweepAnswer, WireError};
use crate::engine::record::Change;
use crate::engine::store::{Backend, Begun};
use crate::engine::{Config, Error, Lease, SessionId, StoreParams};

/// The Durable Object binding name.
pub const BINDING: &str = "SESSION_LOCKS";

/// A [`Backend`] that routes every session through its Durable Object.
#[derive(Clone)]
pub struct DoBackend {
    env: Rc<Env>,
    params: Rc<StoreParams>,
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl DoBackend {
    /// Uses the `SESSION_LOCKS` binding of `env`, with `config`'s storage settings.
    pub fn new(env: Env, config: &Config) -> Self {
        DoBackend {
            env: Rc::new(env),
            params: Rc::new(config.store_params()),
        }
    }

    /// The `SESSIONS` KV namespace of the same environment.
    pub fn kv(&self) -> Result<worker::kv::KvStore, Error> {
        self.env.kv(super::kv::BINDING).map_err(backend)
    }

    fn params(&self) -> StoreParams {
        (*self.params).clone()
    }

    async fn call<M: Serialize, R: DeserializeOwned>(
        &self,
        id: &SessionId,
        op: &str,
        msg: &M,
    ) -> Result<R, Error> {
        let stub = self
            .env
            .durable_object(BINDING)
            .and_then(|ns| ns.get_by_name(id.as_str()))
            .map_err(backend)?;
        let body = serde_json::to_string(msg).map_err(backend)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let req = Request::new_with_init(&format!("https://session-lock/{op}"), &init)
            .map_err(backend)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(backend)?;
        if resp.status_code() == 200 {
            return resp.json().await.map_err(backend);
        }
        let status = resp.status_code();
        Err(match resp.json::<WireError>().await {
            Ok(w) => w.into_error(status),
            Err(_) => Error::Backend(format!("lock object answered {status}")),
        })
    }

    /// Asks the object to delete its session if it has expired; true if it did.
    pub async fn sweep(&self, id: &SessionId) -> Result<bool, Error> {
        let a: SweepAnswer = self
            .call(
                id,
                "sweep",
                &IdMsg {
                    sid: id.as_str().into(),
                    params: self.params(),
                    lease: None,
                },
            )
            .await?;
        Ok(a.deleted)
    }
}

impl Backend for DoBackend {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        self.call(
            id,
            "begin",
            &BeginMsg {
                sid: id.as_str().into(),
                params: self.params(),
                lock,
            },
        )
        .await
    }

    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        let msg = ApplyMsg {
            sid: id.as_str().into(),
            params: self.params(),
            change: change.clone(),
            lease: lease.copied(),
            release,
        };
        self.call::<_, serde_json::Value>(id, "apply", &msg)
            .await
            .map(|_| ())
    }

    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        let msg = IdMsg {
            sid: id.as_str().into(),
            params: self.params(),
            lease: Some(*lease),
        };
        self.call::<_, serde_json::Value>(id, "release", &msg)
            .await
            .map(|_| ())
    }
}
