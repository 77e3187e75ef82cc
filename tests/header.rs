//! Header drift: the committed bindings/c/remote_sessions.h must be what cbindgen makes of rust/ffi
//! now. build.rs rewrites the file in the work tree on every build, so the reference is the copy in
//! git's HEAD (the work tree's copy when the sources are not a git checkout).

use std::path::Path;
use std::process::Command;

#[test]
fn committed_header_matches_the_rust_ffi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen can read rust/ffi")
        .write(&mut generated);
    let committed = Command::new("git")
        .args(["show", "HEAD:bindings/c/remote_sessions.h"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
        .unwrap_or_else(|| std::fs::read(root.join("bindings/c/remote_sessions.h")).expect("the header exists"));
    assert!(
        generated == committed,
        "bindings/c/remote_sessions.h is out of date: run `cargo build` and commit the regenerated header"
    );
}
