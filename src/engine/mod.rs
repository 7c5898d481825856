//! The platform-free session engine. Nothing in here touches `worker`: every input (time,
//! headers, stored records) is passed in, so the same code runs natively in tests and in wasm.

pub mod config;
pub mod cookies;
pub mod duration;
pub mod edits;
pub mod error;
pub mod handoff;
pub mod id;
pub mod lock;
pub mod log;
pub mod memory;
pub mod object;
pub mod patch;
pub mod protocol;
pub mod proxy;
pub mod recent;
pub mod record;
pub mod remote;
pub mod request;
pub mod retry;
pub mod scope;
pub mod session;
pub mod signing;
pub mod store;
pub mod sweep;
pub mod sweeper;
pub mod throttle;
pub mod user;
pub mod wire;

pub use config::{
    CommitMode, Config, CookieConfig, HeaderNames, LockingMode, SameSite, StoreParams,
};
pub use error::Error;
pub use id::SessionId;
pub use lock::{FifoLock, Lease};
pub use record::Record;
pub use session::{CommitPlan, Lifecycle, Session, StoreOp};
pub use signing::Signer;
