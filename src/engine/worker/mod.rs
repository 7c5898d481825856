//! What runs in the worker handling a request: the backend contract and the request
//! lifecycle ([`store`]), the handler-facing scope ([`scope`], [`request`]), the backend that
//! reaches each session's object ([`remote`]) with its retry rules ([`retry`]), and the
//! in-memory backend for tests and single-isolate use ([`memory`]).

pub mod memory;
pub mod remote;
pub mod request;
pub mod retry;
pub mod scope;
pub mod store;
