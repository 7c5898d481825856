//! Log lines: one JSON object per notable event, with a level, so users' logs carry what
//! matters (misconfiguration, refused changes, storage failures, sweep summaries) and nothing
//! per request unless asked (`SESSION_LOG_LEVEL=debug` adds each KV mirror write). Ids appear
//! only as their 12-hex-digit hash ([`SessionId::log_tag`](crate::engine::SessionId::log_tag)).

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::engine::Error;

/// How much to log; each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Failures: misconfiguration, storage errors.
    Error,
    /// Refused changes (409, 507, bad updates), deferred KV writes, discarded records.
    Warn,
    /// Sweep summaries. The default.
    #[default]
    Info,
    /// Every KV mirror write.
    Debug,
}

impl Level {
    /// Parses `SESSION_LOG_LEVEL`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err(Error::Config(format!(
                "SESSION_LOG_LEVEL must be error, warn, info or debug, got {value:?}"
            ))),
        }
    }

    /// The level's name as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// The JSON line for an event: `{"level":..,"event":..,"msg":..}`. `event` is a stable name
/// to filter on; `msg` is for people.
pub fn line(level: Level, event: &str, msg: &str) -> String {
    serde_json::json!({ "level": level.as_str(), "event": event, "msg": msg }).to_string()
}

/// Where lines go: the platform's console, set once per isolate by the adapter.
pub type Sink = fn(Level, &str);

fn discard(_: Level, _: &str) {}

thread_local! {
    static LEVEL: Cell<Level> = const { Cell::new(Level::Info) };
    static SINK: Cell<Sink> = const { Cell::new(discard) };
}

/// Sends lines to `sink` from now on in this isolate (the adapters pass the runtime's console;
/// natively, lines are discarded unless a test installs a sink).
pub fn set_sink(sink: Sink) {
    SINK.with(|s| s.set(sink));
}

/// Logs at `level` and below from now on in this isolate. Set wherever a config is read.
pub fn set_level(level: Level) {
    LEVEL.with(|l| l.set(level));
}

/// Logs `event` at `level` if the isolate's level includes it.
pub fn emit(level: Level, event: &str, msg: &str) {
    if level > LEVEL.with(Cell::get) {
        return;
    }
    let text = line(level, event, msg);
    SINK.with(|s| s.get()(level, &text));
}

/// Logs a session error by kind before it is answered: misconfiguration, misuse, internal and
/// storage failures as errors, refusals (busy, lease lost, too large, bad update) as warnings. The client sees
/// only [`Error::public_message`].
pub fn report(e: &Error) {
    let (level, event) = match e {
        Error::Config(_) => (Level::Error, "misconfigured"),
        Error::Usage(_) => (Level::Error, "misuse"),
        Error::Internal(_) => (Level::Error, "internal_error"),
        Error::LockTimeout => (Level::Warn, "lock_timeout"),
        Error::LeaseLost
        | Error::Gone
        | Error::TooLarge { .. }
        | Error::TooDeep { .. }
        | Error::BadPatch(_) => (Level::Warn, "refused"),
        Error::Origin(_) => (Level::Warn, "origin_failed"),
        Error::Backend(_) | Error::Random => (Level::Error, "storage_failed"),
    };
    emit(level, event, &format!("sessions: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_order_and_render() {
        assert_eq!(Level::parse(" DEBUG ").unwrap(), Level::Debug);
        assert!(Level::parse("verbose").is_err());
        assert!(
            Level::Error < Level::Warn && Level::Warn < Level::Info && Level::Info < Level::Debug
        );
        assert_eq!(Level::default(), Level::Info);
        let l: serde_json::Value =
            serde_json::from_str(&line(Level::Warn, "refused", "a \"quoted\" msg")).unwrap();
        assert_eq!(
            l,
            serde_json::json!({"level": "warn", "event": "refused", "msg": "a \"quoted\" msg"})
        );
    }
}
