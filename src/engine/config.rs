//! One typed configuration with safe defaults, loadable from Worker string vars.
//!
//! Defaults follow SECURITY.md: `__Host-` cookie, HttpOnly, Secure, SameSite=Lax, Path=/,
//! implicit locking. Every bad value is a [`Error::Config`] naming the variable.

use std::time::Duration;

use crate::engine::duration::{parse_duration, MAX_DURATION};
pub use crate::engine::proxy::headers::HeaderNames;
use crate::engine::Error;

/// Browsers cap cookie lifetimes at 400 days (RFC 6265bis); so do we.
pub const MAX_COOKIE_AGE: Duration = MAX_DURATION;

/// Largest `SESSION_MAX_BYTES` accepted. The session data is forwarded to the origin as
/// unpadded base64url JSON in the `X-Session-Data` request header, which is 4/3 of the bytes,
/// and origins limit header sizes:
///
/// | origin / setting                       | limit                     |
/// |----------------------------------------|---------------------------|
/// | nginx `large_client_header_buffers`    | 8 KB per header line      |
/// | Apache `LimitRequestFieldSize`         | 8190 bytes per header line|
/// | Node.js `--max-http-header-size`       | 16 KB for all headers     |
/// | our default ([`DEFAULT_DATA_BYTES`])   | 4096 bytes → 5462 chars   |
/// | our maximum (this)                     | 6000 bytes → 8000 chars   |
///
/// At the maximum, `X-Session-Data: ` plus 8000 characters stays under an 8 KB line; the
/// default leaves room under Node's 16 KB total for cookies and the other headers.
pub const MAX_DATA_BYTES: usize = 6000;

/// Default `SESSION_MAX_BYTES`; see [`MAX_DATA_BYTES`] for why it is small.
pub const DEFAULT_DATA_BYTES: usize = 4096;

/// The SameSite cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations and same-site requests (the default).
    Lax,
    /// Same-site requests only.
    Strict,
    /// Sent cross-site; requires Secure.
    None,
}

/// CherryPy's locking modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockingMode {
    /// Lock when the session is loaded and hold it until the request ends.
    Implicit,
    /// Lock before the request body is read (in the proxy this is the same as implicit).
    Early,
    /// The caller acquires and releases (library API only).
    Explicit,
    /// No lock; changes are still merged in order at the session's serialization point.
    None,
}

/// When a locked request's plain update is written (`SESSION_COMMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Every change is confirmed by the session's object before the response leaves.
    #[default]
    BeforeResponse,
    /// A plain update of an existing session held under the lock is written after the
    /// response (still fenced, and the lock is held until it lands, so the next request reads
    /// it). Creates, regenerates, destroys and size refusals still happen before the
    /// response; a late failure can only be logged.
    AfterResponse,
}

/// Cookie options: every CherryPy option plus httponly, samesite and partitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// Cookie name. `__Host-` and `__Secure-` prefixes are validated against the attributes.
    pub name: String,
    /// Cookie Path.
    pub path: String,
    /// If set, the request header whose value is used as the cookie path (CherryPy's
    /// `path_header`), falling back to `path` when absent or not starting with `/`.
    pub path_header: Option<String>,
    /// Cookie Domain; `None` makes a host-only cookie.
    pub domain: Option<String>,
    /// Secure attribute.
    pub secure: bool,
    /// HttpOnly attribute.
    pub http_only: bool,
    /// SameSite attribute.
    pub same_site: SameSite,
    /// Partitioned attribute (CHIPS); requires Secure.
    pub partitioned: bool,
    /// `true`: Max-Age follows the session lifetime. `false`: a browser-session cookie.
    pub persistent: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "__Host-session".into(),
            path: "/".into(),
            path_header: None,
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            partitioned: false,
            persistent: true,
        }
    }
}

