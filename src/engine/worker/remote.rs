//! The engine's [`Backend`] over `SessionLock` objects: each call is one call to the object
//! named by the session id, through a [`Transport`] (JavaScript RPC in the JS layer, fetch in
//! the workers-rs library). Retries, call ids and the release of a lease whose grant was lost
//! on the way live here, once, for both.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::object::user::{check_user, index_name, Listed};
use crate::engine::session::record::{Change, RecordText};
use crate::engine::wire::{
    ApplyMsg, BeginMsg, DestroyedAnswer, IdMsg, Message, ObjectSettings, Op, Reply, SettingsRef,
    SweepAnswer, UserMsg, WireError,
};
use crate::engine::worker::retry::{self, Failure};
use crate::engine::worker::store::{Backend, Begun};
use crate::engine::{Config, Error, Lease, SessionId};

/// A `begin` answer as the worker reads it: [`Begun`], with the record's data text kept.
#[derive(serde::Deserialize)]
struct BegunText {
    lease: Option<Lease>,
    record: Option<RecordText>,
}

/// A call that failed on the way to or from the object (not an answer of the object).
#[derive(Debug)]
pub struct Failed {
    /// How the runtime marked the failure.
    pub failure: Failure,
    /// The error, for the log.
    pub error: Error,
}

/// How a runtime reaches a session's object.
///
/// A lock is held on a *channel*: a transport may keep what a granted `begin` returned (the
/// JavaScript layer keeps the RPC stub of the lease, so the request's later calls on it belong
/// to the same RPC session, billed once) and end it with [`Transport::close`], whose disposal
/// releases the lease in the object, also when the caller dies.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait Transport {
    /// One attempt of `op` with the JSON message `body` on the object named `sid`: the
    /// object's answer (a JSON [`Reply`]), or how the call failed on the way. `channel` names
    /// the lock the call belongs to: for `begin`, the channel a granted lease opens; for the
    /// later calls of that lock, the channel to send them on.
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        channel: Option<&str>,
    ) -> Result<String, Failed>;
    /// Ends a channel. True if ending it releases the lease (the RPC stub's disposal); false
    /// if the caller must release with a `release` call.
    fn close(&self, _channel: &str) -> bool {
        false
    }
    /// Drops a channel whose call failed, without ending it. True if the transport held
    /// something on it (so the call can be asked of the object itself instead).
    fn forget(&self, _channel: &str) -> bool {
        false
    }
    /// Resolves after `ms` milliseconds (between retries).
    async fn sleep(&self, ms: u64);
}

/// The channel of each lock held, by session id and lease token.
type Channels = RefCell<HashMap<(String, u64), String>>;

/// A [`Backend`] that routes every session through its object.
pub struct RemoteBackend<T> {
    transport: Rc<T>,
    settings: Rc<ObjectSettings>,
    /// Their version.
    version: u64,
    channels: Rc<Channels>,
}

impl<T> Clone for RemoteBackend<T> {
    fn clone(&self) -> Self {
        RemoteBackend {
            transport: self.transport.clone(),
            settings: self.settings.clone(),
            version: self.version,
            channels: self.channels.clone(),
        }
    }
}

/// True if `text` is the object's refusal [`WireError::SETTINGS`].
fn asks_for_settings(text: &str) -> bool {
    text.starts_with(r#"{"err""#)
        && matches!(
            serde_json::from_str::<Reply<serde::de::IgnoredAny>>(text),
            Ok(Reply::Err(w)) if w.error == WireError::SETTINGS
        )
}

thread_local! {
    /// This isolate's call id prefix (random, 192 bits) and how many ids it has made.
    static CALL_IDS: RefCell<Option<(String, u64)>> = const { RefCell::new(None) };
}

/// A fresh call id for one logical call (all its attempts share it): this isolate's random
/// prefix and a counter, so one random draw serves every call an isolate makes. An object
/// tells calls apart by id (a repeat is answered, not applied again), so ids of different
/// isolates must never meet: 192 random bits make that as unlikely as guessing a session id.
fn call_id() -> Result<String, Error> {
    CALL_IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.is_none() {
            *ids = Some((SessionId::generate()?.as_str().to_owned(), 0));
        }
        let (prefix, n) = ids.as_mut().expect("set above");
        *n += 1;
        Ok(format!("{prefix}.{n}"))
    })
}

