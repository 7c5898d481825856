//! The engine's [`Backend`] over `SessionLock` Durable Objects: each call is one request to
//! the object named by the session id.

use std::rc::Rc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Request, RequestInit};

use crate::engine::record::Change;
use crate::engine::retry::{self, Failure};
use crate::engine::store::{Backend, Begun};
use crate::engine::wire::{ApplyMsg, BeginMsg, IdMsg, SweepAnswer, WireError};
use crate::engine::{Config, Error, Lease, SessionId, StoreParams};

/// What the object answered: the reply body, or its refusal (final, never retried).
enum Answer {
    Ok(String),
    Refused(Error),
}

/// A call that failed on the way to or from the object.
struct Transport(Failure, Error);

/// Reads the runtime's marks on a failed call (`retryable`, `overloaded`).
fn classify(e: &worker::Error) -> Failure {
    let worker::Error::UnknownJsError { original, .. } = e else {
        return Failure::Other;
    };
    let flag = |name: &str| {
        js_sys::Reflect::get(original, &name.into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    if flag("overloaded") {
        Failure::Overloaded
    } else if flag("retryable") {
        Failure::Retryable
    } else {
        Failure::Other
    }
}

/// A fresh call id for one logical call (all its attempts share it).
fn call_id() -> Result<String, Error> {
    Ok(SessionId::generate()?.as_str().to_owned())
}

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
        let body = serde_json::to_string(msg).map_err(backend)?;
        let mut attempt = 1;
        loop {
            match self.call_once(id, op, &body).await {
                Err(Transport(failure, e)) => {
                    attempt += 1;
                    match retry::retry_after(failure, attempt) {
                        Some(ms) => worker::Delay::from(Duration::from_millis(ms)).await,
                        None => return Err(e),
                    }
                }
                Ok(Answer::Ok(text)) => return serde_json::from_str(&text).map_err(backend),
                Ok(Answer::Refused(e)) => return Err(e),
            }
        }
    }

    /// One attempt: the object's answer, or how the call failed on the way.
    async fn call_once(&self, id: &SessionId, op: &str, body: &str) -> Result<Answer, Transport> {
        let other = |e: worker::Error| Transport(Failure::Other, backend(e));
        let stub = self
            .env
            .durable_object(BINDING)
            .and_then(|ns| ns.get_by_name(id.as_str()))
            .map_err(other)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let req =
            Request::new_with_init(&format!("https://session-lock/{op}"), &init).map_err(other)?;
        let mut resp = match stub.fetch_with_request(req).await {
            Ok(r) => r,
            Err(e) => return Err(Transport(classify(&e), backend(e))),
        };
        let status = resp.status_code();
        let text = resp.text().await.map_err(other)?;
        if status == 200 {
            return Ok(Answer::Ok(text));
        }
        Ok(Answer::Refused(
            match serde_json::from_str::<WireError>(&text) {
                Ok(w) => w.into_error(status),
                Err(_) => Error::Backend(format!("lock object answered {status}")),
            },
        ))
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
                    caller: None,
                },
            )
            .await?;
        Ok(a.deleted)
    }
}

impl Backend for DoBackend {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        let rid = call_id()?;
        let r = self
            .call(
                id,
                "begin",
                &BeginMsg {
                    rid: rid.clone(),
                    sid: id.as_str().into(),
                    params: self.params(),
                    lock,
                },
            )
            .await;
        if let (Err(_), true) = (&r, lock) {
            // The lease may have been granted with the answer lost on the way: release
            // whatever this call holds or waits for, so the lock does not sit out its lease.
            let msg = IdMsg {
                sid: id.as_str().into(),
                params: self.params(),
                lease: None,
                caller: Some(rid),
            };
            let _ = self.call::<_, serde_json::Value>(id, "release", &msg).await;
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
        self.call::<_, serde_json::Value>(id, "apply", &msg)
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
        self.call::<_, serde_json::Value>(id, "release", &msg)
            .await
            .map(|_| ())
    }
}
