#![no_main]
//! See `check_cookie_select` in the fuzz crate's src/lib.rs for the input format and the properties.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| edge_sessions_fuzz::check_cookie_select(data));
