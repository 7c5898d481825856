//! The stored form of a session and the rules every backend applies to it, so the memory
//! backend and the Durable Object cannot drift apart.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::engine::object::user::Binding;
use crate::engine::session::edits::{apply_edits, check_data_depth, Edits};
use crate::engine::{Config, Error};

/// Current record format. Anything else in storage is treated as absent (and logged).
pub const FORMAT: u32 = 1;

/// A stored session. Times are Unix milliseconds.
///
/// A record read from JSON ([`Record::decode`], [`RecordText`]) keeps its data's JSON text
/// beside the parsed data while the data is unchanged, so passing it on (the object's answer
/// to a `begin`, the proxy's `X-Session-Data`) copies that text instead of writing the data
/// out again; [`Record::data_mut`] drops it.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// Format version, [`FORMAT`].
    pub v: u32,
    /// The session data ([`Record::data`], [`Record::data_mut`]).
    data: Map<String, Value>,
    /// The data's JSON text, while it is the data's.
    #[serde(skip)]
    data_text: Option<Box<RawValue>>,
    /// Creation time; the absolute timeout counts from here and survives regeneration.
    pub created: u64,
    /// Last time the expiry was refreshed.
    pub accessed: u64,
    /// When the session dies (idle or absolute, whichever is first).
    pub expires: u64,
    /// Bumped on every write, so mirrors can tell newer from older.
    pub version: u64,
    /// This session's own idle timeout in ms ("remember me"), overriding `SESSION_TIMEOUT`;
    /// it also makes the cookie persistent. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The user this session is bound to (listed in that user's index), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl PartialEq for Record {
    /// Equal sessions: the same fields (whether the data's text is kept is not a difference).
    fn eq(&self, other: &Self) -> bool {
        self.v == other.v
            && self.data == other.data
            && self.created == other.created
            && self.accessed == other.accessed
            && self.expires == other.expires
            && self.version == other.version
            && self.timeout_ms == other.timeout_ms
            && self.user == other.user
    }
}

/// The same fields as the derived form would write, with the data's kept text copied as it is.
impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Record", 8)?;
        st.serialize_field("v", &self.v)?;
        match &self.data_text {
            Some(text) => st.serialize_field("data", text)?,
            None => st.serialize_field("data", &self.data)?,
        }
        st.serialize_field("created", &self.created)?;
        st.serialize_field("accessed", &self.accessed)?;
        st.serialize_field("expires", &self.expires)?;
        st.serialize_field("version", &self.version)?;
        if self.timeout_ms.is_some() {
            st.serialize_field("timeout_ms", &self.timeout_ms)?;
        }
        if self.user.is_some() {
            st.serialize_field("user", &self.user)?;
        }
        st.end()
    }
}

/// A record read straight from JSON text (not through a buffering format such as an
/// internally tagged enum, where the data's text cannot be kept): [`Record::decode`], and the
/// worker's reading of a `begin` answer. Deserializes to the same record, with the text kept.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordText(pub Record);

impl<'de> Deserialize<'de> for RecordText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            v: u32,
            data: Box<RawValue>,
            created: u64,
            accessed: u64,
            expires: u64,
            version: u64,
            #[serde(default)]
            timeout_ms: Option<u64>,
            #[serde(default)]
            user: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        let data: Map<String, Value> =
            serde_json::from_str(w.data.get()).map_err(serde::de::Error::custom)?;
        Ok(RecordText(Record {
            v: w.v,
            data,
            data_text: Some(w.data),
            created: w.created,
            accessed: w.accessed,
            expires: w.expires,
            version: w.version,
            timeout_ms: w.timeout_ms,
            user: w.user,
        }))
    }
}

/// What the sweep can see without reading values: KV metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Expiry, Unix ms.
    pub exp: u64,
    /// Record version.
    pub ver: u64,
}

