//! The proxy header protocol's values: what the proxy sends the origin about the session and
//! how it reads the origin's answer. Header names live in [`HeaderNames`](crate::engine::HeaderNames);
//! the platform only moves these strings between headers and the engine.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::engine::{Error, Session};

/// What the origin asks for in its action header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New id, same data (after login).
    Regenerate,
    /// Delete the session server-side and expire the cookie (logout).
    Destroy,
    /// Destroy every session of the session's user, this one included (log out everywhere).
    DestroyUser,
    /// Destroy every other session of the session's user (log out other devices).
    DestroyUserOthers,
}

/// What the proxy does after the commit, on the origin's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Destroy all of the user's sessions.
    DestroyAll,
    /// Destroy all but the current one.
    DestroyOthers,
}

impl Action {
    /// Parses the action header's value; empty means no action. Anything else is refused:
    /// an origin that means something we do not do must not be silently ignored.
    pub fn parse(value: &str) -> Result<Option<Action>, Error> {
        match value.trim() {
            "" => Ok(None),
            "regenerate" => Ok(Some(Action::Regenerate)),
            "destroy" => Ok(Some(Action::Destroy)),
            "destroy-user" => Ok(Some(Action::DestroyUser)),
            "destroy-user-others" => Ok(Some(Action::DestroyUserOthers)),
            _ => Err(Error::BadPatch("unknown session action".into())),
        }
    }
}

/// The session data as the origin receives it: JSON, base64url without padding.
pub fn encode_data(data: &Map<String, Value>) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(data).expect("a JSON map always serializes"))
}

/// [`encode_data`] of a session: its data's JSON text is the stored one while the request has
/// not changed it (no JSON is written then).
pub fn encode_session_data(session: &crate::engine::Session) -> String {
    URL_SAFE_NO_PAD.encode(session.data_json().as_bytes())
}

/// Decodes the origin's update header: a base64url (no padding) JSON merge patch.
pub fn decode_update(value: &str) -> Result<Value, Error> {
    let bytes = URL_SAFE_NO_PAD
        .decode(value.trim())
        .map_err(|_| Error::BadPatch("update header is not base64url without padding".into()))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde_json stops at 128 levels; deeper than our own limit either way, so report it
        // as the same refusal as 65-127 levels (507), not as a malformed update
        if e.to_string().starts_with("recursion limit exceeded") {
            Error::TooDeep {
                depth: 128,
                limit: crate::engine::session::edits::MAX_DEPTH,
            }
        } else {
            Error::BadPatch(format!("update is not JSON: {e}"))
        }
    })
}

/// Applies the origin's answer to the session: the update (if any) first, then the action.
/// Either being malformed fails the whole exchange before anything is written.
pub fn apply_origin(
    session: &mut Session,
    update: Option<&str>,
    action: Option<&str>,
) -> Result<Option<UserAction>, Error> {
    let action = action.map(Action::parse).transpose()?.flatten();
    let for_user = matches!(
        action,
        Some(Action::DestroyUser | Action::DestroyUserOthers)
    );
    if for_user && session.user().is_none() {
        // refused before anything changes
        return Err(Error::BadPatch(
            "a user action on a session bound to no user".into(),
        ));
    }
    if let Some(u) = update {
        session.apply_patch(&decode_update(u)?)?;
    }
    match action {
        None => Ok(None),
        Some(Action::Regenerate) => session.regenerate().map(|()| None),
        Some(Action::Destroy) => {
            session.destroy();
            Ok(None)
        }
        Some(Action::DestroyUser) => {
            session.destroy();
            Ok(Some(UserAction::DestroyAll))
        }
        Some(Action::DestroyUserOthers) => Ok(Some(UserAction::DestroyOthers)),
    }
}

/// Applies the origin's user header (and client description): binds the session to that
/// user. A malformed value fails the exchange like a malformed update.
pub fn apply_user(session: &mut Session, user: &str, client: Option<&str>) -> Result<(), Error> {
    session
        .set_user(user.trim(), client.map(str::trim))
        .map_err(|e| Error::BadPatch(e.to_string()))
}

/// Applies the origin's timeout header ("remember me"): a duration such as `30d` that becomes
/// this session's own idle timeout and makes its cookie persistent. A malformed value fails
/// the exchange like a malformed update.
pub fn apply_timeout(session: &mut Session, value: &str) -> Result<(), Error> {
    let d = crate::engine::duration::parse_duration("the session timeout header", value.trim())
        .map_err(|e| Error::BadPatch(e.to_string()))?;
    session.set_timeout(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn update_and_action_apply_in_order() {
        let mut s = Session::fresh().unwrap();
        apply_origin(
            &mut s,
            Some(&b64(&json!({"a": {"b": 1}}))),
            Some(" regenerate "),
        )
        .unwrap();
        assert!(s.regenerated());
        assert_eq!(Value::Object(s.data().clone()), json!({"a": {"b": 1}}));
        apply_origin(&mut s, None, Some("destroy")).unwrap();
        assert!(s.is_destroyed());
    }

    #[test]
    fn malformed_answers_change_nothing() {
        for (u, a) in [
            (Some("%%%"), None),
            (Some("bm90IGpzb24"), None), // "not json"
            (Some("WzFd"), None),        // [1]: a patch must be an object
            (None, Some("promote-to-admin")),
            (Some("e30"), Some("Regenerate")), // actions are case-sensitive
        ] {
            let mut s = Session::fresh().unwrap();
            assert!(apply_origin(&mut s, u, a).is_err(), "{u:?} {a:?}");
            assert!(!s.is_modified() && !s.regenerated() && !s.is_destroyed());
        }
    }

    #[test]
    fn any_depth_over_the_limit_is_the_same_refusal() {
        for depth in [65, 127, 128, 5_000] {
            let json = "[".repeat(depth) + &"]".repeat(depth);
            let patch = format!("{{\"k\":{json}}}");
            let mut s = Session::fresh().unwrap();
            let err = apply_origin(&mut s, Some(&URL_SAFE_NO_PAD.encode(patch)), None).unwrap_err();
            assert!(matches!(err, Error::TooDeep { .. }), "{depth}: {err}");
            assert!(!s.is_modified());
        }
    }

    #[test]
    fn the_timeout_header_sets_remember_me() {
        let mut s = Session::fresh().unwrap();
        apply_timeout(&mut s, " 30d ").unwrap();
        assert_eq!(s.timeout_override(), Some(30 * 86_400_000));
        for bad in ["", "forever", "0s", "401d", "-5m"] {
            let mut s = Session::fresh().unwrap();
            assert!(
                matches!(apply_timeout(&mut s, bad), Err(Error::BadPatch(_))),
                "{bad}"
            );
            assert_eq!(s.timeout_override(), None);
        }
    }

    #[test]
    fn data_round_trips() {
        let d = json!({"k": "v", "n": [1, 2]});
        let enc = encode_data(d.as_object().unwrap());
        assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
        assert_eq!(decode_update(&enc).unwrap(), d);
    }
}
