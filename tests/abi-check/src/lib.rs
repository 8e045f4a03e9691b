//! Header and ABI checks for rgcd (see `build.rs` and `tests/`). Run with plain `cargo test`
//! at the repository root.

include!(concat!(env!("OUT_DIR"), "/abi_checks.rs"));
