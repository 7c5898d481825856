//! The properties checked by the cargo-fuzz targets in `fuzz_targets/` and, with bounded
//! proptest cases, by `tests/fuzz_props.rs` (which includes this file as a module), so the
//! fuzzers and the normal `cargo test` run check the very same code.
//!
//! Each `check_*` function takes raw fuzzer bytes, never panics for a correct engine, and
//! panics (an assertion) when a property fails. Only `edge_sessions`, `serde_json` and
//! `base64` are used, all of which the root crate depends on too.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edge_sessions::engine::config::VAR_NAMES;
use edge_sessions::engine::duration::{parse_duration, MAX_DURATION};
use edge_sessions::engine::proxy::origin::parse_origin;
use edge_sessions::engine::proxy::protocol;
use edge_sessions::engine::session::cookies;
use edge_sessions::engine::session::edits::{
    apply_edits, check_data_depth, check_value_depth, depth,
};
use edge_sessions::engine::session::patch::merge_patch;
use edge_sessions::engine::session::record::{apply_op, Applied, Change, FORMAT};
use edge_sessions::engine::session::signing::Verified;
use edge_sessions::engine::wire::ObjectSettings;
use edge_sessions::engine::Record;
use edge_sessions::{Config, Session, SessionId, Signer};
use serde_json::{Map, Value};

/// The cookie name every cookie property uses (the default one).
pub const COOKIE: &str = "__Host-session";
/// The signing (newest) secret.
const KEY_NEW: &str = "fuzz-key-new-0123456789abcdef0123456789";
/// An older secret that still verifies.
const KEY_OLD: &str = "fuzz-key-old-0123456789abcdef0123456789";
/// Fixed ids whose signed values the cookie and signature inputs can splice in.
const ID_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const ID_B: &str = "b-b_b-b_b-b_b-b_b-b_b-b_b-b_b-b_";
const ID_C: &str = "0123456789abcdefghijklmnopqrstuv";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Signs with [`KEY_NEW`], verifies [`KEY_NEW`] and [`KEY_OLD`].
pub fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::new(&[KEY_NEW, KEY_OLD]).expect("valid keys"))
}

/// Signs with [`KEY_OLD`] only: its values verify under [`signer`] with `needs_resign`.
pub fn old_signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::new(&[KEY_OLD]).expect("valid key"))
}

fn id(text: &str) -> SessionId {
    SessionId::parse(text).expect("a valid id")
}

/// Replaces the control bytes 0x01..=0x06 of a lossy-decoded input with tokens a fuzzer could
/// never guess (valid signed values), so selection and verification paths are reachable:
/// 1, 2 = ID_A, ID_B signed with the new key; 3 = ID_C signed with the old key; 4 = ID_A with
/// a forged tag (plausible shape, bad MAC); 5 = `__Host-session=`; 6 = ID_B signed with a key
/// the signer does not know.
pub fn expand(raw: &str) -> String {
    static TOKENS: OnceLock<[String; 6]> = OnceLock::new();
    let t = TOKENS.get_or_init(|| {
        let unknown = Signer::new(&["fuzz-key-unknown-0123456789abcdef0123"]).expect("key");
        [
            signer().sign(&id(ID_A)),
            signer().sign(&id(ID_B)),
            old_signer().sign(&id(ID_C)),
            format!("{ID_A}.{}", "A".repeat(43)),
            format!("{COOKIE}="),
            unknown.sign(&id(ID_B)),
        ]
    });
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\u{1}'..='\u{6}' => out.push_str(&t[c as usize - 1]),
            c => out.push(c),
        }
    }
    out
}

/// An independent statement of the selection rule in `cookies.rs`: split on `;` only, trim,
/// name before the first `=`, exact name match, shape check, first verified of at most
/// [`cookies::MAX_CANDIDATES`] well-shaped candidates.
fn reference_select(header: &str, name: &str, signer: &Signer) -> Option<Verified> {
    let shaped = |v: &str| {
        v.len() == 76
            && v.bytes().enumerate().all(|(i, b)| {
                if i == 32 {
                    b == b'.'
                } else {
                    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
                }
            })
    };
    let mut seen = 0;
    for piece in header.split(';') {
        let piece = piece.trim();
        let Some((n, v)) = piece.split_once('=') else {
            continue;
        };
        if n.trim() != name || !shaped(v.trim()) {
            continue;
        }
        if let Some(ok) = signer.verify(v.trim()) {
            return Some(ok);
        }
        seen += 1;
        if seen == cookies::MAX_CANDIDATES {
            return None;
        }
    }
    None
}

