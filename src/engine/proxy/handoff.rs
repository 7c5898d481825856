//! The signed hand-off: how an origin tells the proxy's requests from forgeries.
//!
//! Nothing else distinguishes the proxy's `X-Session-*` headers from a client's, so an origin
//! reachable directly would believe `curl -H 'X-Session-Data: ...'`. The proxy therefore signs
//! every forwarded request (as oauth2-proxy's `GAP-Signature` does) and the origin verifies:
//!
//! ```text
//! X-Session-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, message)>
//! message = "edge-sessions/v1/handoff\n" + t + "\n" + METHOD + "\n" + path?query + "\n"
//!           + X-Session-Id + "\n" + X-Session-Data + "\n" + X-Session-New ("1" or "")
//! ```
//!
//! `path?query` is the request target the origin receives (with `ORIGIN`'s base path). The key
//! is `SESSION_ORIGIN_SECRET` when set (recommended: the origin then never holds the cookie
//! secret), else HMAC-SHA256(first `SESSION_SECRET`, `"edge-sessions/v1/origin-key"`). The
//! body is not covered; the origin should refuse signatures older than 60 s.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::engine::session::signing::MIN_SECRET_LEN;
use crate::engine::Error;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation for the signed message.
const CONTEXT: &str = "edge-sessions/v1/handoff";
/// Domain separation for the key derived from `SESSION_SECRET`.
/// Lowercase hex digits, for the signature's tag.
const HEX: &[u8; 16] = b"0123456789abcdef";
const KEY_CONTEXT: &[u8] = b"edge-sessions/v1/origin-key";
/// Default oldest signature an origin should accept, in seconds.
pub const MAX_AGE_SECS: u64 = 60;

/// What the signature covers besides the time.
#[derive(Debug, Clone, Copy)]
pub struct Handoff<'a> {
    /// The request method as sent.
    pub method: &'a str,
    /// Path and query the origin receives.
    pub target: &'a str,
    /// `X-Session-Id`'s value.
    pub id: &'a str,
    /// `X-Session-Data`'s value.
    pub data: &'a str,
    /// `X-Session-New`'s value, `""` when absent.
    pub new: &'a str,
}

/// Why a hand-off was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No signature header, or not of the form `t=<digits>,v1=<64 hex>`.
    Malformed,
    /// Older than the allowed age, or too far in the future.
    Stale,
    /// The MAC does not match: forged or altered.
    Forged,
}

/// Signs and checks hand-offs with one key.
#[derive(Clone)]
pub struct HandoffSigner {
    mac: HmacSha256,
}

impl HandoffSigner {
    /// The key from `SESSION_ORIGIN_SECRET` if set (at least 32 bytes), else derived from the
    /// first `SESSION_SECRET` entry.
    pub fn from_secrets(origin_secret: Option<&str>, session_secrets: &str) -> Result<Self, Error> {
        let key: Vec<u8> = match origin_secret.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.len() < MIN_SECRET_LEN => {
                return Err(Error::Config(format!(
                    "SESSION_ORIGIN_SECRET is {} bytes; it must be at least {MIN_SECRET_LEN}",
                    s.len()
                )))
            }
            Some(s) => s.as_bytes().to_vec(),
            None => {
                let first = session_secrets
                    .split(',')
                    .map(str::trim)
                    .find(|s| !s.is_empty())
                    .ok_or_else(|| Error::Config("SESSION_SECRET is required".into()))?;
                let mut m = HmacSha256::new_from_slice(first.as_bytes())
                    .map_err(|_| Error::Config("bad secret".into()))?;
                m.update(KEY_CONTEXT);
                m.finalize().into_bytes().to_vec()
            }
        };
        let mac = HmacSha256::new_from_slice(&key).map_err(|_| Error::Config("bad key".into()))?;
        Ok(HandoffSigner { mac })
    }

    fn mac_of(&self, t: u64, h: &Handoff) -> HmacSha256 {
        // fed piece by piece: the data is the whole session (kilobytes), and writing it into
        // one message string first cost a read ~25 µs of formatting and copying
        let mut m = self.mac.clone();
        let t = t.to_string();
        m.update(CONTEXT.as_bytes());
        for part in [t.as_str(), h.method, h.target, h.id, h.data] {
            m.update(b"\n");
            m.update(part.as_bytes());
        }
        m.update(b"\n");
        m.update(h.new.as_bytes());
        m
    }

    /// The signature header's value for a request sent at `t` (Unix seconds).
    pub fn sign(&self, t: u64, h: &Handoff) -> String {
        let tag = self.mac_of(t, h).finalize().into_bytes();
        let mut out = format!("t={t},v1=");
        for b in tag {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }

    /// Checks a signature header at `now` (Unix seconds): at most `max_age` seconds old and at
    /// most 5 s ahead (clock skew), and a constant-time MAC match.
    pub fn verify(&self, header: &str, h: &Handoff, now: u64, max_age: u64) -> Result<(), Refusal> {
        let (t, tag) = parse(header).ok_or(Refusal::Malformed)?;
        if t.saturating_add(max_age) < now || t > now.saturating_add(5) {
            return Err(Refusal::Stale);
        }
        self.mac_of(t, h)
            .verify_slice(&tag)
            .map_err(|_| Refusal::Forged)
    }
}

