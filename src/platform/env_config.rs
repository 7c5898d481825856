//! Reads the engine's [`Config`], the [`Signer`] and the origin from Worker vars and secrets,
//! once per isolate.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::engine::{Config, Error, LockingMode, Signer};

/// Everything the proxy needs, parsed and validated.
pub struct Settings {
    /// Session config.
    pub config: Config,
    /// Cookie signer built from `SESSION_SECRET`.
    pub signer: Signer,
    /// Base URL requests are forwarded to (`ORIGIN`), without a trailing slash.
    pub origin: String,
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
    Config::from_vars(|n| string_var(env, n))
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
    let origin = string_var(env, "ORIGIN")
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
        .ok_or_else(|| {
            Error::Config("ORIGIN is required: the http(s) URL requests are forwarded to".into())
        })?;
    Ok(Settings {
        config,
        signer,
        origin,
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