/// Target 1. Cookie header -> `select_joined` and `strip_cookie`. Properties: no panic; the
/// selection equals the independent reference rule; a selected id appears in the header (as a
/// signed value under one of the keys); `strip_cookie` leaves no pair, `;`- or `,`-separated,
/// named exactly [`COOKIE`], nothing `select_joined` could pick, and keeps every plain pair.
pub fn check_cookie_select(data: &[u8]) {
    let header = expand(&String::from_utf8_lossy(data));
    let s = signer();
    let got = cookies::select_joined(&header, COOKIE, s);
    assert_eq!(
        got,
        reference_select(&header, COOKIE, s),
        "header {header:?}"
    );
    if let Some(v) = &got {
        let signed = if v.needs_resign {
            old_signer().sign(&v.id)
        } else {
            s.sign(&v.id)
        };
        assert!(
            header.contains(&signed),
            "selected id not in header {header:?}"
        );
    }
    let is_ours = |pair: &str| pair.split('=').next().map(str::trim) == Some(COOKIE);
    match cookies::strip_cookie(&header, COOKIE) {
        None => {
            // nothing left: every non-blank pair was ours
            for pair in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                assert!(
                    pair.split(',').any(is_ours),
                    "pair {pair:?} dropped from {header:?}"
                );
            }
        }
        Some(out) => {
            assert!(!out.trim().is_empty());
            for pair in out.split(';') {
                for part in pair.split(',') {
                    assert!(!is_ours(part), "{part:?} left in {out:?} from {header:?}");
                }
            }
            assert!(cookies::candidates([out.as_str()], COOKIE).is_empty());
            assert_eq!(cookies::select_joined(&out, COOKIE, s), None);
            // a set, not a scan of `out` per pair: that was quadratic, 36 ms for a 24 KB header
            let kept: std::collections::HashSet<&str> = out.split("; ").collect();
            for pair in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                if !pair.contains(',') && !is_ours(pair) {
                    assert!(
                        kept.contains(pair),
                        "pair {pair:?} lost: {out:?} from {header:?}"
                    );
                }
            }
        }
    }
}

/// Target 2. Properties: `verify` never panics on any string; anything that verifies re-signs
/// (with the key that verified it) to exactly the same string; for every id `SessionId::parse`
/// accepts, `verify(sign(id))` round-trips (new key: no re-sign; old key: re-sign) and a changed
/// tag is refused; `parse` accepts exactly 32 characters of `[A-Za-z0-9_-]`.
pub fn check_signed_value(data: &[u8]) {
    let s = signer();
    let text = expand(&String::from_utf8_lossy(data));
    if let Some(v) = s.verify(&text) {
        let again = if v.needs_resign {
            old_signer().sign(&v.id)
        } else {
            s.sign(&v.id)
        };
        assert_eq!(again, text, "verified value does not re-sign to itself");
    }
    // ids: the first 32 characters as given, and the first 32 bytes mapped into the alphabet
    let first: String = text.chars().take(32).collect();
    let shaped = first.len() == 32
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    assert_eq!(
        SessionId::parse(&first).is_some(),
        shaped,
        "parse({first:?})"
    );
    let mapped: String = data
        .iter()
        .take(32)
        .map(|&b| BASE64URL[usize::from(b) % 64] as char)
        .collect();
    for candidate in [first, mapped] {
        let Some(id) = SessionId::parse(&candidate) else {
            continue;
        };
        assert_eq!(id.as_str(), candidate);
        let fresh = s.sign(&id);
        assert_eq!(
            s.verify(&fresh),
            Some(Verified {
                id: id.clone(),
                needs_resign: false
            })
        );
        let old = old_signer().sign(&id);
        assert_eq!(
            s.verify(&old),
            Some(Verified {
                id: id.clone(),
                needs_resign: true
            })
        );
        // flip one tag character chosen by the input
        let pos = 33 + usize::from(data.get(32).copied().unwrap_or(0)) % 43;
        let mut bytes = fresh.clone().into_bytes();
        bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(s.verify(&tampered), None, "tampered {tampered:?} verified");
    }
}

/// Nesting deeper than this is skipped (serde_json already refuses more than 128 levels).
const MAX_INPUT_DEPTH: usize = 128;

