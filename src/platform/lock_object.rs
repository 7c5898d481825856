//! `SessionLock` for workers-rs workers: the engine's [`LockObject`] on a workers-rs Durable
//! Object's storage, alarm and KV. Every rule is in [`crate::engine::object`]; this class
//! routes each call (`POST /<op>` with the JSON message) to it and moves bytes.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::{kv, log, now_ms};
use crate::engine::object::{LockObject, ObjectHost};
use crate::engine::wire::Op;
use crate::engine::Error;

/// The object's platform calls.
pub struct StateHost {
    state: State,
    env: Env,
}

impl StateHost {
    fn kv(&self) -> std::result::Result<worker::kv::KvStore, Error> {
        self.env.kv(kv::BINDING).map_err(Error::from)
    }
}

impl ObjectHost for StateHost {
    fn now(&self) -> u64 {
        now_ms()
    }
    async fn sleep(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await
    }
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, Error> {
        self.state.storage().get(key).await.map_err(Error::from)
    }
    async fn put(&self, key: &str, value: String) -> std::result::Result<(), Error> {
        self.state
            .storage()
            .put(key, value)
            .await
            .map_err(Error::from)
    }
    async fn delete(&self, key: &str) -> std::result::Result<(), Error> {
        self.state
            .storage()
            .delete(key)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }
    async fn set_alarm(&self, at: u64) -> std::result::Result<(), Error> {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        self.state
            .storage()
            .set_alarm(worker::ScheduledTime::new(date))
            .await
            .map_err(Error::from)
    }
    async fn delete_all(&self) -> std::result::Result<(), Error> {
        let storage = self.state.storage();
        storage.delete_alarm().await.map_err(Error::from)?;
        storage.delete_all().await.map_err(Error::from)
    }
    async fn kv_put(
        &self,
        key: &str,
        value: String,
        expiration: u64,
        metadata: String,
    ) -> std::result::Result<(), Error> {
        let meta: serde_json::Value = serde_json::from_str(&metadata)?;
        self.kv()?
            .put(key, value)?
            .expiration(expiration)
            .metadata(meta)?
            .execute()
            .await?;
        Ok(())
    }
    async fn call(&self, name: &str, op: Op, body: String) -> std::result::Result<String, Error> {
        let stub = self
            .env
            .durable_object(super::do_backend::BINDING)
            .and_then(|ns| ns.get_by_name(name))?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post)
            .with_body(Some(body.into()));
        let url = format!("https://session-lock/{}", op.name());
        let req = Request::new_with_init(&url, &init)?;
        let mut resp = stub.fetch_with_request(req).await?;
        Ok(resp.text().await?)
    }
    async fn kv_delete(&self, key: &str) -> std::result::Result<(), Error> {
        Ok(self.kv()?.delete(key).await?)
    }
}

/// The Durable Object class for workers-rs workers. Bind it as `SESSION_LOCKS` with a
/// SQLite-backed migration, and export it from your crate:
/// `pub use edge_sessions::platform::SessionLock;`.
#[durable_object]
pub struct SessionLock {
    object: LockObject<StateHost>,
}

impl DurableObject for SessionLock {
    fn new(state: State, env: Env) -> Self {
        log::init();
        SessionLock {
            object: LockObject::new(StateHost { state, env }),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        let reply = self
            .object
            .call_named(path.trim_start_matches('/'), &body)
            .await;
        Response::ok(reply)
    }

    async fn alarm(&self) -> Result<Response> {
        match self.object.alarm().await {
            Ok(()) => Response::ok("ok"),
            Err(_) => Err(worker::Error::RustError("alarm failed".into())),
        }
    }
}
