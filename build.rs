//! Writes bindings/c/remote_sessions.h from rust/ffi with cbindgen (settings in cbindgen.toml). The
//! header is committed; tests/header.rs fails when the committed copy and the Rust differ.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=rust/ffi");
    println!("cargo:rerun-if-changed=rust/lib.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read rust/ffi")
        .write_to_file(crate_dir.join("bindings/c/remote_sessions.h"));
}
