//! Sessions for Cloudflare Workers, ported from CherryPy's sessions module and hardened for the
//! edge: signed session ids in cookies, a per-id Durable Object that serializes access with a
//! FIFO lock, leases and fencing tokens, session data mirrored to Workers KV, and a cron sweep.
//!
//! The crate is split in two so the split is visible in the file list:
//! - [`engine`]: platform-free session logic (ids, signing, cookies, config, session state,
//!   merge patch, lock and sweep decisions). It never imports `worker`, builds natively and is
//!   unit-tested with in-memory backends.
//! - `js` (wasm32, feature `js`): the narrow wasm-bindgen API that the JavaScript layer in
//!   `js/` (the proxy worker, the JavaScript package and its `SessionLock` class) calls.
//! - `platform` (wasm32, feature `workers-rs`, on by default): the Rust library for workers-rs
//!   handlers and its `SessionLock` class, thin adapters over the same engine.
#![forbid(unsafe_code)]

pub mod engine;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod js;

#[cfg(target_arch = "wasm32")]
mod marks;

#[cfg(all(target_arch = "wasm32", feature = "workers-rs"))]
pub mod platform;

pub use engine::*;

/// The README's native Rust examples, run as doctests so they cannot go stale. (Its workers-rs
/// example needs wasm32: `tests/readme-rust` compiles it.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