impl<T: Transport> RemoteBackend<T> {
    /// Calls objects through `transport` with `config`'s storage settings.
    pub fn new(transport: T, config: &Config) -> Self {
        let settings = ObjectSettings::of(config);
        RemoteBackend {
            transport: Rc::new(transport),
            version: settings.version(),
            settings: Rc::new(settings),
            channels: Rc::default(),
        }
    }

    /// The transport, for calls the backend does not make itself.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The settings by version: for calls to an object that has them (it persisted them
    /// with the session's record); it asks for them if not.
    fn named(&self) -> SettingsRef {
        SettingsRef {
            v: self.version,
            full: None,
        }
    }

    /// The settings sent whole: for calls that reach an object with no record of its own yet
    /// (a new session) or that run rarely (a sweep, a user's index).
    fn whole(&self) -> SettingsRef {
        SettingsRef {
            v: self.version,
            full: Some((*self.settings).clone()),
        }
    }

    /// One logical call: retried while the runtime marks the failure retryable; the object's
    /// answers, refusals included, are final.
    async fn call<M: Serialize + Message, R: DeserializeOwned>(
        &self,
        id: &SessionId,
        op: Op,
        msg: M,
        channel: Option<&str>,
    ) -> Result<R, Error> {
        self.call_named(id.as_str(), op, msg, channel).await
    }

    /// [`Self::call`] on the object named `name` (a session id, or a user's index).
    /// An object that does not hold the settings a message names by version answers
    /// [`WireError::SETTINGS`]; the message goes again, once, with them.
    async fn call_named<M: Serialize + Message, R: DeserializeOwned>(
        &self,
        name: &str,
        op: Op,
        mut msg: M,
        channel: Option<&str>,
    ) -> Result<R, Error> {
        let body = serde_json::to_string(&msg)?;
        let by_version = msg.settings().full.is_none();
        let mut whole = || {
            *msg.settings_mut() = self.whole();
            Ok(serde_json::to_string(&msg)?)
        };
        let resend = by_version.then_some(&mut whole as &mut dyn FnMut() -> Result<String, Error>);
        let text = self.exchange(name, op, body, resend, channel).await?;
        match serde_json::from_str::<Reply<R>>(&text)? {
            Reply::Ok(v) => Ok(v),
            Reply::Err(w) => Err(w.into_error()),
        }
    }

    /// The attempts of one call (not generic, so there is one copy of this loop): the
    /// object's answer, as text. `resend` makes the message with the settings whole, for an
    /// object that asks for them.
    async fn exchange(
        &self,
        name: &str,
        op: Op,
        mut body: String,
        mut resend: Option<&mut dyn FnMut() -> Result<String, Error>>,
        channel: Option<&str>,
    ) -> Result<String, Error> {
        let mut attempt = 1;
        let mut channel = channel;
        loop {
            let answer = self.transport.call(name, op, body.clone(), channel);
            match answer.await {
                // An unmarked failure on a lease's channel may mean its RPC session broke (the
                // object restarted, or the connection), taking the lease with it: ask the
                // object itself, once, which answers as it stands (lease lost, or the call's
                // own answer: the call id makes a repeat harmless). Marked failures follow the
                // retry rules below.
                Err(Failed {
                    failure: Failure::Other,
                    ..
                }) if channel.is_some_and(|ch| self.forget_channel(ch)) => channel = None,
                Err(Failed { failure, error }) => {
                    attempt += 1;
                    match retry::retry_after(failure, attempt) {
                        Some(ms) => self.transport.sleep(ms).await,
                        None => return Err(error),
                    }
                }
                Ok(text) if asks_for_settings(&text) && resend.is_some() => {
                    body = resend.take().expect("checked")()?;
                }
                Ok(text) => return Ok(text),
            }
        }
    }

    /// Drops a broken channel (without ending it: its lease may be gone already); true if the
    /// transport held something on it.
    fn forget_channel(&self, channel: &str) -> bool {
        self.channels.borrow_mut().retain(|_, ch| ch != channel);
        self.transport.forget(channel)
    }

