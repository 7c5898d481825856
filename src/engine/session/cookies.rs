//! Reading the session cookie from Cookie headers and issuing Set-Cookie values. The `cookie`
//! crate is the reference in the tests: our split of a Cookie header and our Set-Cookie text
//! are checked against it, byte for byte, by property tests (see [`set_cookie`] for why it is
//! not linked).
//!
//! A Cookie header is a list of `name=value` pairs separated by `;` (RFC 6265 §4.2.1) and
//! nothing else: a comma is part of a value. `pref=x,__Host-session=v` is the cookie `pref`
//! with the value `x,__Host-session=v`; it is never a session candidate. (Splitting on commas
//! too would let a sibling subdomain "toss" a cookie whose value smuggles in a session pair
//! that is checked ahead of the real one.) The Fetch API joins several Cookie header fields
//! with ", "; then only the first pair of each later field is glued to the previous pair's
//! value and lost. That is accepted: browsers send one Cookie header, and HTTP/2 and HTTP/3
//! rejoin split cookie fields with "; " (RFC 9113 §8.2.3, RFC 9114 §4.2.1).
//!
//! Choosing among duplicates is a documented rule, not an accident of order: every cookie
//! whose name matches exactly (case-sensitive, so `__HOST-id` is a different cookie) and whose
//! value has the shape of a signed value is a candidate, in header order; the first candidate
//! whose signature verifies wins. Browsers send the cookie with the longest matching path
//! first, so that is the most specific one. At most [`MAX_CANDIDATES`] candidates are checked,
//! bounding the work a hostile header buys: junk values cost no slot, but values shaped like
//! signed ones (for instance a sibling subdomain's own cookies, or forgeries) do, so
//! [`MAX_CANDIDATES`] such values ahead of the real cookie hide it.

use std::time::Duration;

use crate::engine::config::{CookieConfig, SameSite, MAX_COOKIE_AGE};
use crate::engine::session::signing::{plausible, Signer, Verified};
use crate::engine::session::CookieAction;

/// Most same-name cookies whose signatures are checked per request.
pub const MAX_CANDIDATES: usize = 8;

/// Values of cookies named exactly `name` that are [`plausible`] signed values, in order, from
/// any number of Cookie headers, each split on `;` only. Malformed pairs (no `=`, empty name,
/// junk) and implausible values are skipped; at most [`MAX_CANDIDATES`] are returned.
pub fn candidates<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for header in headers {
        for (n, v) in pairs(header) {
            if n == name && plausible(v) {
                out.push(v);
                if out.len() == MAX_CANDIDATES {
                    return out;
                }
            }
        }
    }
    out
}

/// The `name=value` pairs of one Cookie header, split on `;` only, each side trimmed, pairs
/// without `=` or with an empty name skipped: what `cookie::Cookie::split_parse` yields for a
/// request header (a test checks the two agree), without linking the Set-Cookie attribute
/// parser behind it, whose `Expires` date parsing alone costs the wasm about 20 KB. A Cookie
/// request header carries no attributes.
fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        let n = n.trim();
        (!n.is_empty()).then(|| (n, v.trim()))
    })
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

/// [`select`] over the Cookie header as the Fetch API hands it over. The whole header is one
/// list of `;`-separated pairs: it is NOT split on commas, so a pair like
/// `pref=x,__Host-session=v` is the cookie `pref` (see the module doc). Several Cookie
/// headers joined by ", " lose the first pair of each later header, which is accepted.
pub fn select_joined(joined: &str, name: &str, signer: &Signer) -> Option<Verified> {
    select([joined], name, signer)
}

