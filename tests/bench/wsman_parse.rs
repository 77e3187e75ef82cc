//! Benchmark (not a test; nothing asserts): how fast the sans-IO WS-Management layer reads a 10 000-instance
//! enumeration of XYZ_Number, in MB/s of reply text. Each page is an envelope in the shape of OMI's
//! `omi-cim/curl/enumerate-number-page-response.xml` (its envelope start and header, items as the replay
//! server's synthetic enumeration makes them): an EnumerateResponse first, then PullResponses, the last
//! with EndOfSequence. Timed per page: `Reply::parse`, `reply::page`, `binding::instance` of every item
//! (untyped, as the replay server gives no class schema for XYZ_Number).
//! Run by tests/bench.sh (`cargo bench --bench wsman_parse`).

use std::time::Instant;

use remote_sessions::wsman::binding::{self, Origin};
use remote_sessions::wsman::reply::{self, Reply};

/// Instances in the whole enumeration.
const TOTAL: usize = 10_000;
/// The goal, in MB/s (10^6 bytes per second).
const GOAL_MB_S: f64 = 100.0;
/// Timed rounds per layout; the median is reported.
const ROUNDS: usize = 9;

fn main() {
    let fixture = fixture_path();
    let recorded = std::fs::read_to_string(&fixture).unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture.display()));
    // The recorded envelope up to its body: namespace declarations and OMI's header.
    let head = &recorded[..recorded.find("<SOAP-ENV:Body>").expect("the fixture has a SOAP-ENV:Body")];
    println!("wsman_parse: Reply::parse + reply::page + binding::instance over {TOTAL} XYZ_Number instances (median of {ROUNDS} rounds)");
    // 32000 is the client's MaxElements (one Enumerate page holds all); 100 per page is OMI's recorded page.
    for page_size in [32_000, 1_000, 100] {
        let pages = pages(head, page_size);
        let bytes: usize = pages.iter().map(String::len).sum();
        let mut samples: Vec<f64> = (0..=ROUNDS).map(|_| time_pages(&pages)).collect();
        samples.remove(0); // warm-up
        samples.sort_by(f64::total_cmp);
        let seconds = samples[samples.len() / 2];
        let mb_s = bytes as f64 / 1e6 / seconds;
        println!(
            "parse {TOTAL}-instance stream, {} page(s) of up to {page_size}: {:.2} MB in {:.2} ms = {mb_s:.1} MB/s; goal >= {GOAL_MB_S:.0} MB/s; ratio to goal {:.2}x",
            pages.len(),
            bytes as f64 / 1e6,
            seconds * 1e3,
            mb_s / GOAL_MB_S
        );
    }
}

/// `enumerate-number-page-response.xml` in RSESS_FIXTURES or ../shared/fixtures beside the repository.
fn fixture_path() -> std::path::PathBuf {
    let dir = std::env::var_os("RSESS_FIXTURES")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    dir.join("omi-cim/curl/enumerate-number-page-response.xml")
}

/// The reply texts of the whole enumeration with `page_size` instances per page.
fn pages(head: &str, page_size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut first = 0;
    while first < TOTAL {
        let count = page_size.min(TOTAL - first);
        let pull = first > 0;
        let last = first + count == TOTAL;
        let (op, items, end) = if pull {
            ("wsen:PullResponse", "wsen:Items", if last { "<wsen:EndOfSequence/>" } else { "" })
        } else {
            ("wsen:EnumerateResponse", "wsman:Items", if last { "<wsman:EndOfSequence/>" } else { "" })
        };
        let mut text = String::with_capacity(head.len() + count * 240 + 300);
        text.push_str(&head.replace("/EnumerateResponse<", if pull { "/PullResponse<" } else { "/EnumerateResponse<" }));
        text.push_str(&format!("<SOAP-ENV:Body><{op}><wsen:EnumerationContext>8126464</wsen:EnumerationContext><{items}>"));
        for n in first..first + count {
            text.push_str(&format!(
                "<p:XYZ_Number xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/XYZ_Number\"><p:Description>This is a long long long long string</p:Description><p:Number>{n}</p:Number><p:NumberString>{n}</p:NumberString></p:XYZ_Number>"
            ));
        }
        text.push_str(&format!("</{items}>{end}</{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>"));
        out.push(text);
        first += count;
    }
    out
}

/// Seconds to read every page into instances; checks the count so nothing is optimised away.
fn time_pages(pages: &[String]) -> f64 {
    let origin = Origin { namespace: "root/test", server_name: "127.0.0.1", class_hint: Some("XYZ_Number") };
    // The reader takes the texts over, as it takes the HTTP bodies; copied before the clock starts.
    let texts = pages.to_vec();
    let start = Instant::now();
    let mut instances = 0;
    for text in texts {
        let page = reply::page(Reply::parse(text).expect("a SOAP envelope")).expect("a page");
        for item in page.items() {
            let instance = binding::instance(item, origin, None, &[]).expect("an instance");
            instances += instance.properties.len() / 3;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(instances, TOTAL, "every instance read");
    elapsed
}
