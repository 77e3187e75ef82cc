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

/// Every name the header gives C: `#define`s, enum members, typedefs, struct tags and functions.
fn exported_names(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut in_enum = false;
    for line in header.lines().map(str::trim_end) {
        let code = line.split("//").next().unwrap_or("").trim();
        if code.is_empty() || code.starts_with('*') || code.starts_with("/*") {
            continue;
        }
        if let Some(rest) = code.strip_prefix("#define ") {
            names.push(ident(rest));
        } else if let Some(rest) = code.strip_prefix("enum ") {
            names.push(ident(rest));
            in_enum = true;
        } else if in_enum && code.starts_with('}') {
            in_enum = false;
        } else if in_enum && !code.starts_with('#') && !code.starts_with(':') && code != "{" {
            names.push(ident(code));
        } else if let Some(rest) = code.strip_prefix("typedef ") {
            // `typedef struct tag name;`, `typedef uint32_t name;`, `typedef struct {` (named at its end)
            let words: Vec<&str> = rest.trim_end_matches(';').split_whitespace().collect();
            if rest.ends_with(';') {
                names.extend(words.iter().skip(1).map(|w| ident(w.trim_start_matches('*'))));
            }
        } else if let Some(rest) = code.strip_prefix("} ") {
            names.push(ident(rest));
        } else if !line.starts_with(' ') && code.contains('(') {
            // A function declaration: the identifier right before the first '('.
            let before = &code[..code.find('(').unwrap()];
            names.push(before.rsplit(|c: char| c == ' ' || c == '*').next().unwrap_or("").to_string());
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn every_exported_name_has_the_prefix() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/c/remote_sessions.h")).unwrap();
    let names = exported_names(&header);
    assert!(names.len() > 150, "the reader found too few names: {names:?}");
    assert!(names.iter().any(|n| n == "rsess_cim_enumerate") && names.iter().any(|n| n == "RSESS_RESULT_OK"));
    let stray: Vec<&String> = names
        .iter()
        .filter(|n| !(n.starts_with("rsess_") || n.starts_with("RSESS_") || *n == "REMOTE_SESSIONS_H"))
        .collect();
    assert!(stray.is_empty(), "names without the rsess_/RSESS_ prefix in the header: {stray:?}");
}

#[test]
fn the_header_reads_as_c_documentation() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/c/remote_sessions.h")).unwrap();
    for (n, line) in header.lines().enumerate() {
        assert!(!line.contains("[`"), "line {}: Rust link syntax in the header: {line}", n + 1);
        assert!(!line.contains(".md"), "line {}: a reference to a file outside the header: {line}", n + 1);
    }
    for convention in ["rsess_string_free", "accepts NULL", "written only on success", "UTF-8", "Thread safety", "RSESS_VERSION_MAJOR"] {
        assert!(header.contains(convention), "the header does not state: {convention}");
    }
}
