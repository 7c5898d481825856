//! Session ids: 192 bits from the platform CSPRNG, rendered as 32 URL-safe characters.
//!
//! A [`SessionId`] can only be made by [`SessionId::generate`] or by the strict
//! [`SessionId::parse`], so any id that reaches a storage key, header, log line or cookie has
//! already been checked for length and alphabet (no path traversal, no header or cookie
//! attribute injection).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::engine::Error;

/// Random bytes per id (192 bits, above OWASP's 128-bit floor).
const ID_BYTES: usize = 24;
/// Length of the text form: 24 bytes in unpadded base64url.
pub const ID_LEN: usize = 32;

/// A validated session id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id from the CSPRNG. Fails only if the random source fails, which must never be
    /// papered over with a weaker id.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
        Ok(SessionId(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts exactly 32 characters of `[A-Za-z0-9_-]`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| SessionId(text.to_owned()))
    }

    /// The id text, for storage keys, headers and cookies.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible tag for log lines: logs must never carry a usable id.
    pub fn log_tag(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Debug shows only the log tag, so a stray `{:?}` cannot leak a live id.
impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", self.log_tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_parse_and_are_distinct() {
        let ids: HashSet<String> = (0..1000)
            .map(|_| SessionId::generate().unwrap().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), ID_LEN);
            assert_eq!(SessionId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn bad_shapes_are_rejected() {
        let good = SessionId::generate().unwrap().as_str().to_owned();
        let bad = [
            String::new(),
            good[..31].to_owned(),
            format!("{good}A"),
            format!("{}=", &good[..31]),
            format!("{}+", &good[..31]),
            format!("{}/", &good[..31]),
            "%2e%2e%2f".repeat(4).chars().take(32).collect(),
            format!("../{}", &good[..29]),
            format!("{}\\", &good[..31]),
            format!("{}.", &good[..31]),
            format!("{}\0", &good[..31]),
            format!("{};", &good[..31]),
            format!("{},", &good[..31]),
            format!("{}\"", &good[..31]),
            format!("{} ", &good[..31]),
            format!("{}\r", &good[..31]),
            format!("{}\n", &good[..31]),
            format!("{}é", &good[..30]),
        ];
        for b in bad {
            assert!(SessionId::parse(&b).is_none(), "accepted {b:?}");
        }
    }

    #[test]
    fn debug_and_log_tag_hide_the_id() {
        let id = SessionId::generate().unwrap();
        let shown = format!("{id:?} {}", id.log_tag());
        assert!(!shown.contains(id.as_str()));
        assert_eq!(id.log_tag().len(), 12);
    }
}
