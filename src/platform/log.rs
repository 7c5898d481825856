//! Prints the engine's log lines ([`crate::engine::log`]) through the runtime's console, at
//! the level the isolate's settings ask for. The level is set wherever a config is read (the
//! proxy's settings, the libraries' `Sessions`, each message to the object).

use std::cell::Cell;

use crate::engine::log::{line, Level};

thread_local! {
    static LEVEL: Cell<Level> = const { Cell::new(Level::Info) };
}

/// Uses `level` from now on in this isolate.
pub fn set_level(level: Level) {
    LEVEL.with(|l| l.set(level));
}

/// Logs `event` at `level` if the isolate's level includes it.
pub fn emit(level: Level, event: &str, msg: &str) {
    if level > LEVEL.with(Cell::get) {
        return;
    }
    let text = line(level, event, msg);
    match level {
        Level::Error => worker::console_error!("{text}"),
        Level::Warn => worker::console_warn!("{text}"),
        Level::Info => worker::console_log!("{text}"),
        Level::Debug => worker::console_debug!("{text}"),
    }
}