/// Expiry for a session created at `created` and last refreshed at `accessed`, with the
/// session's own idle timeout (`timeout_ms`, "remember me") or else the configured one. The
/// absolute timeout caps both.
pub fn expiry(cfg: &Config, created: u64, accessed: u64, timeout_ms: Option<u64>) -> u64 {
    let timeout = timeout_ms.unwrap_or(cfg.timeout.as_millis() as u64);
    let idle = accessed.saturating_add(timeout);
    match cfg.absolute_timeout {
        Some(a) => idle.min(created.saturating_add(a.as_millis() as u64)),
        None => idle,
    }
}

impl Record {
    /// A new record holding `data`, created now.
    pub fn new(cfg: &Config, data: Map<String, Value>, now: u64) -> Self {
        Record {
            v: FORMAT,
            data,
            data_text: None,
            created: now,
            accessed: now,
            expires: expiry(cfg, now, now, None),
            version: 1,
            timeout_ms: None,
            user: None,
        }
    }

    /// The session data.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The session data, to change: the kept JSON text goes.
    pub fn data_mut(&mut self) -> &mut Map<String, Value> {
        self.data_text = None;
        &mut self.data
    }

    /// The session data, taken.
    pub fn into_data(self) -> Map<String, Value> {
        self.data
    }

    /// Writes the data's JSON text out once and keeps it (no-op if kept already).
    pub fn keep_text(&mut self) {
        if self.data_text.is_none() {
            self.data_text = serde_json::value::to_raw_value(&self.data).ok();
        }
    }

    /// The data's JSON text: the kept text, or written out now.
    pub fn data_json(&self) -> std::borrow::Cow<'_, str> {
        match &self.data_text {
            Some(t) => std::borrow::Cow::Borrowed(t.get()),
            None => std::borrow::Cow::Owned(
                serde_json::to_string(&self.data).expect("a JSON map always serializes"),
            ),
        }
    }

    /// Whether the session is dead at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires
    }

    /// The metadata mirrored next to the value.
    pub fn meta(&self) -> Meta {
        Meta {
            exp: self.expires,
            ver: self.version,
        }
    }

    /// Parses a stored record; corrupt or other-format records are an `Err` with a reason
    /// for the log, and callers treat them as absent rather than failing the request.
    pub fn decode(text: &str) -> Result<Self, String> {
        let RecordText(r) =
            serde_json::from_str(text).map_err(|e| format!("undecodable record: {e}"))?;
        if r.v != FORMAT {
            return Err(format!("record format {} is not {FORMAT}", r.v));
        }
        check_data_depth(&r.data).map_err(|e| e.to_string())?;
        Ok(r)
    }

    /// Serializes for storage.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a JSON map always serializes")
    }
}

/// A change to one stored session. Backends apply these with [`apply_op`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Change {
    /// Store a new session; refused if one exists (ids are never overwritten).
    Create {
        /// The record to store.
        record: Record,
        /// The binding to the user's index, when the record has a user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bind: Option<Binding>,
    },
    /// Apply `edits` to the current data and refresh the expiry. Refused if the session is
    /// gone: a request in flight cannot resurrect a destroyed session.
    Update {
        /// The request's edits, per key; empty for a pure expiry refresh.
        edits: Edits,
        /// Refresh time.
        accessed: u64,
        /// A new idle timeout for this session, in ms ("remember me").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// Binds the session to a user (`set_user`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bind: Option<Binding>,
    },
    /// Delete the session (idempotent).
    Delete,
}

impl Change {
    /// True for an unchanged session's expiry refresh: nothing the user did is lost if it is
    /// skipped, so a lease lost meanwhile is no reason to fail the request.
    pub fn is_refresh_only(&self) -> bool {
        matches!(self, Change::Update { edits, timeout_ms: None, bind: None, .. } if edits.is_empty())
    }
}

/// The result of applying a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The slot now holds this record.
    Stored(Record),
    /// The slot is now empty.
    Deleted,
}