/// Target 3. Input: JSON. An array is `[original, patch, patch, ...]`, anything else one patch
/// on `{}`. Properties: `merge_patch` never panics and is idempotent (RFC 7386); a session
/// loaded with the original data and given the patches through `Session::apply_patch` holds
/// the RFC 7386 result; a refused patch changes nothing; `apply_edits` of the session's edits
/// on the original data gives exactly the session's data, and so does the store rule
/// (`record::apply_op`) applied to the commit plan's update.
pub fn check_merge_patch(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if depth(&input) > MAX_INPUT_DEPTH {
        return;
    }
    let (original, patches): (Value, Vec<Value>) = match input {
        Value::Array(mut a) if !a.is_empty() => {
            let first = a.remove(0);
            (first, a)
        }
        other => (Value::Object(Map::new()), vec![other]),
    };
    // plain merge_patch on arbitrary values: no panic, idempotent
    let mut target = original.clone();
    for p in &patches {
        merge_patch(&mut target, p);
        let mut twice = target.clone();
        merge_patch(&mut twice, p);
        assert_eq!(twice, target, "merge patch {p} is not idempotent");
    }

    let Value::Object(orig) = original else {
        return;
    };
    if check_data_depth(&orig).is_err() {
        return;
    }
    let cfg = Config::default();
    let presented = Verified {
        id: id(ID_A),
        needs_resign: false,
    };
    let record = Record::new(&cfg, orig.clone(), 0);
    let mut session =
        Session::open(Some(presented), Some(record.clone()), 1).expect("session opens");
    let mut expected = Value::Object(orig.clone());
    for p in &patches {
        let (data_before, edits_before) = (session.data().clone(), session.edits().clone());
        match session.apply_patch(p) {
            Ok(()) => {
                assert!(p.is_object());
                merge_patch(&mut expected, p);
            }
            Err(_) => {
                let refusable = match p {
                    Value::Object(m) => m.values().any(|v| check_value_depth(v).is_err()),
                    _ => true,
                };
                assert!(refusable, "patch {p} refused");
                assert_eq!(session.data(), &data_before, "refused patch changed data");
                assert_eq!(
                    session.edits(),
                    &edits_before,
                    "refused patch changed edits"
                );
            }
        }
        assert_eq!(Value::Object(session.data().clone()), expected, "after {p}");
    }
    let mut replayed = orig.clone();
    apply_edits(&mut replayed, session.edits());
    assert_eq!(&replayed, session.data(), "edits are not exact");
    if !session.is_modified() {
        assert_eq!(
            session.data(),
            &orig,
            "unmodified session with changed data"
        );
    }
    // what the store would do with this request's commit
    if let Ok(plan) = session.plan(&cfg, signer(), 2) {
        for (_, change) in &plan.ops {
            if let Change::Update { .. } = change {
                if let Ok(Applied::Stored(next)) = apply_op(&cfg, Some(&record), change, 2) {
                    assert_eq!(next.data(), session.data(), "stored data differs");
                }
            }
        }
    }
}

/// Target 4. Properties: `Record::decode` never panics; whatever decodes has the current
/// format and an acceptable depth, and `decode(encode(r)) == r` with a stable encoding.
pub fn check_record_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(r) = Record::decode(&text) else {
        return;
    };
    assert_eq!(r.v, FORMAT);
    assert!(check_data_depth(r.data()).is_ok());
    let encoded = r.encode();
    let back = Record::decode(&encoded).expect("an encoded record decodes");
    assert_eq!(back, r, "round trip changed the record; encoded {encoded}");
    assert_eq!(back.encode(), encoded);
    let _ = (r.is_expired(u64::MAX), r.meta());
}

/// `ORIGIN` is not one of [`VAR_NAMES`] but its values are fuzzed the same way.
const ORIGIN: &str = "ORIGIN";

/// Splits fuzzer bytes into `(var name, value)` pairs: a name-index byte, a length byte, then
/// that many bytes (lossy UTF-8). Later pairs for the same name win.
pub fn config_pairs(data: &[u8]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while let [idx, len, tail @ ..] = rest {
        let i = usize::from(*idx) % (VAR_NAMES.len() + 1);
        let name = VAR_NAMES.get(i).copied().unwrap_or(ORIGIN);
        let n = usize::from(*len).min(tail.len());
        out.push((name, String::from_utf8_lossy(&tail[..n]).into_owned()));
        rest = &tail[n..];
    }
    out
}

