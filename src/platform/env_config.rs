//! Reads the engine's [`Config`] from a workers-rs worker's vars and secrets.

use worker::Env;

use crate::engine::{Config, Error};

/// A var or secret as a string, if set.
pub fn string_var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|v| v.to_string()))
        .ok()
}

/// The session config.
pub fn config(env: &Env) -> Result<Config, Error> {
    let c = Config::from_vars(|n| string_var(env, n))?;
    crate::engine::log::set_level(c.log_level);
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
