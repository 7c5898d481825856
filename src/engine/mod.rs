//! The platform-free session engine. Nothing in here touches `worker`: every input (time,
//! headers, stored records) is passed in, so the same code runs natively in tests and in wasm.
//!
//! Grouped by where the code runs:
//! - [`session`]: one session and its cookie: the dict API and commit plan, the stored record,
//!   exact edits and merge patches, ids, signing and cookies;
//! - [`worker`]: the worker handling a request: the backend contract, the request scope, the
//!   backend over the session objects and its retries;
//! - [`object`]: the Durable Object of a session id (the lock, the record, the KV copy) and,
//!   under `user:<uid>`, the user's index;
//! - [`proxy`]: the proxy's rules, its header protocol and the signed hand-off;
//! - [`sweep`]: the cron sweep;
//! - shared by all: [`config`], [`duration`], [`error`], [`log`] and the worker-object
//!   messages ([`wire`]).

pub mod config;
pub mod duration;
pub mod error;
pub mod log;
pub mod object;
pub mod proxy;
pub mod session;
pub mod sweep;
pub mod wire;
pub mod worker;

pub use config::{CommitMode, Config, CookieConfig, HeaderNames, LockingMode, SameSite};
pub use error::Error;
pub use object::lock::{FifoLock, Lease};
pub use session::id::SessionId;
pub use session::record::Record;
pub use session::signing::Signer;
pub use session::{CommitPlan, Lifecycle, Session, StoreOp};