/// Target 5. Properties: `Config::from_vars`, `parse_duration` and `parse_origin` never panic;
/// every accepted duration (alone or in a config) is at most 400 days; an accepted config
/// validates and renders cookies; an accepted origin is a normalized http(s) URL that parses to
/// itself again.
pub fn check_config(data: &[u8]) {
    let pairs = config_pairs(data);
    let get = |n: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
    };
    if let Ok(c) = Config::from_vars(get) {
        for d in [c.timeout, c.lock_wait, c.lock_lease]
            .into_iter()
            .chain(c.absolute_timeout)
        {
            assert!(d <= MAX_DURATION, "{d:?} accepted in {pairs:?}");
        }
        assert!(c.validate().is_ok());
        assert!((0.0..=1.0).contains(&c.refresh_share));
        assert!(c.max_data_bytes <= edge_sessions::engine::config::MAX_DATA_BYTES);
        let settings = ObjectSettings::of(&c);
        assert_eq!(ObjectSettings::of(&settings.to_config()), settings);
        let path = cookies::cookie_path(&c.cookie, Some("/p"));
        let set = cookies::session_cookie(&c.cookie, "v".into(), c.timeout, path);
        assert!(set.starts_with(&format!("{}=v", c.cookie.name)));
        let _ = cookies::removal_cookie(&c.cookie, path);
        let _ = c.locks_path("/x");
    }
    for (_, v) in &pairs {
        if let Ok(d) = parse_duration("X", v) {
            assert!(d <= MAX_DURATION, "parse_duration({v:?}) = {d:?}");
        }
        if let Ok(o) = parse_origin(Some(v)) {
            let lower = o.to_ascii_lowercase();
            assert!(
                lower.starts_with("http://") || lower.starts_with("https://"),
                "{o}"
            );
            assert!(!o.ends_with('/'), "{o}");
            assert!(o.is_ascii(), "{o}");
            assert!(
                !o.contains(|c: char| c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '?' | '#' | '\\')),
                "{o}"
            );
            // no credentials: no `@` in the authority (one in the path is fine)
            let after_scheme = &o[o.find("://").expect("scheme") + 3..];
            let authority = after_scheme.split('/').next().unwrap_or_default();
            assert!(!authority.is_empty() && !authority.contains('@'), "{o}");
            assert_eq!(
                parse_origin(Some(&o)).ok().as_deref(),
                Some(o.as_str()),
                "{v:?}"
            );
        }
    }
    assert!(parse_origin(None).is_err());
}

struct Snapshot {
    id: SessionId,
    original_id: Option<SessionId>,
    data: Map<String, Value>,
    edits: String,
    modified: bool,
    regenerated: bool,
    destroyed: bool,
}

fn snapshot(s: &Session) -> Snapshot {
    Snapshot {
        id: s.id().clone(),
        original_id: s.original_id().cloned(),
        data: s.data().clone(),
        edits: format!("{:?}", s.edits()),
        modified: s.is_modified(),
        regenerated: s.regenerated(),
        destroyed: s.is_destroyed(),
    }
}

/// Target 6. Input: a flags byte, then update and action bytes separated by the first 0x00.
/// Flags: 1 = update present, 2 = action present, 4 = base64url-encode the update bytes (so the
/// fuzzer writes the JSON itself), 8 = start from a stored session with data instead of a
/// fresh one. Properties: `apply_origin` never panics; on error the session is unchanged (id,
/// data, edits, not modified/regenerated/destroyed); on success the data is the RFC 7386
/// result (or empty after destroy) and the action took effect.
pub fn check_origin_answer(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (u, a) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let update = (flags & 1 != 0).then(|| {
        if flags & 4 != 0 {
            URL_SAFE_NO_PAD.encode(u)
        } else {
            String::from_utf8_lossy(u).into_owned()
        }
    });
    let action = (flags & 2 != 0).then(|| String::from_utf8_lossy(a).into_owned());
    let mut session = if flags & 8 != 0 {
        let cfg = Config::default();
        let stored = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "n": 1, "s": "x"});
        let map = stored.as_object().expect("object").clone();
        Session::open(
            Some(Verified {
                id: id(ID_A),
                needs_resign: false,
            }),
            Some(Record::new(&cfg, map, 0)),
            1,
        )
        .expect("session opens")
    } else {
        Session::fresh().expect("random ids")
    };
    let before = snapshot(&session);
    let result = protocol::apply_origin(&mut session, update.as_deref(), action.as_deref());
    let after = snapshot(&session);
    match result {
        Err(_) => {
            assert_eq!(after.id, before.id, "id changed on error");
            assert_eq!(after.original_id, before.original_id);
            assert_eq!(after.data, before.data, "data changed on error");
            assert_eq!(after.edits, before.edits, "edits changed on error");
            assert!(!after.modified && !after.regenerated && !after.destroyed);
        }
        Ok(_) => {
            let act = action.as_deref().map(str::trim).unwrap_or("");
            assert!(
                matches!(act, "" | "regenerate" | "destroy"),
                "action {act:?}"
            );
            let mut expected = Value::Object(before.data.clone());
            if let Some(u) = &update {
                let patch = protocol::decode_update(u).expect("accepted update decodes");
                assert!(patch.is_object());
                merge_patch(&mut expected, &patch);
            }
            match act {
                "destroy" => {
                    assert!(after.destroyed && after.data.is_empty());
                }
                "regenerate" => {
                    assert!(after.regenerated && !after.destroyed);
                    assert_ne!(after.id, before.id);
                    assert_eq!(Value::Object(after.data), expected);
                }
                _ => {
                    assert!(!after.regenerated && !after.destroyed);
                    assert_eq!(after.id, before.id);
                    assert_eq!(Value::Object(after.data), expected);
                }
            }
        }
    }
}
