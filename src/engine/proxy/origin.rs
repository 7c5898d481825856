//! `ORIGIN`, the base URL the proxy forwards to: its validation, and its path (which the
//! signed hand-off covers).

use crate::engine::Error;

/// The path of an `ORIGIN` that [`parse_origin`] accepted (`""` or `/base`): the start of
/// every request target the origin receives, which the signed hand-off covers.
pub fn origin_path(origin: &str) -> &str {
    let after_scheme = origin.split_once("://").map_or("", |(_, rest)| rest);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// Validates `ORIGIN`, the base URL the proxy forwards to, and returns it without a trailing
/// slash, so `format!("{origin}{path}{search}")` is the upstream URL: `http://h/base/` gives
/// `http://h/base`. Accepted: `http://` or `https://` (any case), a host name, IPv4 address or
/// bracketed IPv6 address, an optional numeric port and an optional path. Refused, each with a
/// message naming the var: a missing or empty value, another scheme, a query or fragment
/// (the request's own are appended), credentials (`user@`), spaces, control characters,
/// backslashes, non-ASCII text (write a host in punycode) and `.`/`..` path segments.
/// Deliberately no URL crate: it would weigh on the wasm size for one check at startup.
pub fn parse_origin(value: Option<&str>) -> Result<String, Error> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(Error::Config(
            "ORIGIN is required: the http(s) URL requests are forwarded to".into(),
        ));
    }
    let bad = |why: &str| {
        Err(Error::Config(format!(
            "ORIGIN must be an http(s) URL{why}, got {v:?}"
        )))
    };
    let Some((scheme, rest)) = v.split_once("://") else {
        return bad("");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return bad("");
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad(" without spaces or control characters");
    }
    if !v.is_ascii() {
        return bad(" in ASCII (write an international host name in punycode)");
    }
    if v.contains(['?', '#']) {
        return bad(
            " without a query or fragment (the request's path and query are appended to it)",
        );
    }
    if v.contains('\\') {
        return bad(" without backslashes");
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return bad(" without user:password@");
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, port)) => (
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
                port,
            ),
            None => (false, ""),
        },
        None => {
            let (h, port) = authority
                .find(':')
                .map_or((authority, ""), |i| authority.split_at(i));
            let ok = !h.is_empty()
                && !h.starts_with(['.', '-'])
                && !h.contains("..")
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            (ok, port)
        }
    };
    if !host_ok {
        return bad(" with a host name");
    }
    if !port.is_empty() {
        let digits = port.strip_prefix(':').unwrap_or_default();
        let ok = (1..=5).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && matches!(digits.parse::<u32>(), Ok(1..=65_535));
        if !ok {
            return bad(" with a numeric port from 1 to 65535");
        }
    }
    let dot_segment = |seg: &str| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    };
    if path.split('/').any(dot_segment) {
        return bad(" without . or .. path segments");
    }
    let base = format!("{scheme}://{authority}{path}");
    Ok(base.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_path_is_the_part_after_the_host() {
        assert_eq!(origin_path("http://h:8080"), "");
        assert_eq!(origin_path("https://app.internal/base/v1"), "/base/v1");
    }

    #[test]
    fn origin_is_validated() {
        assert_eq!(
            parse_origin(Some("https://example.com")).unwrap(),
            "https://example.com"
        );
        assert_eq!(
            parse_origin(Some(" http://h/base/ ")).unwrap(),
            "http://h/base"
        );
        assert_eq!(parse_origin(Some("http://h/")).unwrap(), "http://h");
        assert_eq!(
            parse_origin(Some("HTTPS://h:8443")).unwrap(),
            "https://h:8443"
        );
        assert_eq!(
            parse_origin(Some("http://127.0.0.1:8787")).unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            parse_origin(Some("http://[::1]:8080/a/b")).unwrap(),
            "http://[::1]:8080/a/b"
        );
        assert_eq!(
            parse_origin(Some("http://h.example/a%20b/")).unwrap(),
            "http://h.example/a%20b"
        );
        for missing in [None, Some(""), Some("   ")] {
            let e = parse_origin(missing).unwrap_err().to_string();
            assert!(e.starts_with("ORIGIN is required"), "{e}");
        }
        let e = parse_origin(Some("ftp://h")).unwrap_err().to_string();
        assert_eq!(e, r#"ORIGIN must be an http(s) URL, got "ftp://h""#);
        for bad in [
            "example.com",
            "http:/h",
            "javascript:alert(1)",
            "http://h/base?x=1",
            "http://h#f",
            "http://h/?",
            "http://",
            "http:///path",
            "http://:80",
            "http://user:pw@h",
            "http://h@evil.example",
            "http://h x",
            "http://h/a b",
            "http://h/a\tb",
            "http://h\\evil.example",
            "http://h/a\\b",
            "http://h:port",
            "http://h:99999",
            "http://h:",
            "http://[::1",
            "http://[zz]",
            "http://h/../x",
            "http://h/a/./b",
            "http://ex\u{e4}mple.com",
        ] {
            let e = parse_origin(Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("ORIGIN must be an http(s) URL"), "{bad}: {e}");
            assert!(!e.contains("required"), "{bad}: {e}");
        }
        let e = parse_origin(Some("http://h/base?x=1"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("query") && e.contains("http://h/base?x=1"),
            "{e}"
        );
    }
}