/// The one rule set for changing a stored session, shared by every backend. `current` is the
/// live record (expired records count as absent). Checks the size budget so an oversized
/// change is refused whole and nothing is lost.
pub fn apply_op(
    cfg: &Config,
    current: Option<&Record>,
    change: &Change,
    now: u64,
) -> Result<Applied, Error> {
    let live = current.filter(|r| !r.is_expired(now));
    let stored = match change {
        Change::Delete => return Ok(Applied::Deleted),
        Change::Create { record, .. } => match live {
            // the same create again (a retried call whose first attempt was applied)
            Some(cur) if cur == record => record.clone(),
            Some(_) => return Err(Error::Backend("session id collision on create".into())),
            None => record.clone(),
        },
        Change::Update {
            edits,
            accessed,
            timeout_ms,
            bind,
        } => {
            let Some(cur) = live else {
                return Err(Error::Gone);
            };
            let mut next = cur.clone();
            apply_edits(next.data_mut(), edits);
            next.accessed = (*accessed).max(cur.accessed);
            if timeout_ms.is_some() {
                next.timeout_ms = *timeout_ms;
            }
            if let Some(b) = bind {
                next.user = Some(b.user.clone());
            }
            next.expires = expiry(cfg, next.created, next.accessed, next.timeout_ms);
            next.version = cur.version + 1;
            next
        }
    };
    check_data_depth(&stored.data)?;
    // written out once here: the size is the text's, and storing the record (and answering
    // the next `begin` from it) copies that text
    let mut stored = stored;
    stored.keep_text();
    check_len(
        cfg,
        stored
            .data_text
            .as_ref()
            .map_or(usize::MAX, |t| t.get().len()),
    )?;
    Ok(Applied::Stored(stored))
}

/// The length of `data`'s JSON encoding, counted as it is written (nothing is kept).
pub fn encoded_len(data: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    match serde_json::to_writer(&mut n, data) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}

/// Refuses data whose JSON encoding exceeds the configured budget.
pub fn check_size(cfg: &Config, data: &Map<String, Value>) -> Result<usize, Error> {
    check_len(cfg, encoded_len(data))
}