/// Every var name [`Config::from_vars`] reads, plus `SESSION_SECRET`; the JavaScript
/// options object accepts exactly these keys.
pub const VAR_NAMES: &[&str] = &[
    "SESSION_SECRET",
    "SESSION_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "SESSION_REFRESH_SHARE",
    "SESSION_LOCKING",
    "SESSION_COMMIT",
    "SESSION_LOCK_TIMEOUT",
    "SESSION_LOCK_LEASE",
    "SESSION_UNLOCKED_PATHS",
    "SESSION_MAX_BYTES",
    "SESSION_HEADER_PREFIX",
    "SESSION_SWEEP_BUDGET",
    "SESSION_SWEEP_PAGE",
    "SESSION_USER_CAP",
    "SESSION_LOG_LEVEL",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_PATH",
    "SESSION_COOKIE_PATH_HEADER",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_PARTITIONED",
    "SESSION_COOKIE_PERSISTENT",
    "SESSION_COOKIE_SAMESITE",
];

/// The whole session configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Cookie options.
    pub cookie: CookieConfig,
    /// Idle timeout: a session unused this long expires.
    pub timeout: Duration,
    /// Optional absolute lifetime from creation, whatever the activity.
    pub absolute_timeout: Option<Duration>,
    /// Share of `timeout` that must pass before an unchanged session's expiry is refreshed,
    /// so a busy session does not write on every request.
    pub refresh_share: f64,
    /// Locking mode.
    pub locking: LockingMode,
    /// When plain updates under the lock are written.
    pub commit: CommitMode,
    /// How long a request waits for the lock before a 503.
    pub lock_wait: Duration,
    /// How long a lock is held before it expires if its holder died.
    pub lock_lease: Duration,
    /// Path prefixes served without taking the lock (polling endpoints, CherryPy #630).
    pub unlocked_paths: Vec<String>,
    /// Largest session data accepted, in JSON bytes. It travels base64url-encoded in a request
    /// header, so `SESSION_MAX_BYTES` defaults to [`DEFAULT_DATA_BYTES`] (4096) and is at most
    /// [`MAX_DATA_BYTES`] (6000): nginx and Apache refuse header lines over 8 KB, Node all
    /// headers over 16 KB (the table is on [`MAX_DATA_BYTES`]).
    pub max_data_bytes: usize,
    /// Proxy header names.
    pub headers: HeaderNames,
    /// KV key prefix for session records.
    pub key_prefix: String,
    /// Storage operations one sweep run may spend (Workers allow 1000 per invocation).
    pub sweep_budget: usize,
    /// Keys listed per sweep page (KV's maximum is 1000).
    pub sweep_page: usize,
    /// Most live sessions one user may have; binding one more destroys the oldest.
    pub user_cap: usize,
    /// What to log (`SESSION_LOG_LEVEL`).
    pub log_level: crate::engine::log::Level,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cookie: CookieConfig::default(),
            timeout: Duration::from_secs(60 * 60),
            absolute_timeout: None,
            refresh_share: 0.1,
            locking: LockingMode::Implicit,
            commit: CommitMode::BeforeResponse,
            lock_wait: Duration::from_secs(10),
            lock_lease: Duration::from_secs(30),
            unlocked_paths: Vec::new(),
            max_data_bytes: DEFAULT_DATA_BYTES,
            headers: HeaderNames::default(),
            key_prefix: "session:".into(),
            sweep_budget: 900,
            sweep_page: 1000,
            user_cap: 100,
            log_level: crate::engine::log::Level::Info,
        }
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Config(format!(
            "{name} must be true or false, got \"{v}\""
        ))),
    }
}

fn parse_usize(name: &str, v: &str, min: usize, max: usize) -> Result<usize, Error> {
    match v.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::Config(format!(
            "{name} must be a whole number from {min} to {max}, got \"{v}\""
        ))),
    }
}

