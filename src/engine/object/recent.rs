//! Call ids the session's object has already completed, so a call retried after its answer
//! was lost is answered again instead of applied twice (a write that carried the release would
//! otherwise be refused as `LeaseLost` on the retry, though it was saved).

use std::collections::VecDeque;

/// How many completed call ids an object remembers. A retry comes within a second of its
/// first attempt; an object serves far fewer calls than this in that time.
pub const REMEMBERED: usize = 256;

/// The most recent completed call ids, oldest dropped first.
#[derive(Debug, Default)]
pub struct RecentCalls {
    ids: VecDeque<String>,
}

impl RecentCalls {
    /// True when the call `id` already completed here.
    pub fn completed(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }

    /// Remembers that the call `id` completed.
    pub fn record(&mut self, id: &str) {
        if self.ids.len() == REMEMBERED {
            self.ids.pop_front();
        }
        self.ids.push_back(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_most_recent_calls() {
        let mut r = RecentCalls::default();
        assert!(!r.completed("a"));
        r.record("a");
        assert!(r.completed("a"));
        for i in 0..REMEMBERED {
            r.record(&format!("x{i}"));
        }
        assert!(!r.completed("a"), "the oldest is forgotten");
        assert!(r.completed("x0") && r.completed(&format!("x{}", REMEMBERED - 1)));
    }
}
