//! The crate's layering, read from its source: every `use crate::…`, `use super::…`, `use self::…` and
//! inline `crate::…` / `super::…` path outside the test modules is an import of one file by another.
//! Fails when a top-level module imports one of a layer above it (or a sibling of its own layer), and
//! when the files of one folder import each other in a circle.
//!
//! Layers, top to bottom (rust/lib.rs says the same): ffi → registry → pssession → protocols (wsman, local, psrp)
//! → cim, transport → auth → xml, wildcard, cancel → error.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layer of each top-level module: a module may import only from modules of a lower layer.
fn layer(top: &str) -> Option<u32> {
    Some(match top {
        "ffi" => 7,
        "registry" => 6,
        "pssession" => 5,
        "wsman" | "local" | "psrp" => 4,
        "cim" | "transport" => 3,
        "auth" => 2,
        "xml" | "wildcard" | "cancel" => 1,
        "error" => 0,
        _ => return None,
    })
}

/// A source file as a module path: `rust/wsman/cim.rs` → ["wsman", "cim"], `rust/wsman/mod.rs` →
/// ["wsman"].
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().map_or(false, |p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of `path` (a module path from the crate root).
fn file_of(root: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let dir: PathBuf = path[..n].iter().collect();
        [root.join(&dir).with_extension("rs"), root.join(&dir).join("mod.rs")].into_iter().find(|f| f.is_file())
    })
}

/// Every path a `use` item names, its braces expanded: `super::{a, b::{c, self}}` → `super::a`,
/// `super::b::c`, `super::b`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            let item = tree.split(" as ").next().unwrap_or(tree).trim();
            let joined = if item == "self" { prefix.trim_end_matches("::").to_string() } else { format!("{prefix}{item}") };
            if !joined.is_empty() {
                out.push(joined);
            }
        }
        Some(open) => {
            let head = format!("{prefix}{}", &tree[..open]);
            let inner = &tree[open + 1..tree.rfind('}').expect("braces balance")];
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&head, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&head, &inner[start..], out);
        }
    }
}

/// The module paths (from the crate root) that `source`, the text of module `module`, imports.
fn imports(source: &str, module: &[String]) -> BTreeSet<Vec<String>> {
    // Test modules may import anything; they come last in each file.
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut paths = Vec::new();
    for item in code.split(';') {
        let item = item.trim();
        let body = item.strip_prefix("pub ").or_else(|| item.strip_prefix("pub(crate) ")).unwrap_or(item);
        if let Some(tree) = body.strip_prefix("use ") {
            expand("", tree, &mut paths);
        }
    }
    // Inline paths such as `crate::cim::CimType::UInt32` or `super::envelope::X`.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (at, _) in code.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let end = code[at..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).map_or(code.len(), |e| at + e);
            paths.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    let mut out = BTreeSet::new();
    for path in paths {
        let mut parts: Vec<&str> = path.split("::").collect();
        let mut base: Vec<String> = match parts.first() {
            Some(&"crate") => Vec::new(),
            Some(&"super") | Some(&"self") => module.to_vec(),
            _ => continue,
        };
        if parts[0] == "crate" {
            parts.remove(0);
        }
        while let Some(&first) = parts.first() {
            match first {
                "super" => {
                    base.pop();
                }
                "self" => {}
                _ => break,
            }
            parts.remove(0);
        }
        base.extend(parts.iter().map(|p| p.to_string()));
        out.insert(base);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().map_or(false, |e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each file of the crate (but lib.rs) and the files it imports.
fn import_graph(root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut graph = BTreeMap::new();
    for file in files.into_iter().filter(|f| f.file_name().unwrap() != "lib.rs") {
        let module = module_of(root, &file);
        let source = fs::read_to_string(&file).unwrap();
        let targets = imports(&source, &module).iter().filter_map(|path| file_of(root, path)).filter(|t| *t != file).collect();
        graph.insert(file, targets);
    }
    graph
}

fn top_of(root: &Path, file: &Path) -> String {
    module_of(root, file).first().cloned().unwrap_or_default()
}

#[test]
fn no_module_imports_from_a_layer_above_it_or_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust");
    let mut wrong = Vec::new();
    for (file, targets) in import_graph(&root) {
        let from = top_of(&root, &file);
        let from_layer = layer(&from).unwrap_or_else(|| panic!("rust/{from} has no layer: add it to tests/layers.rs"));
        for target in targets {
            let to = top_of(&root, &target);
            if to != from && layer(&to).map_or(true, |l| l >= from_layer) {
                wrong.push(format!("{} imports {}", file.display(), target.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust");
    let graph = import_graph(&root);
    // Depth-first search for a back edge; a cycle is reported as its files in order.
    fn visit(node: &PathBuf, graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>, stack: &mut Vec<PathBuf>, done: &mut BTreeSet<PathBuf>) -> Option<Vec<PathBuf>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            return Some(stack[at..].to_vec());
        }
        if !done.insert(node.clone()) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle.iter().map(|f| f.display().to_string()).collect();
            panic!("files import each other in a circle: {}", names.join(" → "));
        }
    }
}

#[test]
fn the_reader_finds_imports_of_every_shape() {
    let module = vec!["wsman".to_string(), "cim".to_string()];
    let found = imports("use super::{endpoint::Endpoint, envelope::{self, X}};\nuse crate::cim::provider::{A, B as C};\nfn f() { crate::error::Error::new(); }\n#[cfg(test)]\nuse crate::ffi::x;", &module);
    let as_text: BTreeSet<String> = found.iter().map(|p| p.join("::")).collect();
    for expected in ["wsman::endpoint::Endpoint", "wsman::envelope", "wsman::envelope::X", "cim::provider::A", "cim::provider::B", "error::Error::new"] {
        assert!(as_text.contains(expected), "{expected} missing from {as_text:?}");
    }
    assert!(!as_text.iter().any(|p| p.starts_with("ffi")), "test modules are not read");
}