    /// The channel of the lock `token` on `id`, forgotten if `ending`.
    fn channel(&self, id: &SessionId, token: u64, ending: bool) -> Option<String> {
        let key = (id.as_str().to_owned(), token);
        let mut channels = self.channels.borrow_mut();
        if ending {
            channels.remove(&key)
        } else {
            channels.get(&key).cloned()
        }
    }

    /// The live sessions of `uid` (oldest first), `current` marked.
    pub async fn user_list(
        &self,
        uid: &str,
        current: Option<&SessionId>,
    ) -> Result<Vec<Listed>, Error> {
        check_user(uid)?;
        let msg = UserMsg {
            uid: uid.to_owned(),
            sid: current.map(|c| c.as_str().to_owned()),
            settings: self.whole(),
        };
        self.call_named(&index_name(uid), Op::UserList, msg, None)
            .await
    }

    /// Destroys `uid`'s sessions, all or all but `except`; how many. When it returns, every
    /// session listed before it started is dead (a request holding one's lock cannot write).
    pub async fn user_destroy(
        &self,
        uid: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, Error> {
        check_user(uid)?;
        let msg = UserMsg {
            uid: uid.to_owned(),
            sid: except.map(|c| c.as_str().to_owned()),
            settings: self.whole(),
        };
        let a: DestroyedAnswer = self
            .call_named(&index_name(uid), Op::UserDestroy, msg, None)
            .await?;
        Ok(a.destroyed)
    }

    /// Asks the object to delete its session if it has expired; true if it did.
    pub async fn sweep(&self, id: &SessionId) -> Result<bool, Error> {
        let msg = IdMsg {
            sid: id.as_str().into(),
            settings: self.whole(),
            lease: None,
            caller: None,
        };
        let a: SweepAnswer = self.call(id, Op::Sweep, msg, None).await?;
        Ok(a.deleted)
    }
}

impl<T: Transport> Backend for RemoteBackend<T> {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        let rid = call_id()?;
        let msg = BeginMsg {
            rid: rid.clone(),
            sid: id.as_str().into(),
            settings: self.named(),
            lock,
        };
        // read with the record's data text kept (`RecordText`), for the hand-off
        let r: Result<Begun, Error> = self
            .call::<_, BegunText>(id, Op::Begin, msg, Some(&rid))
            .await
            .map(|b| Begun {
                lease: b.lease,
                record: b.record.map(|RecordText(r)| r),
            });
        match &r {
            Ok(Begun { lease: Some(l), .. }) => {
                let key = (id.as_str().to_owned(), l.token);
                self.channels.borrow_mut().insert(key, rid.clone());
            }
            _ => {
                self.transport.close(&rid);
            }
        }
        if let (Err(_), true) = (&r, lock) {
            // The lease may have been granted with the answer lost on the way: release
            // whatever this call holds or waits for, so the lock does not sit out its lease.
            let msg = IdMsg {
                sid: id.as_str().into(),
                settings: self.named(),
                lease: None,
                caller: Some(rid),
            };
            let _ = self
                .call::<_, serde_json::Value>(id, Op::Release, msg, None)
                .await;
        }
        r
    }

    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        let msg = ApplyMsg {
            rid: call_id()?,
            sid: id.as_str().into(),
            settings: match change {
                Change::Create { .. } => self.whole(),
                _ => self.named(),
            },
            change: change.clone(),
            lease: lease.copied(),
            release,
        };
        let channel = lease.and_then(|l| self.channel(id, l.token, release));
        let r = self
            .call::<_, serde_json::Value>(id, Op::Apply, msg, channel.as_deref())
            .await
            .map(|_| ());
        if let (Some(ch), true) = (&channel, release) {
            self.transport.close(ch); // the apply released the lease; end its RPC session
        }
        r
    }

    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        if let Some(ch) = self.channel(id, lease.token, true) {
            if self.transport.close(&ch) {
                return Ok(()); // ending the lease's RPC session releases it in the object
            }
        }
        let msg = IdMsg {
            sid: id.as_str().into(),
            settings: self.named(),
            lease: Some(*lease),
            caller: None,
        };
        self.call::<_, serde_json::Value>(id, Op::Release, msg, None)
            .await
            .map(|_| ())
    }
}
