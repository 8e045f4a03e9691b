//! bindgen's reading of include/rgcd.h agrees with the Rust exports: every function has the
//! same type (checked at compile time in build.rs's output) and every constant the same value.

#[test]
fn every_function_matches() {
    assert!(rgcd_abi_check::check_functions() > 30);
}

#[test]
fn every_constant_matches() {
    let consts = rgcd_abi_check::constants();
    assert!(
        consts.len() >= 20,
        "bindgen saw only {} constants",
        consts.len()
    );
    for (name, rust, c) in consts {
        assert_eq!(rust, c, "{name}: Rust says {rust}, the header says {c}");
    }
}
