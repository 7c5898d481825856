//! Reading the session cookie from Cookie headers and issuing Set-Cookie values, with the
//! `cookie` crate doing the parsing and formatting.
//!
//! Choosing among duplicates is a documented rule, not an accident of order: every cookie
//! whose name matches exactly (case-sensitive, so `__HOST-id` is a different cookie) is a
//! candidate, in header order; the first candidate whose signature verifies wins. Browsers
//! send the cookie with the longest matching path first, so that is the most specific one.
//! At most [`MAX_CANDIDATES`] candidates are checked, bounding the work a hostile header buys.

use std::time::Duration;

use cookie::{Cookie, Expiration};
use time::OffsetDateTime;

use super::config::{CookieConfig, SameSite, MAX_COOKIE_AGE};
use super::session::CookieAction;
use super::signing::{Signer, Verified};

/// Most same-name cookies whose signatures are checked per request.
pub const MAX_CANDIDATES: usize = 8;

/// Values of cookies named exactly `name`, in order, from any number of Cookie headers.
/// Malformed pairs (no `=`, empty name, junk) are skipped.
pub fn candidates<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for header in headers {
        for c in Cookie::split_parse(header).flatten() {
            if c.name() == name {
                if let Some(v) = c.value_raw() {
                    out.push(v);
                    if out.len() == MAX_CANDIDATES {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// Applies the selection rule: the first candidate that verifies.
pub fn select<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    name: &str,
    signer: &Signer,
) -> Option<Verified> {
    candidates(headers, name)
        .into_iter()
        .find_map(|v| signer.verify(v))
}

/// [`select`] over the Cookie header as the Fetch API hands it over: several Cookie headers
/// arrive joined by ", ", and our signed values never contain a comma.
pub fn select_joined(joined: &str, name: &str, signer: &Signer) -> Option<Verified> {
    select(joined.split(','), name, signer)
}

fn same_site(s: SameSite) -> cookie::SameSite {
    match s {
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::None => cookie::SameSite::None,
    }
}

fn base<'c>(cfg: &'c CookieConfig, value: String, path: &'c str) -> cookie::CookieBuilder<'c> {
    let mut b = Cookie::build((cfg.name.as_str(), value))
        .path(path)
        .secure(cfg.secure)
        .http_only(cfg.http_only)
        .same_site(same_site(cfg.same_site))
        .partitioned(cfg.partitioned);
    if let Some(d) = &cfg.domain {
        b = b.domain(d.as_str());
    }
    b
}

/// Picks the cookie path: `path_header`'s value when configured and sane, else `path`.
pub fn cookie_path<'a>(cfg: &'a CookieConfig, header_value: Option<&'a str>) -> &'a str {
    match header_value {
        Some(p)
            if cfg.path_header.is_some()
                && p.starts_with('/')
                && !p
                    .bytes()
                    .any(|b| b.is_ascii_control() || b == b';' || b == b' ') =>
        {
            p
        }
        _ => &cfg.path,
    }
}

/// A Set-Cookie value carrying `signed_value`. `max_age` applies only to persistent cookies
/// and is capped at 400 days.
pub fn session_cookie(
    cfg: &CookieConfig,
    signed_value: String,
    max_age: Duration,
    path: &str,
) -> String {
    let mut b = base(cfg, signed_value, path);
    if cfg.persistent {
        let secs = max_age.min(MAX_COOKIE_AGE).as_secs().max(1);
        b = b.max_age(time::Duration::seconds(secs as i64));
    }
    b.build().to_string()
}

/// The Set-Cookie value that removes the session cookie (empty value, Max-Age=0, Expires in
/// 1970) with the same attributes, so the browser matches and drops it.
pub fn removal_cookie(cfg: &CookieConfig, path: &str) -> String {
    base(cfg, String::new(), path)
        .max_age(time::Duration::ZERO)
        .expires(Expiration::DateTime(OffsetDateTime::UNIX_EPOCH))
        .build()
        .to_string()
}

/// The Set-Cookie value a commit's [`CookieAction`] calls for, if any.
pub fn for_action(cfg: &CookieConfig, action: CookieAction, path: &str) -> Option<String> {
    match action {
        CookieAction::Keep => None,
        CookieAction::Set { value, max_age } => Some(session_cookie(cfg, value, max_age, path)),
        CookieAction::Remove => Some(removal_cookie(cfg, path)),
    }
}

/// True if a Set-Cookie value (from an origin) could set the cookie `name`; used to drop an
/// origin's attempt to overwrite the session cookie. Case-insensitive on purpose (a case
/// variant would shadow ours in some clients), and a nameless cookie (`=name=value`) counts
/// too, since some browsers send it back as `name=value`.
pub fn sets_cookie_named(set_cookie: &str, name: &str) -> bool {
    let Some((n, rest)) = set_cookie.split_once('=') else {
        return set_cookie.trim().eq_ignore_ascii_case(name);
    };
    let n = n.trim();
    n.eq_ignore_ascii_case(name) || (n.is_empty() && sets_cookie_named(rest, name))
}

/// The Cookie header to forward upstream: every pair except `name`'s, so the origin never
/// sees (or can log) the session cookie. Other pairs are passed on byte for byte, commas in
/// their values included; a session pair that follows a comma (several Cookie headers joined
/// by ", ") is removed too. Returns `None` when nothing is left.
pub fn strip_cookie(header: &str, name: &str) -> Option<String> {
    let is_ours = |pair: &str| pair.split('=').next().map(str::trim) == Some(name);
    let mut kept: Vec<String> = Vec::new();
    for pair in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if is_ours(pair) {
            continue;
        }
        if pair.contains(',') && pair.split(',').any(is_ours) {
            let rest: Vec<&str> = pair.split(',').filter(|p| !is_ours(p)).collect();
            let rest = rest.join(",");
            if !rest.trim().is_empty() {
                kept.push(rest.trim().to_owned());
            }
            continue;
        }
        kept.push(pair.to_owned());
    }
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SessionId;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn signer() -> Signer {
        Signer::new(&[KEY]).unwrap()
    }

    #[test]
    fn missing_and_junk_headers_give_nothing() {
        let s = signer();
        let name = "__Host-session";
        for h in [
            "",
            "__Host-session=",
            "__Host-session",
            ";;; ; ;",
            "   ",
            "=;=;=",
            "__Host-session=%2e%2e%2f",
            "__Host-session=../../etc/passwd",
            "__Host-session=\"quoted\"",
        ] {
            assert!(select([h], name, &s).is_none(), "{h:?}");
        }
        assert!(select(std::iter::empty(), name, &s).is_none());
    }

    #[test]
    fn finds_the_cookie_among_many_and_across_headers() {
        let s = signer();
        let id = SessionId::generate().unwrap();
        let v = s.sign(&id);
        let mut big: String = (0..3000).map(|i| format!("c{i}=v{i}; ")).collect();
        big.push_str(&format!("__Host-session={v}"));
        assert!(big.len() > 16 * 1024);
        assert_eq!(select([big.as_str()], "__Host-session", &s).unwrap().id, id);
        let h2 = format!("__Host-session={v}");
        assert_eq!(
            select(["a=b", h2.as_str()], "__Host-session", &s)
                .unwrap()
                .id,
            id
        );
    }

    #[test]
    fn duplicate_rule_first_verified_wins_and_names_are_case_sensitive() {
        let s = signer();
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        let (va, vb) = (s.sign(&a), s.sign(&b));
        let forged = format!("{}.{}", b.as_str(), "A".repeat(43));
        let h = format!("__Host-session={forged}; __Host-session={va}; __Host-session={vb}");
        assert_eq!(select([h.as_str()], "__Host-session", &s).unwrap().id, a);
        let h = format!("__HOST-session={va}; __host-session={vb}");
        assert!(select([h.as_str()], "__Host-session", &s).is_none());
    }

    #[test]
    fn candidates_are_bounded() {
        let h: String = (0..100).map(|i| format!("n=v{i}; ")).collect();
        assert_eq!(candidates([h.as_str()], "n").len(), MAX_CANDIDATES);
    }

    #[test]
    fn set_cookie_has_safe_defaults() {
        let cfg = CookieConfig::default();
        let c = session_cookie(&cfg, "abc.def".into(), Duration::from_secs(3600), "/");
        assert!(c.starts_with("__Host-session=abc.def"));
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(!c.contains("Domain"));
        let long = session_cookie(&cfg, "v".into(), Duration::from_secs(10_000 * 86_400), "/");
        assert!(long.contains(&format!("Max-Age={}", 400 * 86_400)));
    }

    #[test]
    fn browser_session_cookie_has_no_max_age() {
        let cfg = CookieConfig {
            persistent: false,
            ..Default::default()
        };
        let c = session_cookie(&cfg, "v".into(), Duration::from_secs(60), "/");
        assert!(!c.contains("Max-Age") && !c.contains("Expires"));
    }

    #[test]
    fn all_options_render() {
        let cfg = CookieConfig {
            name: "sid".into(),
            path: "/app".into(),
            path_header: None,
            domain: Some("example.com".into()),
            secure: true,
            http_only: false,
            same_site: SameSite::None,
            partitioned: true,
            persistent: true,
        };
        let c = session_cookie(&cfg, "v".into(), Duration::from_secs(60), "/app");
        for attr in [
            "Path=/app",
            "Domain=example.com",
            "SameSite=None",
            "Partitioned",
            "Secure",
        ] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(!c.contains("HttpOnly"));
    }

    #[test]
    fn removal_cookie_expires_with_same_attributes() {
        let cfg = CookieConfig::default();
        let c = removal_cookie(&cfg, "/");
        assert!(c.starts_with("__Host-session=;"));
        assert!(c.contains("Max-Age=0") && c.contains("1970") && c.contains("Path=/"));
        assert!(c.contains("Secure"));
    }

    #[test]
    fn path_header_is_used_only_when_sane() {
        let cfg = CookieConfig {
            path_header: Some("X-Script-Name".into()),
            ..Default::default()
        };
        assert_eq!(cookie_path(&cfg, Some("/app")), "/app");
        assert_eq!(cookie_path(&cfg, Some("/a;Domain=x")), "/");
        assert_eq!(cookie_path(&cfg, Some("app")), "/");
        assert_eq!(cookie_path(&cfg, None), "/");
        let plain = CookieConfig::default();
        assert_eq!(cookie_path(&plain, Some("/app")), "/");
    }

    #[test]
    fn session_cookie_is_stripped_before_forwarding() {
        assert_eq!(
            strip_cookie("a=1; __Host-session=x.y; b=2", "__Host-session").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_cookie("__Host-session=x", "__Host-session"), None);
        assert_eq!(
            strip_cookie("__Host-session=x; __Host-session=y", "__Host-session"),
            None
        );
    }

    #[test]
    fn origin_set_cookie_name_match() {
        assert!(sets_cookie_named(
            "__Host-session=x; Path=/",
            "__Host-session"
        ));
        assert!(sets_cookie_named("__HOST-SESSION=x", "__Host-session"));
        assert!(!sets_cookie_named("theme=dark", "__Host-session"));
        assert!(sets_cookie_named("=sid=x; Path=/", "sid"));
        assert!(sets_cookie_named(" = SID=x", "sid"));
        assert!(!sets_cookie_named("=theme=dark", "sid"));
    }
}
