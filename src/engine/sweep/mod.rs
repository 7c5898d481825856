//! The expiry sweep's decisions (CherryPy's `clean_up`), free of I/O.
//!
//! A run lists keys page by page with their metadata (never reading values), picks the expired
//! ones, and stops when its operation budget is spent (Workers allow 1000 storage operations
//! per invocation). It then hands back the cursor to resume from: the start of the page it
//! could not finish, so a later run repeats that page. Deleting is idempotent, so overlapping
//! or repeated runs are harmless.

pub mod sweeper;

use crate::engine::session::record::Meta;
use crate::engine::SessionId;

/// One listed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    /// Full key name, e.g. `session:<id>`.
    pub name: String,
    /// Its metadata, if it has any that decodes.
    pub meta: Option<Meta>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Keys on this page (may be empty even when more follow).
    pub keys: Vec<ListedKey>,
    /// Cursor for the next page.
    pub cursor: Option<String>,
    /// True on the last page.
    pub complete: bool,
}

/// Counts for the log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Pages listed.
    pub pages: usize,
    /// Keys seen.
    pub listed: usize,
    /// Expired keys picked for deletion.
    pub deleted: usize,
    /// Keys skipped: foreign names or missing metadata.
    pub skipped: usize,
}

/// State of one sweep run.
#[derive(Debug, Clone)]
pub struct Sweep {
    budget: usize,
    used: usize,
    now: u64,
    prefix: String,
    cursor: Option<String>,
    finished: bool,
    stats: SweepStats,
}

impl Sweep {
    /// Starts a run at `cursor` (from the previous run) with `budget` operations.
    pub fn new(budget: usize, now: u64, prefix: &str, cursor: Option<String>) -> Self {
        Sweep {
            budget,
            used: 0,
            now,
            prefix: prefix.to_owned(),
            cursor,
            finished: false,
            stats: SweepStats::default(),
        }
    }

    /// Spends `n` operations outside listing and deleting (e.g. reading and saving the cursor).
    pub fn spend(&mut self, n: usize) {
        self.used += n;
    }

    /// The cursor to list next, or `None` when the run must stop (done, or out of budget: a
    /// page is only worth listing if at least one delete can follow it).
    pub fn next_list(&mut self) -> Option<Option<String>> {
        if self.finished || self.used + 2 > self.budget {
            return None;
        }
        self.used += 1;
        self.stats.pages += 1;
        Some(self.cursor.clone())
    }

    /// Takes a listed page and returns the ids to delete, within budget. Advances the cursor
    /// only past a page whose expired keys all fit.
    pub fn page(&mut self, page: Page) -> Vec<SessionId> {
        self.stats.listed += page.keys.len();
        let mut expired = Vec::new();
        for k in &page.keys {
            let id = k
                .name
                .strip_prefix(self.prefix.as_str())
                .and_then(SessionId::parse);
            match (id, k.meta) {
                (Some(id), Some(m)) if m.exp <= self.now => expired.push(id),
                (Some(_), Some(_)) => {}
                _ => self.stats.skipped += 1,
            }
        }
        let room = self.budget.saturating_sub(self.used);
        if expired.len() > room {
            expired.truncate(room);
            self.finished = true; // resume at this page's start next run
        } else if page.complete {
            self.cursor = None;
            self.finished = true;
        } else {
            self.cursor = page.cursor;
        }
        self.used += expired.len();
        self.stats.deleted += expired.len();
        expired
    }

    /// Marks the current page as not done (a delete failed): the next run repeats it.
    pub fn retry_page(&mut self, page_start: Option<String>) {
        self.cursor = page_start;
        self.finished = true;
    }

