//! The committed `include/rgcd.h` must equal a fresh cbindgen generation from `src/ffi`.
//! `RGCD_BLESS=1 cargo test -p rgcd-abi-check` rewrites it.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn header_is_fresh() {
    let root = root();
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    let fresh = String::from_utf8(out).expect("utf-8");
    let path = root.join("include/rgcd.h");
    if std::env::var_os("RGCD_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/rgcd.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("include/rgcd.h");
    assert!(
        committed == fresh,
        "include/rgcd.h is stale: regenerate it with `RGCD_BLESS=1 cargo test -p rgcd-abi-check --test header` and commit it"
    );
}
