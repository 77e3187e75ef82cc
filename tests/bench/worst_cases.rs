//! Benchmark (not a test; nothing asserts): inputs that once took quadratic time, each timed beside a
//! baseline of the same size that never did, in the same run. The unit tests of these inputs check the
//! results; how long they take is printed here.
//!  1. XML: 65 000 elements each declaring its own default namespace URI vs the same elements all
//!     declaring one URI (rust/xml.rs);
//!  2. WQL LIKE: a pattern of 30 000 `[` without a `]` (each `[` looked for its `]` to the end), read and
//!     matched against a value, vs a pattern of 30 000 letters (rust/cim/wql.rs);
//!  3. WS-Man binding: an item of 100 000 properties and 20 000 selectors read with a class schema of
//!     1024 properties vs parsing the item's XML alone (rust/wsman/binding.rs).
//! Run by tests/bench.sh (`cargo bench --bench worst_cases`).

use std::time::Instant;

use remote_sessions::cim::class::{ClassSchema, PropertySchema};
use remote_sessions::cim::wql::LikePattern;
use remote_sessions::cim::CimType;
use remote_sessions::wsman::binding::{self, Origin, MAX_DECLARED};
use remote_sessions::wsman::{NS_ADDRESSING, NS_WSMAN};
use remote_sessions::xml::Document;

/// Timed rounds per figure; the median is reported.
const ROUNDS: usize = 7;

fn main() {
    println!("worst_cases: once-quadratic inputs vs a baseline of the same size (medians of {ROUNDS} rounds)");

    let many = elements(|i| format!("urn:n{i:05}"));
    let one = elements(|_| "urn:n00000".to_string());
    let t_many = median(|| {
        Document::parse(many.clone(), "bench").expect("65 000 namespace URIs parse");
    });
    let t_one = median(|| {
        Document::parse(one.clone(), "bench").expect("one namespace URI parses");
    });
    report("XML: 65 000 elements, each its own namespace URI", t_many, "the same elements, one URI", t_one);

    let brackets = "[".repeat(30_000);
    let letters = "a".repeat(30_000);
    let t_brackets = median(|| {
        assert!(!LikePattern::new(brackets.clone()).matches("sshd"));
    });
    let t_letters = median(|| {
        assert!(!LikePattern::new(letters.clone()).matches("sshd"));
    });
    report("WQL LIKE: 30 000 '[' without ']', read and matched once", t_brackets, "30 000 letters", t_letters);

    let schema = ClassSchema {
        name: "X".into(),
        properties: (0..MAX_DECLARED).map(|i| PropertySchema::new(format!("b{i}"), CimType::String)).collect(),
        ..ClassSchema::default()
    };
    let mut item = format!("<w:Item xmlns:w=\"{NS_WSMAN}\" xmlns:a=\"{NS_ADDRESSING}\"><p:X xmlns:p=\"urn:x\">");
    (0..100_000).for_each(|i| item.push_str(&format!("<p:a{i}/>")));
    item.push_str("</p:X><a:EndpointReference><a:ReferenceParameters><w:SelectorSet>");
    (0..20_000).for_each(|i| item.push_str(&format!("<w:Selector Name=\"a{i}\">1</w:Selector>")));
    item.push_str("</w:SelectorSet></a:ReferenceParameters></a:EndpointReference></w:Item>");
    let origin = Origin { namespace: "root/test", server_name: "bench", class_hint: None };
    let doc = Document::parse(item.clone(), "bench").expect("the item parses");
    let t_bind = median(|| {
        let read = binding::instance(doc.root(), origin, Some(&schema), &[]).expect("the item is read");
        assert_eq!(read.properties.iter().filter(|p| p.key).count(), 20_000);
    });
    let t_parse = median(|| {
        Document::parse(item.clone(), "bench").expect("the item parses");
    });
    report("WS-Man binding: 100 000 properties and 20 000 selectors with a 1024-property schema", t_bind, "parsing the item's XML", t_parse);
}

/// `<r>` holding 65 000 empty elements, the i-th declaring `uri(i)` as its default namespace.
fn elements(uri: impl Fn(usize) -> String) -> String {
    let mut doc = String::from("<r>");
    for i in 0..65_000 {
        doc.push_str(&format!("<e xmlns=\"{}\"/>", uri(i)));
    }
    doc.push_str("</r>");
    doc
}

/// Median milliseconds of [`ROUNDS`] runs of `f`, after one run to warm up.
fn median(mut f: impl FnMut()) -> f64 {
    f();
    let mut samples: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[ROUNDS / 2]
}

fn report(what: &str, ms: f64, baseline: &str, baseline_ms: f64) {
    println!("{what}: {ms:.2} ms; baseline ({baseline}): {baseline_ms:.2} ms; ratio {:.2}x", ms / baseline_ms);
}