    /// Where the next run starts: `None` means from the beginning.
    pub fn resume_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Operations spent.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Counts so far.
    pub fn stats(&self) -> SweepStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A fake sorted key space with KV-like paging: the cursor is the last key returned.
    fn listing(store: &BTreeMap<String, Meta>, cursor: Option<&str>, limit: usize) -> Page {
        let keys: Vec<ListedKey> = store
            .iter()
            .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() > c))
            .take(limit)
            .map(|(k, m)| ListedKey {
                name: k.clone(),
                meta: Some(*m),
            })
            .collect();
        let last = keys.last().map(|k| k.name.clone());
        let complete = last.as_ref().is_none_or(|l| {
            store
                .range::<String, _>((
                    std::ops::Bound::Excluded(l.clone()),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .is_none()
        });
        Page {
            keys,
            cursor: last.or(cursor.map(str::to_owned)),
            complete,
        }
    }

    fn run(
        store: &mut BTreeMap<String, Meta>,
        budget: usize,
        cursor: Option<String>,
        now: u64,
    ) -> (Option<String>, SweepStats) {
        let mut s = Sweep::new(budget, now, "session:", cursor);
        while let Some(c) = s.next_list() {
            let page = listing(store, c.as_deref(), 10);
            for id in s.page(page) {
                store.remove(&format!("session:{}", id.as_str()));
            }
        }
        assert!(s.used() <= budget);
        (s.resume_cursor().map(str::to_owned), s.stats())
    }

    fn populate(n: usize, expired_every: usize) -> BTreeMap<String, Meta> {
        (0..n)
            .map(|i| {
                let id = SessionId::generate().unwrap();
                let exp = if i % expired_every == 0 { 100 } else { 10_000 };
                (format!("session:{}", id.as_str()), Meta { exp, ver: 1 })
            })
            .collect()
    }

    #[test]
    fn deletes_exactly_the_expired_in_one_run() {
        let mut store = populate(95, 3);
        let live = store.values().filter(|m| m.exp > 500).count();
        let (cursor, stats) = run(&mut store, 1000, None, 500);
        assert_eq!(cursor, None);
        assert_eq!(store.len(), live);
        assert!(store.values().all(|m| m.exp > 500));
        assert_eq!(stats.pages, 10);
        assert_eq!(stats.deleted, 95 - live);
    }

    #[test]
    fn resumes_across_runs_within_budget() {
        let mut store = populate(200, 1); // every key expired
        let mut cursor = None;
        let mut runs = 0;
        loop {
            let (c, stats) = run(&mut store, 25, cursor, 500);
            runs += 1;
            assert!(stats.deleted <= 25);
            cursor = c;
            if cursor.is_none() && store.is_empty() {
                break;
            }
            assert!(runs < 100, "no progress");
        }
        assert!(runs > 5);
    }

    #[test]
    fn repeated_runs_are_idempotent_and_foreign_keys_are_skipped() {
        let mut store = populate(30, 2);
        store.insert("session:not-an-id".into(), Meta { exp: 0, ver: 1 });
        store.insert("other:x".into(), Meta { exp: 0, ver: 1 });
        let (_, first) = run(&mut store, 1000, None, 500);
        let after_first = store.len();
        let (_, second) = run(&mut store, 1000, None, 500);
        assert_eq!(store.len(), after_first);
        assert_eq!(second.deleted, 0);
        assert_eq!(first.skipped, 2);
    }

    #[test]
    fn empty_pages_do_not_end_the_run() {
        let mut s = Sweep::new(100, 500, "session:", None);
        s.next_list().unwrap();
        let ids = s.page(Page {
            keys: vec![],
            cursor: Some("c1".into()),
            complete: false,
        });
        assert!(ids.is_empty());
        assert_eq!(s.next_list(), Some(Some("c1".into())));
    }

    #[test]
    fn a_failed_page_is_repeated() {
        let mut s = Sweep::new(100, 500, "session:", Some("p3".into()));
        let start = s.next_list().unwrap();
        s.page(Page {
            keys: vec![],
            cursor: Some("p4".into()),
            complete: false,
        });
        s.retry_page(start);
        assert_eq!(s.resume_cursor(), Some("p3"));
        assert_eq!(s.next_list(), None);
    }
}
