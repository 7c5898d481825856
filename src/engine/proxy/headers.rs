//! The names of the proxy's session headers, derived from one prefix, and the rule that
//! recognises a client's copy of one under any spelling.

/// Names of the proxy protocol headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderNames {
    /// Lower-case prefix shared by all session headers; client copies are stripped by it.
    pub prefix: String,
    /// Request: the session id.
    pub id: String,
    /// Request: the session data, base64url JSON.
    pub data: String,
    /// Request: `1` when the session is new.
    pub new: String,
    /// Response: a base64url JSON merge patch.
    pub update: String,
    /// Response: `regenerate` or `destroy`.
    pub action: String,
    /// Request: the signed hand-off, `t=<unix>,v1=<hex>` (see [`crate::engine::proxy::handoff`]).
    pub signature: String,
    /// Response: this session's own idle timeout, e.g. `30d` ("remember me").
    pub timeout: String,
    /// Response: binds the session to this user id ("log out everywhere").
    pub user: String,
    /// Response: a short description of the client, with `user`.
    pub client: String,
}

impl HeaderNames {
    /// Derives all names from one prefix such as `X-Session-`.
    pub fn with_prefix(prefix: &str) -> Self {
        let p = prefix.to_ascii_lowercase();
        HeaderNames {
            id: format!("{p}id"),
            data: format!("{p}data"),
            new: format!("{p}new"),
            update: format!("{p}update"),
            action: format!("{p}action"),
            signature: format!("{p}signature"),
            timeout: format!("{p}timeout"),
            user: format!("{p}user"),
            client: format!("{p}client"),
            prefix: p,
        }
    }

    /// True when `name` is one of ours: lower-cased, with `_` and `.` read as `-`, it starts
    /// with the prefix read the same way. So under `X-Session-`, `X_Session_Data`,
    /// `x.session.id` and `X-SESSION-NEW` all are, since some servers and gateways map `_`
    /// and `.` in header names to `-` (or the other way round); a client copy under any of
    /// these spellings must be stripped before forwarding.
    pub fn is_session_header(&self, name: &str) -> bool {
        let mut n = name.chars().map(normalize_char);
        !self.prefix.is_empty()
            && self
                .prefix
                .chars()
                .map(normalize_char)
                .all(|p| n.next() == Some(p))
    }
}

fn normalize_char(c: char) -> char {
    match c {
        '_' | '.' => '-',
        c => c.to_ascii_lowercase(),
    }
}

impl Default for HeaderNames {
    fn default() -> Self {
        Self::with_prefix("x-session-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_header_names_match_by_normalized_prefix() {
        let h = HeaderNames::with_prefix("X-Session-");
        for name in [
            "X-Session-Id",
            "x-session-data",
            "X_Session_Data",
            "x.session.id",
            "X-SESSION-NEW",
            "x-session-anything",
            "X-Session-",
        ] {
            assert!(h.is_session_header(name), "{name}");
        }
        for name in [
            "X-Sessions",
            "X-Session",
            "Cookie",
            "x-sessionid",
            "y-session-id",
            "",
        ] {
            assert!(!h.is_session_header(name), "{name}");
        }
        let h = HeaderNames::with_prefix("X_App.Session-");
        assert!(h.is_session_header("x-app-session-id"));
        assert!(h.is_session_header("X.APP_SESSION.data"));
    }
}
