//! The engine's transport to `SessionLock` objects for workers-rs: one `POST /<op>` request
//! per call to the object named by the session id. Retries and call ids are the engine's
//! ([`crate::engine::worker::remote`]).

use std::rc::Rc;
use std::time::Duration;

use worker::{Env, Method, Request, RequestInit};

use crate::engine::wire::Op;
use crate::engine::worker::remote::{Failed, RemoteBackend, Transport};
use crate::engine::worker::retry::Failure;
use crate::engine::{Config, Error};

/// The Durable Object binding name.
pub const BINDING: &str = "SESSION_LOCKS";

/// The backend of the Rust library.
pub type DoBackend = RemoteBackend<FetchTransport>;

/// Builds the backend over `env`'s `SESSION_LOCKS` binding.
pub fn backend(env: Env, config: &Config) -> DoBackend {
    RemoteBackend::new(FetchTransport { env: Rc::new(env) }, config)
}

/// Calls objects with `fetch`.
pub struct FetchTransport {
    env: Rc<Env>,
}

impl FetchTransport {
    /// The environment (the sweep reads its KV namespace).
    pub fn env(&self) -> &Env {
        &self.env
    }
}

/// Reads the runtime's marks on a failed call (`retryable`, `overloaded`).
fn classify(e: &worker::Error) -> Failure {
    let worker::Error::UnknownJsError { original, .. } = e else {
        return Failure::Other;
    };
    crate::marks::classify(original)
}

impl Transport for FetchTransport {
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        _channel: Option<&str>, // each call is its own request: the lease is released by call
    ) -> Result<String, Failed> {
        let other = |e: worker::Error| Failed {
            failure: Failure::Other,
            error: Error::from(e),
        };
        let stub = self
            .env
            .durable_object(BINDING)
            .and_then(|ns| ns.get_by_name(sid))
            .map_err(other)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let url = format!("https://session-lock/{}", op.name());
        let req = Request::new_with_init(&url, &init).map_err(other)?;
        let mut resp = match stub.fetch_with_request(req).await {
            Ok(r) => r,
            Err(e) => {
                return Err(Failed {
                    failure: classify(&e),
                    error: Error::from(e),
                })
            }
        };
        resp.text().await.map_err(other)
    }

    async fn sleep(&self, ms: u64) {
        worker::Delay::from(Duration::from_millis(ms)).await
    }
}
