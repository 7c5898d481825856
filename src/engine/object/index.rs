//! The object as a user's index (named `user:<uid>`): its entries, loaded once, and the
//! operations on them. The session side of the index (a session's object listing and
//! unlisting itself) is in the object's `apply`.

use std::rc::Rc;

use crate::engine::log::{self, Level};
use crate::engine::object::settings::Installed;
use crate::engine::object::user::{check_user, Listed, UserIndex};
use crate::engine::object::{LockObject, ObjectHost, IDX};
use crate::engine::wire::{DestroyedAnswer, IdMsg, ObjectSettings, Op, SettingsRef};
use crate::engine::wire::{UserAddMsg, UserMsg};
use crate::engine::Error;

impl<H: ObjectHost> LockObject<H> {
    /// The user index's entries, loaded once.
    pub(super) async fn entries(&self) -> Result<(), Error> {
        if self.index.borrow().is_some() {
            return Ok(());
        }
        let text = self.host.get(IDX).await?;
        let idx = match text.as_deref().map(serde_json::from_str::<UserIndex>) {
            Some(Ok(i)) => i,
            Some(Err(e)) => {
                log::emit(
                    Level::Warn,
                    "record_discarded",
                    &format!("user index discarded: {e}"),
                );
                UserIndex::default()
            }
            None => UserIndex::default(),
        };
        let mut slot = self.index.borrow_mut();
        if slot.is_none() {
            *slot = Some(idx);
        }
        Ok(())
    }

    /// Persists the index as it stands (nothing left: the object keeps no storage).
    pub(super) async fn save_index(&self) -> Result<(), Error> {
        let text = match &*self.index.borrow() {
            Some(i) if !i.entries.is_empty() => Some(serde_json::to_string(i)?),
            _ => None,
        };
        match text {
            Some(t) => self.host.put(IDX, t).await,
            None => self.host.delete(IDX).await,
        }
    }

    pub(super) async fn user_add(&self, m: UserAddMsg, s: Rc<Installed>) -> Result<(), Error> {
        check_user(&m.uid).map_err(|_| Error::Backend("bad user id on the wire".into()))?;
        self.entries().await?;
        let now = self.host.now();
        let evicted = {
            let mut slot = self.index.borrow_mut();
            let idx = slot.as_mut().expect("loaded above");
            idx.add(&m.sid, m.created, &m.bind, now, s.settings.user_cap)
        };
        self.save_index().await?;
        // over the cap: the oldest sessions go (they are unlisted already)
        for sid in evicted {
            if let Err(e) = self.kill_session(&sid, &s.settings).await {
                let msg = format!("destroying a session over the user cap failed: {e}");
                log::emit(Level::Warn, "user_index_failed", &msg);
            }
        }
        Ok(())
    }

    pub(super) async fn user_remove(&self, m: UserMsg) -> Result<(), Error> {
        self.entries().await?;
        let sid = m.sid.unwrap_or_default();
        let removed = self
            .index
            .borrow_mut()
            .as_mut()
            .is_some_and(|i| i.remove(&sid));
        if removed {
            self.save_index().await?;
        }
        Ok(())
    }

    pub(super) async fn user_list(&self, m: UserMsg) -> Result<Vec<Listed>, Error> {
        self.entries().await?;
        let slot = self.index.borrow();
        Ok(slot
            .as_ref()
            .map(|i| i.listed(m.sid.as_deref()))
            .unwrap_or_default())
    }

    /// Destroys the user's sessions (all, or all but `m.sid`): each session's object kills it,
    /// then it is unlisted. Sessions listed meanwhile (a login racing this) stay listed.
    pub(super) async fn user_destroy(
        &self,
        m: UserMsg,
        s: Rc<Installed>,
    ) -> Result<DestroyedAnswer, Error> {
        self.entries().await?;
        let targets = self
            .index
            .borrow()
            .as_ref()
            .map(|i| i.to_destroy(m.sid.as_deref()))
            .unwrap_or_default();
        let results = futures_util::future::join_all(
            targets
                .iter()
                .map(|sid| self.kill_session(sid, &s.settings)),
        )
        .await;
        let mut failed = None;
        let mut destroyed = 0;
        for (sid, r) in targets.iter().zip(results) {
            match r {
                Ok(()) => {
                    destroyed += 1;
                    if let Some(i) = self.index.borrow_mut().as_mut() {
                        i.remove(sid);
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        self.save_index().await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(DestroyedAnswer { destroyed }),
        }
    }

    /// Asks session `sid`'s object to destroy it.
    pub(super) async fn kill_session(
        &self,
        sid: &str,
        settings: &ObjectSettings,
    ) -> Result<(), Error> {
        let msg = IdMsg {
            sid: sid.to_owned(),
            settings: SettingsRef::full(settings),
            lease: None,
            caller: None,
        };
        self.ask::<serde_json::Value>(sid, Op::Kill, &msg)
            .await
            .map(|_| ())
    }
}