/// The one date a Set-Cookie of ours carries: the removal cookie's `Expires`, the epoch.
const EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// A Set-Cookie value: `name=value`, then the attributes in the `cookie` crate's order (a
/// property test checks the text equals the crate's for every configuration). Written here
/// because the crate links the `time` crate to format `Expires`, about 25 KB of wasm, and the
/// only date we ever send is the epoch.
fn set_cookie(
    cfg: &CookieConfig,
    value: &str,
    path: &str,
    max_age: Option<u64>,
    expired: bool,
) -> String {
    let max_age = max_age.map(|n| n.to_string());
    let mut out = String::with_capacity(cfg.name.len() + value.len() + path.len() + 96);
    for part in [cfg.name.as_str(), "=", value] {
        out.push_str(part);
    }
    if cfg.http_only {
        out.push_str("; HttpOnly");
    }
    out.push_str(match cfg.same_site {
        SameSite::Lax => "; SameSite=Lax",
        SameSite::Strict => "; SameSite=Strict",
        SameSite::None => "; SameSite=None",
    });
    if cfg.partitioned {
        out.push_str("; Partitioned");
    }
    if cfg.secure || cfg.partitioned {
        out.push_str("; Secure");
    }
    out.push_str("; Path=");
    out.push_str(path);
    if let Some(d) = &cfg.domain {
        out.push_str("; Domain=");
        out.push_str(d);
    }
    if let Some(n) = &max_age {
        out.push_str("; Max-Age=");
        out.push_str(n);
    }
    if expired {
        out.push_str("; Expires=");
        out.push_str(EPOCH);
    }
    out
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
/// (`SESSION_COOKIE_PERSISTENT`) and is capped at 400 days.
pub fn session_cookie(
    cfg: &CookieConfig,
    signed_value: String,
    max_age: Duration,
    path: &str,
) -> String {
    cookie_with(cfg, signed_value, max_age, cfg.persistent, path)
}

/// [`session_cookie`] with the persistence decided by the caller (a session with its own
/// timeout, "remember me", is persistent whatever `SESSION_COOKIE_PERSISTENT` says).
fn cookie_with(
    cfg: &CookieConfig,
    signed_value: String,
    max_age: Duration,
    persistent: bool,
    path: &str,
) -> String {
    let max_age = persistent.then(|| max_age.min(MAX_COOKIE_AGE).as_secs().max(1));
    set_cookie(cfg, &signed_value, path, max_age, false)
}

/// The Set-Cookie value that removes the session cookie (empty value, Max-Age=0, Expires in
/// 1970) with the same attributes, so the browser matches and drops it.
pub fn removal_cookie(cfg: &CookieConfig, path: &str) -> String {
    set_cookie(cfg, "", path, Some(0), true)
}

/// The Set-Cookie value a commit's [`CookieAction`] calls for, if any.
pub fn for_action(cfg: &CookieConfig, action: CookieAction, path: &str) -> Option<String> {
    match action {
        CookieAction::Keep => None,
        CookieAction::Set {
            value,
            max_age,
            persistent,
        } => Some(cookie_with(cfg, value, max_age, persistent, path)),
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
/// sees (or can log) the session cookie. Pairs are split on `;` only, like [`select_joined`],
/// and other pairs are passed on byte for byte, commas in their values included. On top of
/// that, and only ever removing: a pair named `name` that follows a comma inside another
/// pair's value (`pref=x,__Host-session=v`, or several Cookie headers joined by ", ") is cut
/// out too, since it may be a real session value glued on by the join; and a session pair
/// goes whole, including anything glued to its value. Returns `None` when nothing is left.
pub fn strip_cookie(header: &str, name: &str) -> Option<String> {
    let is_ours = |pair: &str| pair.split('=').next().map(str::trim) == Some(name);
    let mut kept: Vec<String> = Vec::new();
    for pair in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if is_ours(pair) {
            continue;
        }
        if pair.split(',').any(is_ours) {
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
    use cookie::Cookie;

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
        let shaped = format!("{}.{}", "i".repeat(32), "t".repeat(43));
        let h: String = (0..100).map(|_| format!("n={shaped}; ")).collect();
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
        // a session with its own timeout ("remember me") is persistent whatever the setting
        let action = CookieAction::Set {
            value: "v".into(),
            max_age: Duration::from_secs(60),
            persistent: true,
        };
        assert!(for_action(&cfg, action, "/")
            .unwrap()
            .contains("Max-Age=60"));
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
    fn cookie_header_is_split_on_semicolons_only() {
        let s = signer();
        let (attacker, victim) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        let (va, vv) = (s.sign(&attacker), s.sign(&victim));
        // Cookie tossing: a sibling subdomain sets `pref=x,__Host-session=<attacker>`. Split
        // on `;` only, that is the cookie `pref`, never a session candidate.
        let h = format!("pref=x,__Host-session={va}; __Host-session={vv}");
        assert_eq!(select_joined(&h, "__Host-session", &s).unwrap().id, victim);
        let pairs: Vec<(String, String)> = Cookie::split_parse(h.as_str())
            .flatten()
            .map(|c| (c.name().to_owned(), c.value().to_owned()))
            .collect();
        assert_eq!(pairs[0], ("pref".into(), format!("x,__Host-session={va}")));
        assert_eq!(pairs.len(), 2);
        let h = format!("pref=x, __Host-session={va}");
        assert!(select_joined(&h, "__Host-session", &s).is_none());
        // Two Cookie headers joined by ", ": the later header's first pair is glued to the
        // previous value (documented); its other pairs are still found.
        let h = format!("a=1, __Host-session={vv}");
        assert!(select_joined(&h, "__Host-session", &s).is_none());
        let h = format!("a=1, b=2; __Host-session={vv}");
        assert_eq!(select_joined(&h, "__Host-session", &s).unwrap().id, victim);
    }

    #[test]
    fn implausible_values_do_not_use_up_candidate_slots() {
        let s = signer();
        let id = SessionId::generate().unwrap();
        let v = s.sign(&id);
        let mut h: String = (0..20)
            .map(|i| format!("__Host-session=junk{i}; "))
            .collect();
        h.push_str(&format!("__Host-session={v}"));
        assert_eq!(select_joined(&h, "__Host-session", &s).unwrap().id, id);
        // Validly shaped but wrongly signed values do count: 8 of them exhaust the slots.
        let forged = |_| {
            let other = SessionId::generate().unwrap();
            format!("__Host-session={}.{}; ", other.as_str(), "A".repeat(43))
        };
        let mut h: String = (0..MAX_CANDIDATES).map(forged).collect();
        h.push_str(&format!("__Host-session={v}"));
        assert!(select_joined(&h, "__Host-session", &s).is_none());
        let mut h: String = (0..MAX_CANDIDATES - 1).map(forged).collect();
        h.push_str(&format!("__Host-session={v}"));
        assert_eq!(select_joined(&h, "__Host-session", &s).unwrap().id, id);
    }

    #[test]
    fn shape_check_matches_signed_values() {
        let s = signer();
        let v = s.sign(&SessionId::generate().unwrap());
        assert!(plausible(&v));
        let (id, tag) = v.split_once('.').unwrap();
        for bad in [
            String::new(),
            format!("{id}."),
            format!("{id}.{tag}x"),
            format!("{id}x.{}", &tag[1..]),
            format!("{}.{tag}=", &id[1..]),
            format!("{id}:{tag}"),
            format!("{}+.{tag}", &id[1..]),
            format!("{id}.{}/", &tag[1..]),
            format!("{}é.{tag}", &id[2..]),
        ] {
            assert!(!plausible(&bad), "{bad:?}");
        }
    }

    #[test]
    fn comma_glued_session_pairs_are_stripped_too() {
        let name = "__Host-session";
        assert_eq!(
            strip_cookie("pref=x,__Host-session=v; b=2", name).as_deref(),
            Some("pref=x; b=2")
        );
        assert_eq!(
            strip_cookie("a=1, __Host-session=v; b=2", name).as_deref(),
            Some("a=1; b=2")
        );
        // Our pair with a later header's first pair glued on: the whole pair goes.
        assert_eq!(
            strip_cookie("a=1; __Host-session=v, b=2", name).as_deref(),
            Some("a=1")
        );
        assert_eq!(
            strip_cookie("a=x,y; b=2", name).as_deref(),
            Some("a=x,y; b=2")
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

    proptest::proptest! {
        /// The pairs a Cookie header yields are the ones the `cookie` crate parses from it,
        /// over headers built from the pieces that matter (names, `=`, `;`, `,`, spaces,
        /// quotes, signed-looking values) and arbitrary text.
        #[test]
        fn pairs_agree_with_the_cookie_crate(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("__Host-session".to_owned()),
                    proptest::strategy::Just("=".to_owned()),
                    proptest::strategy::Just(";".to_owned()),
                    proptest::strategy::Just("; ".to_owned()),
                    proptest::strategy::Just(",".to_owned()),
                    proptest::strategy::Just(" ".to_owned()),
                    proptest::strategy::Just("\"".to_owned()),
                    proptest::strategy::Just("\t".to_owned()),
                    "[A-Za-z0-9_.-]{0,12}",
                    "\\PC{0,4}",
                ],
                0..24,
            )
        ) {
            let header = pieces.concat();
            let ours: Vec<(&str, &str)> = pairs(&header).collect();
            let theirs: Vec<(&str, &str)> = Cookie::split_parse(header.as_str())
                .flatten()
                .map(|c| (c.name_raw().unwrap(), c.value_raw().unwrap()))
                .collect();
            proptest::prop_assert_eq!(ours, theirs, "header {:?}", header);
        }

        /// Our Set-Cookie text is the `cookie` crate's, for every attribute combination, a
        /// persistent cookie's Max-Age and the removal cookie's Max-Age=0 and Expires.
        #[test]
        fn set_cookies_agree_with_the_cookie_crate(
            name in "[A-Za-z0-9_-]{1,12}",
            value in "[A-Za-z0-9._-]{0,40}",
            path in "/[a-z/]{0,8}",
            domain in proptest::option::of("[a-z]{1,8}\\.example"),
            secure: bool,
            http_only: bool,
            partitioned: bool,
            site in 0..3u8,
            age in proptest::option::of(0..40_000_000u64),
            removal: bool,
        ) {
            let same_site = [SameSite::Lax, SameSite::Strict, SameSite::None][usize::from(site)];
            let cfg = CookieConfig {
                name: name.clone(),
                domain: domain.clone(),
                secure,
                http_only,
                same_site,
                partitioned,
                ..CookieConfig::default()
            };
            let sent = if removal { String::new() } else { value.clone() };
            let mut b = Cookie::build((name, sent))
                .path(path.clone())
                .secure(secure)
                .http_only(http_only)
                .same_site([cookie::SameSite::Lax, cookie::SameSite::Strict, cookie::SameSite::None][usize::from(site)])
                .partitioned(partitioned);
            if let Some(d) = domain {
                b = b.domain(d);
            }
            let ours = if removal {
                b = b
                    .max_age(time::Duration::ZERO)
                    .expires(cookie::Expiration::DateTime(time::OffsetDateTime::UNIX_EPOCH));
                removal_cookie(&cfg, &path)
            } else {
                if let Some(n) = age {
                    b = b.max_age(time::Duration::seconds(n.min(MAX_COOKIE_AGE.as_secs()).max(1) as i64));
                }
                cookie_with(&cfg, value, Duration::from_secs(age.unwrap_or(0)), age.is_some(), &path)
            };
            proptest::prop_assert_eq!(ours, b.build().to_string());
        }
    }
}
