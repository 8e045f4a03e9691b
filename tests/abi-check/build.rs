//! 1. Compiles `include/rgcd.h` (included twice) as C99 and as C++11 with
//!    `-Wall -Wextra -Wpedantic -Werror`: a header that does not compile fails the build.
//! 2. Reads the header with bindgen and writes `abi_checks.rs`: for every function, a
//!    compile-time assertion that bindgen's signature and the Rust export have the same type,
//!    and for every constant bindgen evaluates, a test that the values agree.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let include = manifest.join("../../include");
    let header = include.join("rgcd.h");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-env-changed=RGCD_BLESS");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("abi_checks.rs");
    if std::env::var_os("RGCD_BLESS").is_some() {
        // Regenerating the header: it may be stale now, so check nothing.
        let stub = "pub fn check_functions() -> usize { 0 }\npub fn constants() -> Vec<(&'static str, i128, i128)> { Vec::new() }\n";
        std::fs::write(dest, stub).unwrap();
        return;
    }

    cc::Build::new()
        .file(manifest.join("c/header_twice.c"))
        .include(&include)
        .std("c99")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Wpedantic")
        .warnings_into_errors(true)
        .compile("rgcd_header_c99");
    cc::Build::new()
        .cpp(true)
        .file(manifest.join("c/header_cxx.cpp"))
        .include(&include)
        .std("c++11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Wpedantic")
        .warnings_into_errors(true)
        .compile("rgcd_header_cxx");

    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_function("rgcd_.*")
        .allowlist_type("rgcd_.*")
        .allowlist_var("RGCD_.*")
        // Opaque handles, C's intptr_t and timespec: use the Rust side's own types, so the
        // comparison below is about the ABI, not about two spellings of one type.
        .blocklist_type("rgcd_.*_s")
        .blocklist_type("intptr_t")
        .blocklist_type("uintptr_t")
        .blocklist_type("timespec")
        .layout_tests(false)
        .formatter(bindgen::Formatter::None)
        .generate()
        .expect("bindgen reads include/rgcd.h");
    let text = bindings.to_string();

    let mut out = String::new();
    out.push_str("#[allow(non_camel_case_types, non_upper_case_globals, dead_code, improper_ctypes, clippy::all)]\n");
    out.push_str("mod from_header {\n    pub use rgcd::ffi::{rgcd_queue_s, rgcd_group_s, rgcd_semaphore_s, rgcd_source_s, rgcd_data_s, rgcd_io_s};\n    pub use libc::timespec;\n    pub type intptr_t = isize;\n    pub type uintptr_t = usize;\n");
    out.push_str(&text);
    out.push_str("\n}\n\nfn same<T>(_: T, _: T) {}\n\n");

    let mut fns = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("pub fn ") {
        rest = &rest[i + 7..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let open = rest.find('(').expect("(");
        let bytes = rest.as_bytes();
        let (mut depth, mut angle, mut args, mut any) = (0i32, 0i32, 0usize, false);
        let mut j = open;
        loop {
            let c = bytes[j] as char;
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                '<' => angle += 1,
                '>' if j > 0 && bytes[j - 1] != b'-' => angle -= 1,
                ',' if depth == 1 && angle == 0 => args += 1,
                c if depth >= 1 && !c.is_whitespace() => any = true,
                _ => {}
            }
            j += 1;
        }
        // A trailing comma does not start an argument.
        let inner = rest[open + 1..j].trim_end();
        let n = if !any {
            0
        } else if inner.ends_with(',') {
            args
        } else {
            args + 1
        };
        fns.push((name, n));
    }
    assert!(fns.len() > 30, "bindgen found only {} functions", fns.len());

    out.push_str("#[allow(clippy::fn_to_numeric_cast_any, unused_unsafe)]\npub fn check_functions() -> usize {\n");
    for (name, n) in &fns {
        let holes = vec!["_"; *n].join(", ");
        writeln!(
            out,
            "    same(rgcd::ffi::{name} as unsafe extern \"C\" fn({holes}) -> _, from_header::{name} as unsafe extern \"C\" fn({holes}) -> _);"
        )
        .unwrap();
    }
    writeln!(out, "    {}\n}}\n", fns.len()).unwrap();

    out.push_str("pub fn constants() -> Vec<(&'static str, i128, i128)> {\n    vec![\n");
    let mut rest = text.as_str();
    while let Some(i) = rest.find("pub const ") {
        rest = &rest[i + 10..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        writeln!(
            out,
            "        (\"{name}\", rgcd::ffi::{name} as i128, from_header::{name} as i128),"
        )
        .unwrap();
    }
    out.push_str("    ]\n}\n");

    std::fs::write(dest, out).unwrap();
}
