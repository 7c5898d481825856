//! Sessions for Cloudflare Workers, ported from CherryPy's sessions module and hardened for the
//! edge: signed session ids in cookies, a per-id Durable Object that serializes access with a
//! FIFO lock, leases and fencing tokens, session data mirrored to Workers KV, and a cron sweep.
//!
//! The crate is split in two so the split is visible in the file list:
//! - [`engine`]: platform-free session logic (ids, signing, cookies, config, session state,
//!   merge patch, lock and sweep decisions). It never imports `worker`, builds natively and is
//!   unit-tested with in-memory backends.
//! - `platform` (wasm32 only): thin adapters for KV, the `SessionLock` Durable Object, the
//!   proxy worker and the cron sweep.
#![forbid(unsafe_code)]

pub mod engine;

#[cfg(target_arch = "wasm32")]
pub mod platform;

pub use engine::*;

/// The README's native Rust examples, run as doctests so they cannot go stale. (Its workers-rs
/// example needs wasm32: `tests/readme-rust` compiles it.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
