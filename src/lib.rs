//! Sessions for Cloudflare Workers, ported from CherryPy's sessions module and hardened for the
//! edge: signed session ids in cookies, a per-id Durable Object that serializes access with a
//! FIFO lock, leases and fencing tokens and holds the record, Workers KV as the durable copy
//! that outlives the object and the sweep's index, and a cron sweep.
//!
//! The split is visible in the file list:
//! - [`engine`]: platform-free session logic, grouped by where it runs (`session`, `worker`,
//!   `object`, `proxy`, `sweep`, and the shared `config`, `duration`, `error`, `log`, `wire`).
//!   It never imports `worker`, builds natively and is unit-tested with in-memory backends.
//! - `js` (wasm32, feature `js`): the narrow wasm-bindgen API that the JavaScript layer in
//!   `js/` (the proxy worker, the JavaScript package and its `SessionLock` class) calls.
//! - `platform` (wasm32, feature `workers-rs`, on by default): the Rust library for workers-rs
//!   handlers and its `SessionLock` class, thin adapters over the same engine.
//!
//! The crate root exports the types a handler names; everything else is under [`engine`].
#![forbid(unsafe_code)]

pub mod engine;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod js;

#[cfg(target_arch = "wasm32")]
mod marks;

#[cfg(all(target_arch = "wasm32", feature = "workers-rs"))]
pub mod platform;

pub use engine::{
    CommitMode, Config, CookieConfig, Error, HeaderNames, Lease, LockingMode, SameSite, Session,
    SessionId, Signer,
};

/// The README's native Rust examples, run as doctests so they cannot go stale. (Its workers-rs
/// example needs wasm32: `tests/readme-rust` compiles it.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The native Rust examples of `docs/rust.md`, run as doctests like the README's.
#[cfg(doctest)]
#[doc = include_str!("../docs/rust.md")]
pub struct DocsRustDoctests;
