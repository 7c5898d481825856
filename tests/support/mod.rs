//! Test support shared by the native test crates (each includes it with `mod support;` and
//! uses part of it): the in-memory world of real lock objects, the transport that puts the
//! engine's remote backend in front of them, and the contract every backend passes.
#![allow(dead_code)] // each test crate uses a different part

pub mod local;
pub mod world;
