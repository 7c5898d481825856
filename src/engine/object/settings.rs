//! The settings an object holds for its incarnation: each version its callers named, with the
//! [`Config`] the record rules need built once per version, not per call.

use std::cell::RefCell;
use std::rc::Rc;

use crate::engine::wire::{ObjectSettings, SettingsRef};
use crate::engine::Config;

/// One version of the callers' settings, ready to use.
#[derive(Debug)]
pub struct Installed {
    /// Its version, as the callers name it.
    pub v: u64,
    /// The settings.
    pub settings: ObjectSettings,
    /// The same as a config (the rest at defaults), for the record rules.
    pub config: Config,
}

/// How many versions an incarnation keeps: callers of one deployment share one; a deploy or
/// two callers with different options (the proxy and a JavaScript handler) make a few.
pub const KEPT: usize = 4;

/// The versions held, most recently used first.
#[derive(Debug, Default)]
pub struct SettingsCache {
    held: RefCell<Vec<Rc<Installed>>>,
}

impl SettingsCache {
    /// The settings `r` names: the ones it carries (installed under its version), or the
    /// version held; `None` if it names a version this incarnation does not hold.
    pub fn resolve(&self, r: &SettingsRef) -> Option<Rc<Installed>> {
        match &r.full {
            Some(full) => {
                let found = self.find(r.v).filter(|i| &i.settings == full);
                Some(found.unwrap_or_else(|| self.install(r.v, full.clone())))
            }
            None => self.find(r.v),
        }
    }

    /// Installs `settings` under `v` (a persisted copy, or a caller's).
    pub fn install(&self, v: u64, settings: ObjectSettings) -> Rc<Installed> {
        let config = settings.to_config();
        let i = Rc::new(Installed {
            v,
            settings,
            config,
        });
        let mut held = self.held.borrow_mut();
        held.retain(|h| h.v != v);
        held.insert(0, i.clone());
        held.truncate(KEPT);
        i
    }

    fn find(&self, v: u64) -> Option<Rc<Installed>> {
        let mut held = self.held.borrow_mut();
        let at = held.iter().position(|h| h.v == v)?;
        let i = held.remove(at);
        held.insert(0, i.clone());
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(prefix: &str) -> ObjectSettings {
        let mut s = ObjectSettings::of(&Config::default());
        s.key_prefix = prefix.into();
        s
    }

    #[test]
    fn a_version_sent_once_is_held_for_later_calls() {
        let cache = SettingsCache::default();
        let a = settings("a:");
        let bare = SettingsRef {
            v: a.version(),
            full: None,
        };
        assert!(cache.resolve(&bare).is_none(), "nothing held yet");
        let got = cache.resolve(&SettingsRef::full(&a)).unwrap();
        assert_eq!(got.settings, a);
        assert_eq!(got.config.key_prefix, "a:");
        let again = cache.resolve(&bare).expect("held");
        assert!(Rc::ptr_eq(&got, &again), "built once");
    }

    #[test]
    fn the_least_recently_used_version_goes_first() {
        let cache = SettingsCache::default();
        let all: Vec<_> = (0..=KEPT).map(|i| settings(&format!("p{i}:"))).collect();
        for s in &all[..KEPT] {
            cache.resolve(&SettingsRef::full(s));
        }
        let bare = |s: &ObjectSettings| SettingsRef {
            v: s.version(),
            full: None,
        };
        // the oldest is used again, so the second oldest is the one to go
        assert!(cache.resolve(&bare(&all[0])).is_some());
        cache.resolve(&SettingsRef::full(&all[KEPT]));
        assert!(cache.resolve(&bare(&all[1])).is_none());
        for s in [&all[0], &all[2], &all[KEPT]] {
            assert!(cache.resolve(&bare(s)).is_some());
        }
    }

    #[test]
    fn settings_sent_whole_win_over_a_clashing_version() {
        let cache = SettingsCache::default();
        let a = settings("a:");
        let b = settings("b:");
        cache.resolve(&SettingsRef::full(&a));
        // a caller labelling other settings with a's version gets its own settings
        let clash = SettingsRef {
            v: a.version(),
            full: Some(b.clone()),
        };
        assert_eq!(cache.resolve(&clash).unwrap().settings, b);
    }
}
