//! When a session's KV copy is written, and how fast.
//!
//! The session's Durable Object holds the authoritative record; KV holds a key for every live
//! session (the sweep's index, with the expiry as metadata) and a copy of its record. A change
//! reaches KV at once only when the sweep needs it ([`mirror_needed`]): a new session, a
//! deleted one, an expiry moved earlier. Any other change only moves the expiry later, so
//! the expiry KV holds is early, never late: the object's alarm, which is always set at or
//! before that expiry, finds the session live there and writes the latest record and its new
//! expiry. A burst of writes is one KV write per idle timeout at most, and a warm write costs
//! its record's row only. [`next_slot`] keeps every write within KV's limit of one write per
//! second per key.

use crate::engine::session::record::Record;

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

/// Whether a change from `before` to `after` (the stored records; `None`: none, or deleted)
/// must reach KV within a second: a creation (or a new record over an old one), a deletion,
/// and an expiry moved earlier, which a sweep reading KV's later expiry would miss.
pub fn mirror_needed(before: Option<&Record>, after: Option<&Record>) -> bool {
    match (before, after) {
        (_, None) | (None, Some(_)) => true,
        (Some(b), Some(a)) => a.created != b.created || a.expires < b.expires,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::Config;

    #[test]
    fn only_what_the_sweep_needs_reaches_kv_at_once() {
        let cfg = Config::default();
        let old = Record::new(&cfg, Default::default(), 1_000);
        let mut later = old.clone();
        later.expires += 5;
        later.version += 1;
        let mut earlier = old.clone();
        earlier.expires -= 1;
        let mut recreated = old.clone();
        recreated.created += 1;
        assert!(mirror_needed(None, Some(&old)), "created");
        assert!(mirror_needed(Some(&old), None), "deleted");
        assert!(mirror_needed(None, None), "deleted (nothing was there)");
        assert!(
            mirror_needed(Some(&old), Some(&earlier)),
            "expiry moved earlier"
        );
        assert!(
            mirror_needed(Some(&old), Some(&recreated)),
            "a new record over an old one"
        );
        assert!(
            !mirror_needed(Some(&old), Some(&later)),
            "a later expiry waits for the alarm"
        );
        assert!(!mirror_needed(Some(&old), Some(&old)), "unchanged expiry");
    }

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
