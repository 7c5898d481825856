//! When a failed call to a session's Durable Object is tried again, following Cloudflare's
//! guidance: retry an error marked `retryable`, never one marked `overloaded` (retrying only
//! adds load), with bounded exponential backoff. Every call is safe to retry because each one
//! carries a call id the object recognises (see [`crate::engine::wire`]).

/// How a call failed, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The runtime marked the error `retryable` (and not `overloaded`).
    Retryable,
    /// The runtime marked the error `overloaded`.
    Overloaded,
    /// Anything else, including an answer from the object (those are final).
    Other,
}

/// Attempts in all, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// The wait before attempt `attempt` (2 for the first retry) after `failure`, or `None` to
/// give up: 50 ms, then 200 ms.
pub fn retry_after(failure: Failure, attempt: u32) -> Option<u64> {
    match failure {
        Failure::Retryable if attempt <= MAX_ATTEMPTS => {
            Some(50 * 4u64.pow(attempt.saturating_sub(2)))
        }
        _ => None,
    }
}

/// The wait before the KV mirror's next try after `failures` consecutive failures (a 429
/// for the per-key rate, or any error): 1 s, doubling, at most 60 s. KV allows one write per
/// second per key, so sooner is never useful.
pub fn mirror_backoff(failures: u32) -> u64 {
    1_000u64
        .saturating_mul(1 << failures.saturating_sub(1).min(6))
        .min(60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_retryable_errors_are_retried_and_boundedly() {
        assert_eq!(retry_after(Failure::Retryable, 2), Some(50));
        assert_eq!(retry_after(Failure::Retryable, 3), Some(200));
        assert_eq!(retry_after(Failure::Retryable, 4), None);
        assert_eq!(retry_after(Failure::Overloaded, 2), None);
        assert_eq!(retry_after(Failure::Other, 2), None);
    }

    #[test]
    fn mirror_backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(mirror_backoff).collect();
        assert_eq!(
            waits,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(mirror_backoff(0), 1_000);
        assert_eq!(mirror_backoff(u32::MAX), 60_000);
    }
}