impl Config {
    /// Reads every `SESSION_*` var through `get`; unset vars keep their defaults. Validates
    /// the result (see [`Config::validate`]).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut c = Config::default();
        let var = |n: &str| get(n).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("SESSION_TIMEOUT") {
            c.timeout = parse_duration("SESSION_TIMEOUT", &v)?;
        }
        if let Some(v) = var("SESSION_ABSOLUTE_TIMEOUT") {
            c.absolute_timeout = match v.trim() {
                "off" | "none" => None,
                _ => Some(parse_duration("SESSION_ABSOLUTE_TIMEOUT", &v)?),
            };
        }
        if let Some(v) = var("SESSION_REFRESH_SHARE") {
            c.refresh_share = match v.trim().parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => x,
                _ => {
                    return Err(Error::Config(format!(
                        "SESSION_REFRESH_SHARE must be a number from 0 to 1, got \"{v}\""
                    )))
                }
            };
        }
        if let Some(v) = var("SESSION_LOCKING") {
            c.locking = match v.trim().to_ascii_lowercase().as_str() {
                "implicit" => LockingMode::Implicit,
                "early" => LockingMode::Early,
                "explicit" => LockingMode::Explicit,
                "none" => LockingMode::None,
                _ => {
                    return Err(Error::Config(format!(
                        "SESSION_LOCKING must be implicit, early, explicit or none, got \"{v}\""
                    )))
                }
            };
        }
        if let Some(v) = var("SESSION_COMMIT") {
            c.commit = match v.trim().to_ascii_lowercase().as_str() {
                "before-response" => CommitMode::BeforeResponse,
                "after-response" => CommitMode::AfterResponse,
                _ => {
                    return Err(Error::Config(format!(
                        "SESSION_COMMIT must be before-response or after-response, got \"{v}\""
                    )))
                }
            };
        }
        if let Some(v) = var("SESSION_LOCK_TIMEOUT") {
            c.lock_wait = parse_duration("SESSION_LOCK_TIMEOUT", &v)?;
        }
        if let Some(v) = var("SESSION_LOCK_LEASE") {
            c.lock_lease = parse_duration("SESSION_LOCK_LEASE", &v)?;
        }
        if let Some(v) = var("SESSION_UNLOCKED_PATHS") {
            c.unlocked_paths = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = var("SESSION_MAX_BYTES") {
            c.max_data_bytes = match v.trim().parse::<usize>() {
                Ok(n) if n > MAX_DATA_BYTES => return Err(Error::Config(format!(
                    "SESSION_MAX_BYTES must be at most {MAX_DATA_BYTES}: the data travels base64url-encoded (4/3 of the bytes) in the X-Session-Data request header, and common origins refuse header lines over 8 KB (nginx, Apache) or all headers over 16 KB (Node), got \"{v}\""
                ))),
                _ => parse_usize("SESSION_MAX_BYTES", &v, 2, MAX_DATA_BYTES)?,
            };
        }
        if let Some(v) = var("SESSION_HEADER_PREFIX") {
            c.headers = HeaderNames::with_prefix(v.trim());
        }
        if let Some(v) = var("SESSION_SWEEP_BUDGET") {
            c.sweep_budget = parse_usize("SESSION_SWEEP_BUDGET", &v, 3, 1000)?;
        }
        if let Some(v) = var("SESSION_USER_CAP") {
            c.user_cap = parse_usize("SESSION_USER_CAP", &v, 1, 1000)?;
        }
        if let Some(v) = var("SESSION_SWEEP_PAGE") {
            c.sweep_page = parse_usize("SESSION_SWEEP_PAGE", &v, 1, 1000)?;
        }
        if let Some(v) = var("SESSION_LOG_LEVEL") {
            c.log_level = crate::engine::log::Level::parse(&v)?;
        }
        let ck = &mut c.cookie;
        if let Some(v) = var("SESSION_COOKIE_NAME") {
            ck.name = v.trim().to_owned();
        }
        if let Some(v) = var("SESSION_COOKIE_PATH") {
            ck.path = v.trim().to_owned();
        }
        ck.path_header = var("SESSION_COOKIE_PATH_HEADER").map(|v| v.trim().to_owned());
        ck.domain = var("SESSION_COOKIE_DOMAIN").map(|v| v.trim().to_owned());
        if let Some(v) = var("SESSION_COOKIE_SECURE") {
            ck.secure = parse_bool("SESSION_COOKIE_SECURE", &v)?;
        }
        if let Some(v) = var("SESSION_COOKIE_HTTPONLY") {
            ck.http_only = parse_bool("SESSION_COOKIE_HTTPONLY", &v)?;
        }
        if let Some(v) = var("SESSION_COOKIE_PARTITIONED") {
            ck.partitioned = parse_bool("SESSION_COOKIE_PARTITIONED", &v)?;
        }
        if let Some(v) = var("SESSION_COOKIE_PERSISTENT") {
            ck.persistent = parse_bool("SESSION_COOKIE_PERSISTENT", &v)?;
        }
        if let Some(v) = var("SESSION_COOKIE_SAMESITE") {
            ck.same_site = match v.trim().to_ascii_lowercase().as_str() {
                "lax" => SameSite::Lax,
                "strict" => SameSite::Strict,
                "none" => SameSite::None,
                _ => {
                    return Err(Error::Config(format!(
                        "SESSION_COOKIE_SAMESITE must be lax, strict or none, got \"{v}\""
                    )))
                }
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// Rejects combinations browsers would drop or that would weaken the session.
    pub fn validate(&self) -> Result<(), Error> {
        let err = |m: &str| Err(Error::Config(m.to_owned()));
        let ck = &self.cookie;
        let token_ok = !ck.name.is_empty()
            && ck
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token_ok {
            return err("SESSION_COOKIE_NAME must be a non-empty cookie token (letters, digits, and !#$%&'*+-.^_`|~)");
        }
        let attr_ok = |s: &str| !s.bytes().any(|b| b.is_ascii_control() || b == b';');
        if !ck.path.starts_with('/') || !attr_ok(&ck.path) {
            return err(
                "SESSION_COOKIE_PATH must start with / and contain no ; or control characters",
            );
        }
        if let Some(d) = &ck.domain {
            if d.is_empty() || !attr_ok(d) || d.contains(' ') {
                return err("SESSION_COOKIE_DOMAIN must be a host name");
            }
        }
        let lower = ck.name.to_ascii_lowercase();
        if lower.starts_with("__host-") {
            if !ck.name.starts_with("__Host-") {
                return err("SESSION_COOKIE_NAME: the prefix must be spelled __Host-");
            }
            if !ck.secure || ck.path != "/" || ck.domain.is_some() || ck.path_header.is_some() {
                return err("SESSION_COOKIE_NAME uses the __Host- prefix, which needs SESSION_COOKIE_SECURE=true, SESSION_COOKIE_PATH=/, no SESSION_COOKIE_DOMAIN and no SESSION_COOKIE_PATH_HEADER");
            }
        }
        if lower.starts_with("__secure-") {
            if !ck.name.starts_with("__Secure-") {
                return err("SESSION_COOKIE_NAME: the prefix must be spelled __Secure-");
            }
            if !ck.secure {
                return err("SESSION_COOKIE_NAME uses the __Secure- prefix, which needs SESSION_COOKIE_SECURE=true");
            }
        }
        if ck.same_site == SameSite::None && !ck.secure {
            return err("SESSION_COOKIE_SAMESITE=none needs SESSION_COOKIE_SECURE=true");
        }
        if ck.partitioned && !ck.secure {
            return err("SESSION_COOKIE_PARTITIONED=true needs SESSION_COOKIE_SECURE=true");
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > MAX_COOKIE_AGE {
            return err("SESSION_TIMEOUT must be between 1s and 400d");
        }
        if let Some(a) = self.absolute_timeout {
            if a < Duration::from_secs(1) || a > MAX_COOKIE_AGE {
                return err("SESSION_ABSOLUTE_TIMEOUT must be between 1s and 400d");
            }
        }
        if self.lock_wait > MAX_DURATION {
            return err("SESSION_LOCK_TIMEOUT must be at most 400d");
        }
        if self.lock_lease < Duration::from_millis(100) || self.lock_lease > MAX_DURATION {
            return err("SESSION_LOCK_LEASE must be between 100ms and 400d");
        }
        let h = &self.headers.prefix;
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return err(
                "SESSION_HEADER_PREFIX must be letters, digits and dashes, like X-Session-",
            );
        }
        Ok(())
    }

    /// Whether requests to `path` take the lock under this config.
    pub fn locks_path(&self, path: &str) -> bool {
        matches!(self.locking, LockingMode::Implicit | LockingMode::Early)
            && !self
                .unlocked_paths
                .iter()
                .any(|p| path.starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_are_safe() {
        let c = from(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert!(c.cookie.secure && c.cookie.http_only);
        assert_eq!(c.cookie.same_site, SameSite::Lax);
        assert_eq!(c.cookie.path, "/");
        assert_eq!(c.locking, LockingMode::Implicit);
        assert_eq!(c.timeout, Duration::from_secs(3600));
    }

    #[test]
    fn vars_are_read() {
        let c = from(&[
            ("SESSION_TIMEOUT", "90s"),
            ("SESSION_ABSOLUTE_TIMEOUT", "1d"),
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_COOKIE_PATH", "/app"),
            ("SESSION_COOKIE_DOMAIN", "example.com"),
            ("SESSION_COOKIE_SAMESITE", "Strict"),
            ("SESSION_COOKIE_PERSISTENT", "false"),
            ("SESSION_LOCKING", "none"),
            ("SESSION_UNLOCKED_PATHS", "/poll, /status"),
            ("SESSION_HEADER_PREFIX", "X-App-Session-"),
        ])
        .unwrap();
        assert_eq!(c.timeout, Duration::from_secs(90));
        assert_eq!(c.absolute_timeout, Some(Duration::from_secs(86_400)));
        assert_eq!(c.cookie.name, "sid");
        assert_eq!(c.cookie.same_site, SameSite::Strict);
        assert!(!c.cookie.persistent);
        assert_eq!(c.locking, LockingMode::None);
        assert_eq!(c.unlocked_paths, vec!["/poll", "/status"]);
        assert_eq!(c.headers.update, "x-app-session-update");
    }

    #[test]
    fn bad_values_name_the_var() {
        let cases = [
            (
                ("SESSION_TIMEOUT", "abc"),
                "SESSION_TIMEOUT must be a duration like 60m or 90s, got \"abc\"",
            ),
            (("SESSION_LOCKING", "sometimes"), "SESSION_LOCKING must be"),
            (
                ("SESSION_COOKIE_SECURE", "maybe"),
                "SESSION_COOKIE_SECURE must be true or false",
            ),
            (
                ("SESSION_COOKIE_SAMESITE", "loose"),
                "SESSION_COOKIE_SAMESITE",
            ),
            (("SESSION_REFRESH_SHARE", "2"), "SESSION_REFRESH_SHARE"),
            (("SESSION_TIMEOUT", "401d"), "400d"),
            (("SESSION_COOKIE_NAME", "a b"), "SESSION_COOKIE_NAME"),
            (("SESSION_COOKIE_NAME", "a;b"), "SESSION_COOKIE_NAME"),
            (
                ("SESSION_COOKIE_PATH", "/a;Domain=evil"),
                "SESSION_COOKIE_PATH",
            ),
            (("SESSION_MAX_BYTES", "-1"), "SESSION_MAX_BYTES"),
        ];
        for ((k, v), want) in cases {
            let e = from(&[(k, v)]).unwrap_err().to_string();
            assert!(e.contains(want), "{k}={v}: {e}");
        }
    }

    #[test]
    fn prefixes_are_checked_against_attributes() {
        assert!(from(&[("SESSION_COOKIE_DOMAIN", "example.com")]).is_err());
        assert!(from(&[("SESSION_COOKIE_PATH", "/app")]).is_err());
        assert!(from(&[("SESSION_COOKIE_SECURE", "false")]).is_err());
        assert!(from(&[("SESSION_COOKIE_NAME", "__HOST-id")]).is_err());
        assert!(from(&[
            ("SESSION_COOKIE_NAME", "__Secure-id"),
            ("SESSION_COOKIE_SECURE", "false")
        ])
        .is_err());
        assert!(from(&[
            ("SESSION_COOKIE_NAME", "__Secure-id"),
            ("SESSION_COOKIE_DOMAIN", "example.com")
        ])
        .is_ok());
        assert!(from(&[
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_COOKIE_SECURE", "false")
        ])
        .is_ok());
        assert!(from(&[
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_COOKIE_SECURE", "false"),
            ("SESSION_COOKIE_SAMESITE", "none")
        ])
        .is_err());
        assert!(from(&[
            ("SESSION_COOKIE_NAME", "sid"),
            ("SESSION_COOKIE_SECURE", "false"),
            ("SESSION_COOKIE_PARTITIONED", "true")
        ])
        .is_err());
    }

    #[test]
    fn var_names_lists_every_var_read() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_vars(|n| {
            read.borrow_mut().push(n.to_owned());
            None
        });
        for n in read.borrow().iter() {
            assert!(
                VAR_NAMES.contains(&n.as_str()),
                "{n} missing from VAR_NAMES"
            );
        }
        assert_eq!(read.borrow().len() + 1, VAR_NAMES.len());
    }

    #[test]
    fn every_duration_var_is_bounded_to_400_days() {
        for var in [
            "SESSION_TIMEOUT",
            "SESSION_ABSOLUTE_TIMEOUT",
            "SESSION_LOCK_TIMEOUT",
            "SESSION_LOCK_LEASE",
        ] {
            assert!(from(&[(var, "400d")]).is_ok(), "{var}");
            let e = from(&[(var, "213503982334d")]).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "{var} must be a duration like 60m or 90s, at most 400d, got \"213503982334d\""
                )
            );
        }
        let c = Config {
            lock_wait: MAX_COOKIE_AGE + Duration::from_secs(1),
            ..Config::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("SESSION_LOCK_TIMEOUT"));
        let c = Config {
            lock_lease: Duration::from_secs(u64::MAX),
            ..Config::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("SESSION_LOCK_LEASE"));
        let e = from(&[("SESSION_LOCK_LEASE", "50ms")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("between 100ms and 400d"), "{e}");
    }

    #[test]
    fn max_bytes_fits_origin_header_limits() {
        assert_eq!(Config::default().max_data_bytes, 4096);
        assert_eq!(MAX_DATA_BYTES, 6000);
        // base64url without padding, plus the header name, under an 8 KB header line
        let line = "X-Session-Data: ".len() + (MAX_DATA_BYTES * 4).div_ceil(3);
        assert!(line < 8192, "{line}");
        assert_eq!(
            from(&[("SESSION_MAX_BYTES", "6000")])
                .unwrap()
                .max_data_bytes,
            6000
        );
        let e = from(&[("SESSION_MAX_BYTES", "6001")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SESSION_MAX_BYTES") && e.contains("6000"), "{e}");
        assert!(e.contains("8 KB") && e.contains("\"6001\""), "{e}");
        for bad in ["16384", "1", "x", "-1"] {
            assert!(from(&[("SESSION_MAX_BYTES", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn unlocked_paths_skip_the_lock() {
        let c = from(&[("SESSION_UNLOCKED_PATHS", "/poll")]).unwrap();
        assert!(c.locks_path("/page"));
        assert!(!c.locks_path("/poll/status"));
        let none = from(&[("SESSION_LOCKING", "none")]).unwrap();
        assert!(!none.locks_path("/page"));
    }
}