/// Refuses an encoded data length over the configured budget.
fn check_len(cfg: &Config, size: usize) -> Result<usize, Error> {
    if size > cfg.max_data_bytes {
        return Err(Error::TooLarge {
            size,
            limit: cfg.max_data_bytes,
        });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoded_record_passes_its_data_text_on_until_the_data_changes() {
        // the stored text, spacing and all, is what goes out again
        let text = r#"{"v":1,"data":{"b": [1, 2.50],"a":"x"},"created":1,"accessed":2,"expires":3,"version":4}"#;
        let r = Record::decode(text).unwrap();
        assert_eq!(r.data_json(), r#"{"b": [1, 2.50],"a":"x"}"#);
        assert!(r.encode().contains(r#""data":{"b": [1, 2.50],"a":"x"}"#));
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        // a record built from the same fields is equal: the kept text is not a difference
        let mut built = Record::new(&Config::default(), r.data().clone(), 1);
        (built.accessed, built.expires, built.version) = (2, 3, 4);
        assert_eq!(built, r);
        // a change drops it: what goes out is the changed data
        let mut changed = r.clone();
        changed.data_mut().insert("c".into(), json!(true));
        assert_eq!(
            serde_json::from_str::<Value>(&changed.data_json()).unwrap(),
            json!({"a": "x", "b": [1, 2.5], "c": true})
        );
        let back = Record::decode(&changed.encode()).unwrap();
        assert_eq!(back.data().get("c"), Some(&json!(true)));
        // and so does every change the record rules apply
        let cfg = Config::default();
        let edits: Edits = [("a".to_owned(), Edit::Set(json!("y")))].into();
        let change = Change::Update {
            edits,
            accessed: 2,
            timeout_ms: None,
            bind: None,
        };
        let Applied::Stored(next) = apply_op(&cfg, Some(&r), &change, 2).unwrap() else {
            panic!("stored")
        };
        let stored = Record::decode(&next.encode()).unwrap();
        assert_eq!(stored.data().get("a"), Some(&json!("y")));
    }

    #[test]
    fn the_encoded_length_is_the_length_of_the_encoding() {
        for v in [
            serde_json::json!({}),
            serde_json::json!({"a": 1, "b": [true, null, 2.5], "c": "é\n\"x\""}),
        ] {
            let m = v.as_object().unwrap();
            assert_eq!(encoded_len(m), serde_json::to_vec(m).unwrap().len());
        }
    }
    use crate::engine::session::edits::Edit;
    use serde_json::json;
    use std::time::Duration;

    fn cfg() -> Config {
        Config {
            timeout: Duration::from_secs(10),
            absolute_timeout: Some(Duration::from_secs(25)),
            ..Config::default()
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let c = cfg();
        let r = Record::new(&c, Map::new(), 1_000);
        assert_eq!(r.expires, 11_000);
        assert!(!r.is_expired(10_999));
        assert!(r.is_expired(11_000));
        // refreshed at 20s: idle would be 30s, absolute caps at 26s
        assert_eq!(expiry(&c, 1_000, 20_000, None), 26_000);
        // a session's own timeout (remember me) replaces the idle one; the absolute still caps
        assert_eq!(expiry(&c, 1_000, 2_000, Some(3_000)), 5_000);
        assert_eq!(expiry(&c, 1_000, 20_000, Some(60_000)), 26_000);
    }

    #[test]
    fn update_merges_and_refreshes() {
        let c = cfg();
        let r = Record::new(&c, map(json!({"a":1,"b":2})), 0);
        let op = Change::Update {
            edits: [
                ("a".into(), Edit::Delete),
                ("c".into(), Edit::Set(json!(3))),
            ]
            .into(),
            accessed: 5_000,
            timeout_ms: None,
            bind: None,
        };
        let Applied::Stored(n) = apply_op(&c, Some(&r), &op, 5_000).unwrap() else {
            panic!()
        };
        assert_eq!(Value::Object(n.data.clone()), json!({"b":2,"c":3}));
        assert_eq!((n.accessed, n.expires, n.version), (5_000, 15_000, 2));
    }

    #[test]
    fn update_of_gone_or_expired_session_is_refused() {
        let c = cfg();
        let op = Change::Update {
            edits: Edits::new(),
            accessed: 0,
            timeout_ms: None,
            bind: None,
        };
        assert!(matches!(apply_op(&c, None, &op, 0), Err(Error::Gone)));
        let r = Record::new(&c, Map::new(), 0);
        assert!(matches!(
            apply_op(&c, Some(&r), &op, 10_000),
            Err(Error::Gone)
        ));
    }

    #[test]
    fn create_never_overwrites_a_live_session() {
        let c = cfg();
        let r = Record::new(&c, Map::new(), 0);
        let other = Record::new(&c, map(json!({"x": 1})), 0);
        let op = Change::Create {
            record: other.clone(),
            bind: None,
        };
        assert!(apply_op(&c, Some(&r), &op, 1).is_err());
        // the same create twice (a retry) is not a collision
        assert!(apply_op(&c, Some(&other), &op, 1).is_ok());
        assert!(apply_op(&c, Some(&r), &op, 10_000).is_ok());
    }

    #[test]
    fn oversized_change_is_refused_whole() {
        let c = Config {
            max_data_bytes: 64,
            ..cfg()
        };
        let r = Record::new(&c, map(json!({"a":1})), 0);
        let op = Change::Update {
            edits: [("big".into(), Edit::Set(json!("x".repeat(100))))].into(),
            accessed: 1,
            timeout_ms: None,
            bind: None,
        };
        assert!(matches!(
            apply_op(&c, Some(&r), &op, 1),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn corrupt_and_old_records_decode_to_errors() {
        assert!(Record::decode("not json").is_err());
        assert!(Record::decode(
            r#"{"v":0,"data":{},"created":0,"accessed":0,"expires":0,"version":1}"#
        )
        .is_err());
        let r = Record::new(&cfg(), map(json!({"k":"v"})), 7);
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
    }
}
