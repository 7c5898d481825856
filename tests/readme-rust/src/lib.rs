//! The README's workers-rs example, compiled as written (extracted by
//! scripts/check-snippets.mjs before the wasm clippy step of scripts/test.sh).
#![allow(missing_docs)]
include!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../types/.snippets/readme_worker.rs"
));
