//! The proxy's rules (`engine::proxy`) natively, through the public API only: settings from
//! vars, the request forwarded to the origin (client session headers and the session cookie
//! stripped, the hand-off signed so `engine::handoff` verifies exactly what was sent), the
//! statuses that can be passed on, and the origin's answer taken apart.
use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edge_sessions::engine::proxy::handoff::{Handoff, HandoffSigner, Refusal, MAX_AGE_SECS};
use edge_sessions::engine::proxy::protocol::{encode_data, UserAction};
use edge_sessions::engine::proxy::{
    check_status, client_headers, forward, take_origin, HeaderEdits, HeaderList, Incoming,
    ProxySettings,
};
use edge_sessions::engine::session::signing::Verified;
use edge_sessions::engine::Record;
use edge_sessions::{Config, Error, LockingMode, Session, SessionId};
use serde_json::{json, Value};

const SECRET: &str = "proxy-rules-secret-0123456789abcdef-01";
const ORIGIN_SECRET: &str = "proxy-rules-origin-secret-0123456789ab";
/// Request time, Unix seconds (for the signature).
const NOW_S: u64 = 1_700_000_000;
/// Session time, Unix ms.
const NOW_MS: u64 = NOW_S * 1000;

fn settings_with(extra: &[(&str, &str)]) -> Result<ProxySettings, Error> {
    let mut vars: HashMap<String, String> = [
        ("SESSION_SECRET", SECRET),
        ("ORIGIN", "https://origin.example/base/"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.retain(|_, v| !v.is_empty()); // "" in `extra` unsets a var
    ProxySettings::from_vars(|k| vars.get(k).cloned())
}

fn settings() -> ProxySettings {
    settings_with(&[]).unwrap()
}

fn config_error(r: Result<ProxySettings, Error>) -> String {
    match r {
        Err(Error::Config(m)) => m,
        Err(e) => panic!("not a config error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

/// A session stored before this request, holding `data` and bound to `user`.
fn existing(data: Value, user: Option<&str>) -> Session {
    let cfg = Config::default();
    let mut rec = Record::new(&cfg, data.as_object().unwrap().clone(), NOW_MS - 1_000);
    rec.user = user.map(str::to_owned);
    let v = Verified {
        id: SessionId::generate().unwrap(),
        needs_resign: false,
    };
    let s = Session::open(Some(v), Some(rec), NOW_MS).unwrap();
    assert!(!s.is_new());
    s
}

fn headers(pairs: &[(&str, &str)]) -> HeaderList {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The values of header `name` (any case).
fn values<'a>(h: &'a HeaderList, name: &str) -> Vec<&'a str> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn one<'a>(h: &'a HeaderList, name: &str) -> &'a str {
    match values(h, name)[..] {
        [v] => v,
        ref vs => panic!("{name}: {vs:?}"),
    }
}

fn b64(v: Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

// ---- settings ----

#[test]
fn settings_read_origin_and_its_path() {
    let s = settings();
    assert_eq!(s.origin, "https://origin.example/base");
    assert_eq!(s.origin_path, "/base");
    let s = settings_with(&[("ORIGIN", "http://127.0.0.1:8080")]).unwrap();
    assert_eq!(
        (s.origin.as_str(), s.origin_path.as_str()),
        ("http://127.0.0.1:8080", "")
    );
    for mode in ["implicit", "early", "none"] {
        assert!(
            settings_with(&[("SESSION_LOCKING", mode)]).is_ok(),
            "{mode}"
        );
    }
    assert_eq!(
        settings_with(&[("SESSION_LOCKING", "early")])
            .unwrap()
            .config
            .locking,
        LockingMode::Early
    );
}

#[test]
fn settings_errors_name_their_var() {
    for (extra, var) in [
        (vec![("ORIGIN", "")], "ORIGIN"),
        (vec![("ORIGIN", "ftp://origin.example")], "ORIGIN"),
        (vec![("SESSION_SECRET", "")], "SESSION_SECRET"),
        (vec![("SESSION_SECRET", "short")], "SESSION_SECRET"),
        (vec![("SESSION_LOCKING", "explicit")], "SESSION_LOCKING"),
        (
            vec![("SESSION_ORIGIN_SECRET", "short")],
            "SESSION_ORIGIN_SECRET",
        ),
        (vec![("SESSION_TIMEOUT", "forever")], "SESSION_TIMEOUT"),
    ] {
        let m = config_error(settings_with(&extra));
        assert!(m.contains(var), "{extra:?}: {m}");
    }
}

// ---- forward ----

fn incoming<'a>(method: &'a str, h: &'a HeaderList) -> Incoming<'a> {
    Incoming {
        method,
        path: "/p/q",
        search: "?x=1&y=2",
        hostname: "proxy.example",
        headers: h,
    }
}

/// The hand-off the origin should verify for `session` sent as `method` to `/base/p/q?...`.
fn verifies(
    s: &ProxySettings,
    signature: &str,
    method: &str,
    id: &str,
    data: &str,
    new: &str,
) -> Result<(), Refusal> {
    let h = Handoff {
        method,
        target: "/base/p/q?x=1&y=2",
        id,
        data,
        new,
    };
    s.handoff.verify(signature, &h, NOW_S, MAX_AGE_SECS)
}

#[test]
fn forward_strips_what_the_client_sent_and_adds_the_session() {
    let s = settings();
    let session = existing(json!({"cart": [1, 2]}), None);
    let client = headers(&[
        ("Host", "proxy.example"),
        ("Content-Length", "12"),
        ("X_Session_Data", "forged"),
        ("x.session.id", "forged"),
        ("X-SESSION-NEW", "1"),
        ("x-session-signature", "t=1,v1=00"),
        ("X-Session-User", "mallory"),
        ("Cookie", "a=1; __Host-session=abc.def"),
        ("Accept", "text/html"),
        ("cookie", "b=2"),
    ]);
    let out = forward(&s, &incoming("POST", &client), &session, NOW_S);
    assert_eq!(out.url, "https://origin.example/base/p/q?x=1&y=2");

    let data = encode_data(session.data());
    let h = &out.edits.applied_to(&client);
    assert_eq!(one(h, "accept"), "text/html");
    // the two Cookie headers joined, the session cookie taken out
    assert_eq!(one(h, "cookie"), "a=1; b=2");
    assert_eq!(one(h, "x-forwarded-host"), "proxy.example");
    assert_eq!(one(h, "x-session-id"), session.id().as_str());
    assert_eq!(one(h, "x-session-data"), data);
    assert!(values(h, "x-session-new").is_empty(), "not a new session");
    assert!(values(h, "host").is_empty() && values(h, "content-length").is_empty());
    // nothing the client sent under the session prefix survives, under any spelling
    let ours = ["x-session-id", "x-session-data", "x-session-signature"];
    for (k, v) in h {
        let norm = k.to_ascii_lowercase().replace(['_', '.'], "-");
        if norm.starts_with("x-session-") {
            assert!(ours.contains(&k.as_str()) && v != "forged", "{k}: {v}");
        }
    }
    assert_eq!(h.len(), 6, "{h:?}");

    let sig = one(h, "x-session-signature");
    let id = session.id().as_str();
    assert_eq!(verifies(&s, sig, "POST", id, &data, ""), Ok(()));
    // it covers each part
    let other = SessionId::generate().unwrap();
    for bad in [
        verifies(&s, sig, "GET", id, &data, ""),
        verifies(&s, sig, "POST", other.as_str(), &data, ""),
        verifies(&s, sig, "POST", id, &encode_data(&Default::default()), ""),
        verifies(&s, sig, "POST", id, &data, "1"),
        s.handoff.verify(
            sig,
            &Handoff {
                method: "POST",
                target: "/p/q?x=1&y=2", // without ORIGIN's path
                id,
                data: &data,
                new: "",
            },
            NOW_S,
            MAX_AGE_SECS,
        ),
    ] {
        assert_eq!(bad, Err(Refusal::Forged));
    }
    assert!(sig.starts_with(&format!("t={NOW_S},")), "{sig}");
}

#[test]
fn forward_marks_a_new_session_and_signs_that() {
    let s = settings();
    let session = Session::fresh().unwrap();
    let client = headers(&[("Cookie", "__Host-session=abc.def")]);
    let out = forward(&s, &incoming("GET", &client), &session, NOW_S);
    let h = &out.edits.applied_to(&client);
    assert_eq!(one(h, "x-session-new"), "1");
    // the only cookie was the session's: no Cookie header at all
    assert!(values(h, "cookie").is_empty(), "{h:?}");
    let data = one(h, "x-session-data");
    assert_eq!(data, encode_data(session.data()));
    let sig = one(h, "x-session-signature");
    let id = session.id().as_str();
    assert_eq!(verifies(&s, sig, "GET", id, data, "1"), Ok(()));
    assert_eq!(verifies(&s, sig, "GET", id, data, ""), Err(Refusal::Forged));
}

#[test]
fn forward_signs_with_the_origin_secret_when_set() {
    let s = settings_with(&[("SESSION_ORIGIN_SECRET", ORIGIN_SECRET)]).unwrap();
    let session = Session::fresh().unwrap();
    let none = HeaderList::new();
    let out = forward(&s, &incoming("GET", &none), &session, NOW_S);
    let h = &out.edits.applied_to(&none);
    let handoff = Handoff {
        method: "GET",
        target: "/base/p/q?x=1&y=2",
        id: session.id().as_str(),
        data: one(h, "x-session-data"),
        new: "1",
    };
    let sig = one(h, "x-session-signature");
    // the origin holds only SESSION_ORIGIN_SECRET, not the cookie secret
    let origin = HandoffSigner::from_secrets(Some(ORIGIN_SECRET), "").unwrap();
    assert_eq!(origin.verify(sig, &handoff, NOW_S, MAX_AGE_SECS), Ok(()));
    let derived = HandoffSigner::from_secrets(None, SECRET).unwrap();
    assert_eq!(
        derived.verify(sig, &handoff, NOW_S, MAX_AGE_SECS),
        Err(Refusal::Forged)
    );
}

#[test]
fn forward_uses_the_configured_header_prefix() {
    let s = settings_with(&[("SESSION_HEADER_PREFIX", "X-Edge-")]).unwrap();
    let session = Session::fresh().unwrap();
    let client = headers(&[("x_edge_data", "forged"), ("X-Session-Data", "kept")]);
    let out = forward(&s, &incoming("GET", &client), &session, NOW_S);
    let h = &out.edits.applied_to(&client);
    assert_eq!(one(h, "x-edge-data"), encode_data(session.data()));
    assert_eq!(one(h, "x-edge-id"), session.id().as_str());
    // not ours under this prefix: an ordinary header
    assert_eq!(one(h, "x-session-data"), "kept");
}

// ---- status ----

#[test]
fn only_statuses_a_response_can_carry_pass() {
    assert!(check_status(101, true).is_ok());
    assert!(matches!(check_status(101, false), Err(Error::Origin(_))));
    for ok in [200, 204, 302, 404, 599] {
        assert!(check_status(ok, false).is_ok(), "{ok}");
    }
    for bad in [0, 100, 102, 103, 199, 600, 999] {
        assert!(
            matches!(check_status(bad, true), Err(Error::Origin(_))),
            "{bad}"
        );
    }
}

// ---- the origin's answer ----

#[test]
fn take_origin_applies_session_headers_and_never_passes_them_on() {
    let s = settings();
    let mut session = existing(json!({"a": 0}), None);
    let origin = headers(&[
        ("Content-Type", "text/html"),
        ("X-Session-Update", &b64(json!({"a": 1, "b": "x"}))),
        ("X-Session-Timeout", "30d"),
        ("x-session-user", "alice"),
        ("X-Session-Client", "Firefox on Linux"),
        ("X_Session_Other", "ignored"),
        ("Set-Cookie", "__HOST-SESSION=evil; Path=/; Secure"),
        ("set-cookie", "=__Host-session=evil"),
        ("Set-Cookie", "theme=dark; Path=/"),
        ("Set-Cookie", "__Host-session-old=1"),
    ]);
    let (edits, after) = take_origin(&s, &mut session, origin.clone()).unwrap();
    assert_eq!(after, None);
    assert_eq!(
        edits.applied_to(&origin),
        headers(&[
            ("Content-Type", "text/html"),
            ("Set-Cookie", "theme=dark; Path=/"),
            ("Set-Cookie", "__Host-session-old=1"),
            ("vary", "Cookie"),
        ])
    );
    assert_eq!(
        Value::Object(session.data().clone()),
        json!({"a": 1, "b": "x"})
    );
    assert_eq!(session.timeout_override(), Some(30 * 86_400_000));
    assert_eq!(session.user(), Some("alice"));
    let b = session.binding().unwrap();
    assert_eq!(b.client.as_deref(), Some("Firefox on Linux"));
    assert!(!session.is_destroyed() && !session.regenerated());
}

#[test]
fn take_origin_strips_but_never_applies_session_headers_under_other_spellings() {
    // Only the exact names are the origin's own instructions. A name that merely normalizes to
    // one (`X_Session_Update`) may be a client's header that the origin reflected back: it is
    // stripped, never applied (tests/e2e/proxy.test.mjs pins the same end to end).
    let s = settings();
    let mut session = existing(json!({"a": 0}), None);
    let origin = headers(&[
        ("X_Session_Update", &b64(json!({"a": 2}))),
        ("x.session.timeout", "7d"),
        ("X.Session_Action", "destroy"),
    ]);
    let (edits, after) = take_origin(&s, &mut session, origin.clone()).unwrap();
    assert_eq!(edits.applied_to(&origin), headers(&[("vary", "Cookie")]));
    assert_eq!(after, None);
    assert_eq!(Value::Object(session.data().clone()), json!({"a": 0}));
    assert_eq!(session.timeout_override(), None);
    assert!(!session.is_destroyed() && !session.is_modified());
}

#[test]
fn take_origin_always_adds_vary_cookie() {
    let s = settings();
    let mut session = existing(json!({}), None);
    let (edits, after) = take_origin(&s, &mut session, HeaderList::new()).unwrap();
    assert_eq!(edits.applied_to(&[]), headers(&[("vary", "Cookie")]));
    assert_eq!(after, None);
    assert!(!session.is_modified());
}

#[test]
fn a_set_cookie_makes_the_response_private_and_uncached() {
    let s = settings();
    let mut session = existing(json!({}), None);
    let origin = headers(&[
        ("Cache-Control", "public, max-age=600"),
        ("set-cookie", "theme=dark"),
    ]);
    let (edits, _) = take_origin(&s, &mut session, origin.clone()).unwrap();
    let set = client_headers(edits.clone(), Some("__Host-session=abc; Path=/".into()));
    assert_eq!(
        set.applied_to(&origin),
        headers(&[
            ("set-cookie", "theme=dark"),
            ("vary", "Cookie"),
            ("set-cookie", "__Host-session=abc; Path=/"),
            ("cache-control", "private, no-store"),
        ])
    );
    // no cookie to set: the origin's caching stands
    let unset = client_headers(edits, None);
    assert_eq!(
        unset.applied_to(&origin),
        headers(&[
            ("Cache-Control", "public, max-age=600"),
            ("set-cookie", "theme=dark"),
            ("vary", "Cookie"),
        ])
    );
}

#[test]
fn edits_delete_each_name_once_whatever_its_case_then_append() {
    let s = settings();
    let session = existing(json!({}), None);
    let client = headers(&[
        ("Cookie", "a=1"),
        ("cookie", "b=2"),
        ("HOST", "x"),
        ("X-Session-Id", "forged"),
        ("x-session-id", "forged"),
    ]);
    let out = forward(&s, &incoming("GET", &client), &session, NOW_S);
    assert_eq!(out.edits.remove, ["Cookie", "HOST", "X-Session-Id"]);
    let edits = HeaderEdits {
        remove: vec!["A".into()],
        append: headers(&[("a", "new")]),
    };
    assert_eq!(
        edits.applied_to(&headers(&[("a", "1"), ("b", "2"), ("A", "3")])),
        headers(&[("b", "2"), ("a", "new")])
    );
}

#[test]
fn take_origin_applies_regenerate_and_destroy() {
    let s = settings();
    let mut session = existing(json!({"k": 1}), None);
    let id = session.id().clone();
    take_origin(
        &s,
        &mut session,
        headers(&[("X-Session-Action", "regenerate")]),
    )
    .unwrap();
    assert!(session.regenerated() && session.id() != &id);

    let mut session = existing(json!({"k": 1}), None);
    take_origin(
        &s,
        &mut session,
        headers(&[("x-session-action", "destroy")]),
    )
    .unwrap();
    assert!(session.is_destroyed());
}

#[test]
fn user_actions_are_returned_for_after_the_commit() {
    let s = settings();
    let mut session = existing(json!({}), Some("alice"));
    let (_, after) = take_origin(
        &s,
        &mut session,
        headers(&[("X-Session-Action", "destroy-user-others")]),
    )
    .unwrap();
    assert_eq!(after, Some(UserAction::DestroyOthers));
    assert!(!session.is_destroyed(), "this session stays");

    let mut session = existing(json!({}), Some("alice"));
    let (_, after) = take_origin(
        &s,
        &mut session,
        headers(&[("X-Session-Action", "destroy-user")]),
    )
    .unwrap();
    assert_eq!(after, Some(UserAction::DestroyAll));
    assert!(session.is_destroyed());

    // bound in this very answer: the action applies to that user
    let mut session = existing(json!({}), None);
    let (_, after) = take_origin(
        &s,
        &mut session,
        headers(&[
            ("X-Session-Action", "destroy-user"),
            ("X-Session-User", "bob"),
        ]),
    )
    .unwrap();
    assert_eq!(after, Some(UserAction::DestroyAll));
    assert_eq!(session.user(), Some("bob"));
}

#[test]
fn a_user_action_on_an_unbound_session_changes_nothing() {
    let s = settings();
    for action in ["destroy-user", "destroy-user-others"] {
        let mut session = existing(json!({"a": 0}), None);
        let id = session.id().clone();
        let r = take_origin(
            &s,
            &mut session,
            headers(&[
                ("X-Session-Update", &b64(json!({"a": 1}))),
                ("X-Session-Action", action),
                ("X-Session-Timeout", "30d"),
            ]),
        );
        assert!(matches!(r, Err(Error::BadPatch(_))), "{action}");
        assert!(
            !session.is_modified() && !session.is_destroyed(),
            "{action}"
        );
        assert_eq!(session.id(), &id);
        assert_eq!(session.timeout_override(), None);
        assert_eq!(Value::Object(session.data().clone()), json!({"a": 0}));
    }
}

#[test]
fn malformed_origin_headers_fail_the_exchange() {
    let s = settings();
    for (k, v) in [
        ("X-Session-Update", "%%%"),
        ("X-Session-Action", "promote"),
        ("X-Session-Timeout", "forever"),
        ("X-Session-User", "not a user"),
    ] {
        let mut session = existing(json!({"a": 0}), None);
        let r = take_origin(&s, &mut session, headers(&[(k, v)]));
        assert!(matches!(r, Err(Error::BadPatch(_))), "{k}: {v}");
        assert_eq!(Value::Object(session.data().clone()), json!({"a": 0}));
    }
}
