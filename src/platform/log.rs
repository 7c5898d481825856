//! Sends the engine's log lines ([`crate::engine::log`]) to the runtime's console.

use crate::engine::log::{set_sink, Level};

fn console(level: Level, text: &str) {
    match level {
        Level::Error => worker::console_error!("{text}"),
        Level::Warn => worker::console_warn!("{text}"),
        Level::Info => worker::console_log!("{text}"),
        Level::Debug => worker::console_debug!("{text}"),
    }
}

/// Installs the console as the isolate's log sink (idempotent).
pub fn init() {
    set_sink(console);
}
