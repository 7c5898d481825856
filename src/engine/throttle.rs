//! Shaping writes to Workers KV's limit of one write per second per key.
//!
//! The session's Durable Object holds the authoritative record; this decides whether its KV
//! mirror may be written now or must wait, so a burst of changes becomes one delayed write of
//! the latest record and nothing is lost.

/// KV accepts one write per key per second.
pub const MIN_INTERVAL_MS: u64 = 1_000;

/// When the next KV write of a key may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSlot {
    /// Write now.
    Now,
    /// Write at this time (Unix ms); later changes before then ride along.
    At(u64),
}

/// Decides the slot for a write wanted at `now`, given the last write time.
pub fn next_slot(last_write: Option<u64>, now: u64) -> WriteSlot {
    match last_write {
        Some(last) if now < last + MIN_INTERVAL_MS => WriteSlot::At(last + MIN_INTERVAL_MS),
        _ => WriteSlot::Now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_write_per_second() {
        assert_eq!(next_slot(None, 5), WriteSlot::Now);
        assert_eq!(next_slot(Some(1_000), 1_500), WriteSlot::At(2_000));
        assert_eq!(next_slot(Some(1_000), 2_000), WriteSlot::Now);
        // a burst of 50 writes within one second is one immediate write plus one delayed one
        let mut last = None;
        let mut immediate = 0;
        let mut delayed = std::collections::BTreeSet::new();
        for t in (0..1_000).step_by(20) {
            match next_slot(last, t) {
                WriteSlot::Now => {
                    immediate += 1;
                    last = Some(t);
                }
                WriteSlot::At(at) => {
                    delayed.insert(at);
                }
            }
        }
        assert_eq!((immediate, delayed.len()), (1, 1));
    }
}
