//! Reads the engine's [`Config`], the [`Signer`] and the origin from Worker vars and secrets,
//! once per isolate.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::engine::config::{origin_path, parse_origin};
use crate::engine::handoff::HandoffSigner;
use crate::engine::{Config, Error, LockingMode, Signer};

/// Everything the proxy needs, parsed and validated.
pub struct Settings {
    /// Session config.
    pub config: Config,
    /// Cookie signer built from `SESSION_SECRET`.
    pub signer: Signer,
    /// Base URL requests are forwarded to (`ORIGIN`), without a trailing slash.
    pub origin: String,
    /// `ORIGIN`'s path (`""` or `/base`), the start of every signed request target.
    pub origin_path: String,
    /// Signs the hand-off to the origin (`SESSION_ORIGIN_SECRET`, or derived).
    pub handoff: HandoffSigner,
}

/// A var or secret as a string, if set.
pub fn string_var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|v| v.to_string()))
        .ok()
}

/// The session config alone (the Durable Object needs no secret or origin).
pub fn config(env: &Env) -> Result<Config, Error> {
    let c = Config::from_vars(|n| string_var(env, n))?;
    super::log::set_level(c.log_level);
    Ok(c)
}

/// Fails with a clear configuration error when the KV namespace or the Durable Object
/// binding is missing, so a deployment without them is refused on its first request instead
/// of failing later in an alarm or answering an unexplained 503.
pub fn check_bindings(env: &Env) -> Result<(), Error> {
    if env.kv(super::kv::BINDING).is_err() {
        return Err(Error::Config(format!(
            "the KV namespace binding {} is missing (kv_namespaces in wrangler.toml)",
            super::kv::BINDING
        )));
    }
    if env.durable_object(super::do_backend::BINDING).is_err() {
        return Err(Error::Config(format!(
            "the Durable Object binding {} (class SessionLock) is missing (durable_objects in wrangler.toml)",
            super::do_backend::BINDING
        )));
    }
    Ok(())
}

fn parse(env: &Env) -> Result<Settings, Error> {
    let config = config(env)?;
    if config.locking == LockingMode::Explicit {
        return Err(Error::Config(
            "SESSION_LOCKING=explicit needs handler code to acquire and release (the JS or Rust library); the proxy takes implicit, early or none".into(),
        ));
    }
    let secret = string_var(env, "SESSION_SECRET").unwrap_or_default();
    let signer = Signer::from_list(&secret)?;
    let origin = parse_origin(string_var(env, "ORIGIN").as_deref())?;
    let handoff =
        HandoffSigner::from_secrets(string_var(env, "SESSION_ORIGIN_SECRET").as_deref(), &secret)?;
    check_bindings(env)?;
    let origin_path = origin_path(&origin).to_owned();
    Ok(Settings {
        config,
        signer,
        origin,
        origin_path,
        handoff,
    })
}

thread_local! {
    static SETTINGS: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
}

/// The isolate's settings, parsed on first use. Errors are not cached, so fixing a var and
/// redeploying takes effect.
pub fn settings(env: &Env) -> Result<Rc<Settings>, Error> {
    if let Some(s) = SETTINGS.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let s = Rc::new(parse(env)?);
    SETTINGS.with(|slot| *slot.borrow_mut() = Some(s.clone()));
    Ok(s)
}
