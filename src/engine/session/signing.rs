//! Signed cookie values: `<id>.<tag>` where the tag is HMAC-SHA256 over the id.
//!
//! A forged or tampered value is rejected here, before any storage lookup. Key rotation: the
//! first secret signs, every listed secret verifies, and a value verified by an older secret is
//! reported so the caller re-signs it on the response.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::engine::{Error, SessionId};

type HmacSha256 = Hmac<Sha256>;

/// Length of the base64url tag (32 bytes unpadded).
const TAG_LEN: usize = 43;
/// Shortest secret accepted: 32 bytes, the HMAC-SHA256 block security level.
pub const MIN_SECRET_LEN: usize = 32;
/// Domain separation, so these tags cannot be confused with other uses of the same secret.
const CONTEXT: &[u8] = b"edge-sessions/v1/id:";

/// A cheap shape check, no MAC: could `value` be a signed cookie value, that is `<id>.<tag>`
/// with an [`ID_LEN`](crate::engine::session::id::ID_LEN)-character id and a 43-character tag (`TAG_LEN`), both of
/// `[A-Za-z0-9_-]`? Cookie selection counts only such values as candidates; [`Signer::verify`]
/// still does the real check.
pub fn plausible(value: &str) -> bool {
    let id_len = crate::engine::session::id::ID_LEN;
    let b = value.as_bytes();
    b.len() == id_len + 1 + TAG_LEN
        && b[id_len] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, &c)| i == id_len || c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// Signs and verifies session cookie values with a rotating list of secrets.
#[derive(Clone)]
pub struct Signer {
    /// Keyed MAC states, first one signs. Cloning a keyed state skips re-hashing the key.
    macs: Vec<HmacSha256>,
}

/// A cookie value that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The id it carries.
    pub id: SessionId,
    /// True when an older (non-first) secret verified it: the cookie should be re-signed.
    pub needs_resign: bool,
}

impl Signer {
    /// Builds a signer from secrets, newest first. Each must be at least 32 bytes.
    pub fn new<S: AsRef<[u8]>>(secrets: &[S]) -> Result<Self, Error> {
        if secrets.is_empty() {
            return Err(Error::Config("SESSION_SECRET is required (a comma-separated list of secrets of at least 32 characters, newest first)".into()));
        }
        let mut macs = Vec::with_capacity(secrets.len());
        for (i, s) in secrets.iter().enumerate() {
            let s = s.as_ref();
            if s.len() < MIN_SECRET_LEN {
                return Err(Error::Config(format!(
                    "SESSION_SECRET entry {} is {} bytes; each secret must be at least {MIN_SECRET_LEN}",
                    i + 1,
                    s.len()
                )));
            }
            let mac =
                HmacSha256::new_from_slice(s).map_err(|_| Error::Config("bad secret".into()))?;
            macs.push(mac);
        }
        Ok(Signer { macs })
    }

    /// Parses the `SESSION_SECRET` form: comma-separated, surrounding spaces trimmed.
    pub fn from_list(list: &str) -> Result<Self, Error> {
        let secrets: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::new(&secrets)
    }

    fn tag(mac: &HmacSha256, id: &str) -> HmacSha256 {
        let mut mac = mac.clone();
        mac.update(CONTEXT);
        mac.update(id.as_bytes());
        mac
    }

    /// The cookie value for `id`, signed with the newest secret.
    pub fn sign(&self, id: &SessionId) -> String {
        let tag = Self::tag(&self.macs[0], id.as_str())
            .finalize()
            .into_bytes();
        let mut out = String::with_capacity(id.as_str().len() + 1 + TAG_LEN);
        out.push_str(id.as_str());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut out);
        out
    }

    /// Verifies a raw cookie value. Wrong shape, trailing garbage, a bad tag or an unknown
    /// secret all give `None`; the comparison is constant-time.
    pub fn verify(&self, value: &str) -> Option<Verified> {
        let (id_text, tag_text) = value.split_once('.')?;
        if tag_text.len() != TAG_LEN {
            return None;
        }
        let id = SessionId::parse(id_text)?;
        let mut tag = [0u8; 33];
        let n = URL_SAFE_NO_PAD.decode_slice(tag_text, &mut tag).ok()?;
        if n != 32 {
            return None;
        }
        self.macs.iter().enumerate().find_map(|(i, mac)| {
            Self::tag(mac, id.as_str())
                .verify_slice(&tag[..32])
                .ok()
                .map(|()| Verified {
                    id: id.clone(),
                    needs_resign: i > 0,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn sign_then_verify_round_trips() {
        let s = Signer::new(&[A]).unwrap();
        let id = SessionId::generate().unwrap();
        let v = s.sign(&id);
        assert_eq!(
            s.verify(&v),
            Some(Verified {
                id,
                needs_resign: false
            })
        );
    }

    #[test]
    fn tampering_is_rejected() {
        let s = Signer::new(&[A]).unwrap();
        let id = SessionId::generate().unwrap();
        let v = s.sign(&id);
        let other = SessionId::generate().unwrap();
        let (_, tag) = v.split_once('.').unwrap();
        let mut flipped = v.clone().into_bytes();
        let last = flipped.len() - 5;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let cases = [
            String::new(),
            id.as_str().to_owned(),
            format!("{}.", id.as_str()),
            format!("{}.{tag}", other.as_str()),
            String::from_utf8(flipped).unwrap(),
            format!("{v}x"),
            format!("{v}="),
            format!("{v}.{tag}"),
            format!(" {v}"),
            v.replace('.', ":"),
        ];
        for c in cases {
            assert!(s.verify(&c).is_none(), "accepted {c:?}");
        }
    }

    #[test]
    fn rotation_first_signs_all_verify_retired_rejected() {
        let old = Signer::new(&[B]).unwrap();
        let rotated = Signer::new(&[A, B]).unwrap();
        let retired = Signer::new(&[A, C]).unwrap();
        let id = SessionId::generate().unwrap();
        let by_old = old.sign(&id);
        let v = rotated.verify(&by_old).unwrap();
        assert!(v.needs_resign);
        assert!(retired.verify(&by_old).is_none());
        let resigned = rotated.sign(&id);
        assert_ne!(resigned, by_old);
        assert!(!rotated.verify(&resigned).unwrap().needs_resign);
    }

    #[test]
    fn secrets_are_validated() {
        assert!(Signer::from_list("").is_err());
        assert!(Signer::from_list(" , ").is_err());
        let e = Signer::from_list("short").err().unwrap();
        assert!(e.to_string().contains("at least 32"));
        assert!(Signer::from_list(&format!("{A}, {B}")).is_ok());
    }
}