/// Splits `t=<digits>,v1=<64 hex>`.
fn parse(header: &str) -> Option<(u64, Vec<u8>)> {
    let (t, v1) = header.trim().split_once(',')?;
    let t = t.trim().strip_prefix("t=")?;
    let v1 = v1.trim().strip_prefix("v1=")?;
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) || v1.len() != 64 {
        return None;
    }
    let tag = (0..32)
        .map(|i| u8::from_str_radix(v1.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((t.parse().ok()?, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN_SECRET: &str = "origin-secret-0123456789abcdef-0123456789";
    const SESSION_SECRET: &str = "test-secret-0123456789abcdef-0123456789";

    fn req() -> Handoff<'static> {
        Handoff {
            method: "POST",
            target: "/login?next=%2F",
            id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            data: "eyJ1c2VyIjoiYW5uIn0",
            new: "",
        }
    }

    /// The test vectors in docs/protocol.md ("Signed hand-off"), computed independently with
    /// Python's hmac module; the JS helper's tests use them too.
    #[test]
    fn test_vectors() {
        let s = HandoffSigner::from_secrets(Some(ORIGIN_SECRET), SESSION_SECRET).unwrap();
        assert_eq!(
            s.sign(1_795_000_000, &req()),
            "t=1795000000,v1=635a369eaccedc197cdd033e76d37459ed26d5bb3d112b6268e50f063be92fd1"
        );
        let derived = HandoffSigner::from_secrets(None, SESSION_SECRET).unwrap();
        assert_eq!(
            derived.sign(1_795_000_000, &req()),
            "t=1795000000,v1=b94579e0b68d548bf452600e9601a8ce4f1bc8d49a0d1b15ffce0f3896402479"
        );
    }

    #[test]
    fn verify_refuses_forged_altered_stale_and_malformed() {
        let s = HandoffSigner::from_secrets(Some(ORIGIN_SECRET), SESSION_SECRET).unwrap();
        let now = 1_795_000_000;
        let sig = s.sign(now, &req());
        assert_eq!(s.verify(&sig, &req(), now + 60, 60), Ok(()));
        assert_eq!(s.verify(&sig, &req(), now + 61, 60), Err(Refusal::Stale));
        assert_eq!(s.verify(&sig, &req(), now - 6, 60), Err(Refusal::Stale));
        for altered in [
            Handoff {
                method: "GET",
                ..req()
            },
            Handoff {
                target: "/login?next=%2Fadmin",
                ..req()
            },
            Handoff {
                id: "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                ..req()
            },
            Handoff {
                data: "eyJ1c2VyIjoiYWRtaW4ifQ",
                ..req()
            },
            Handoff { new: "1", ..req() },
        ] {
            assert_eq!(s.verify(&sig, &altered, now, 60), Err(Refusal::Forged));
        }
        let other = HandoffSigner::from_secrets(None, SESSION_SECRET).unwrap();
        assert_eq!(other.verify(&sig, &req(), now, 60), Err(Refusal::Forged));
        for bad in [
            "",
            "t=1,v1=zz",
            "v1=00,t=1",
            "t=,v1=",
            &sig[..sig.len() - 1],
            "t=99999999999999,v1=00",
        ] {
            assert_eq!(
                s.verify(bad, &req(), now, 60),
                Err(Refusal::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn short_origin_secrets_are_refused() {
        assert!(HandoffSigner::from_secrets(Some("short"), SESSION_SECRET).is_err());
        assert!(HandoffSigner::from_secrets(Some(" "), SESSION_SECRET).is_ok());
        assert!(HandoffSigner::from_secrets(None, "").is_err());
    }
}
