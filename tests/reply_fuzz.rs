//! The WS-Management reply reader against arbitrary bytes and against real envelopes mutated at
//! random (bytes changed, cut, repeated — a repeated start tag nests deeper — or put elsewhere): it
//! answers with a value or an error, never a panic or a stack overflow. The case counts stay modest so
//! that the whole cargo suite stays fast.

use std::path::Path;

use proptest::prelude::*;
use remote_sessions::wsman::binding::{self, Origin};
use remote_sessions::wsman::reply::{self, Reply};

/// Every recorded reply envelope of `../shared/fixtures` (OMI's and Windows').
fn envelopes() -> &'static [String] {
    static ENVELOPES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ENVELOPES.get_or_init(|| {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
        let mut found = Vec::new();
        for dir in ["omi-cim/curl", "omi-cim/omicli", "windows-cim/omi-posthttp"] {
            let Ok(entries) = std::fs::read_dir(fixtures.join(dir)) else { continue };
            let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            names.sort();
            for path in names {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name.contains("response") && name.ends_with(".xml") {
                    found.push(std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        assert!(found.len() > 20, "the fixtures are missing: {}", fixtures.display());
        found
    })
}

/// Reads `bytes` as a reply the way a client does: the envelope, its fault, Identify, the page and
/// every item as an instance. Whatever it finds is fine; only a panic or a crash is not.
fn read_as_reply(bytes: &[u8]) {
    let Ok(reply) = Reply::parse(String::from_utf8_lossy(bytes).into_owned()) else { return };
    let _ = reply.action();
    if let Some(fault) = reply.fault() {
        let error = fault.into_error();
        assert!(error.message.len() <= reply::MAX_SERVER_TEXT + 100);
    }
    let origin = Origin { namespace: "root/cimv2", server_name: "fuzz", class_hint: Some("X") };
    if let Some(payload) = reply.payload() {
        let _ = binding::instance(payload, origin, None, &[]);
        let _ = binding::class_schema(payload);
    }
    match reply::page(reply) {
        Ok(page) => {
            for item in page.items() {
                let _ = binding::instance(item, origin, None, &[]);
            }
        }
        Err(e) => assert!(e.message.len() < 10_000, "{} bytes of message", e.message.len()),
    }
}

/// One change to an envelope, at positions given as fractions of its length.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte there.
    Set(f64, u8),
    /// Insert these bytes there.
    Insert(f64, Vec<u8>),
    /// Remove a range.
    Cut(f64, f64),
    /// Repeat a range in place this many times (a start tag repeated nests deeper).
    Repeat(f64, f64, usize),
    /// Copy a range to another place.
    Move(f64, f64, f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(a, b)| Mutation::Set(a, b)),
        (at.clone(), prop::collection::vec(prop_oneof![Just(b'<'), Just(b'>'), Just(b'/'), Just(b'&'), Just(b'"'), Just(b':'), any::<u8>()], 1..8))
            .prop_map(|(a, v)| Mutation::Insert(a, v)),
        (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::Cut(a, b)),
        (at.clone(), at.clone(), 1..3000usize).prop_map(|(a, b, n)| Mutation::Repeat(a, b, n)),
        (at.clone(), at.clone(), at).prop_map(|(a, b, c)| Mutation::Move(a, b, c)),
    ]
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let len = text.len();
    let pos = |f: f64| ((f * len as f64) as usize).min(len);
    let range = |a: f64, b: f64| {
        let (a, b) = (pos(a), pos(b));
        // Short ranges: a tag or two, as a hostile server would repeat.
        let (a, b) = (a.min(b), a.max(b));
        (a, b.min(a + 200))
    };
    match m {
        Mutation::Set(a, byte) if len > 0 => text[pos(*a).min(len - 1)] = *byte,
        Mutation::Set(..) => {}
        Mutation::Insert(a, bytes) => {
            let at = pos(*a);
            text.splice(at..at, bytes.iter().copied());
        }
        Mutation::Cut(a, b) => {
            let (a, b) = range(*a, *b);
            text.drain(a..b);
        }
        Mutation::Repeat(a, b, n) => {
            let (a, b) = range(*a, *b);
            let piece = text[a..b].to_vec();
            let repeated: Vec<u8> = piece.iter().copied().cycle().take(piece.len() * n).collect();
            text.splice(b..b, repeated);
        }
        Mutation::Move(a, b, c) => {
            let (a, b) = range(*a, *b);
            let piece = text[a..b].to_vec();
            let at = pos(*c);
            text.splice(at..at, piece);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_a_reply_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        read_as_reply(&bytes);
    }

    #[test]
    fn arbitrary_markup_is_a_reply_or_an_error(text in "(<[a-z:]{1,4}( [a-z:]{1,3}=\"[a-z&;:/]{0,5}\"){0,3}/?>|</[a-z:]{1,4}>|[a-z&;]{0,4}){0,60}") {
        read_as_reply(format!("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>{text}</s:Body></s:Envelope>").as_bytes());
    }

    #[test]
    fn mutated_real_envelopes_are_a_reply_or_an_error(which in any::<prop::sample::Index>(), changes in prop::collection::vec(mutation(), 1..6)) {
        let envelopes = envelopes();
        let mut text = envelopes[which.index(envelopes.len())].clone().into_bytes();
        for m in &changes {
            apply(&mut text, m);
        }
        read_as_reply(&text);
    }
}

#[test]
fn every_real_envelope_is_within_the_reader_s_limits() {
    for e in envelopes() {
        if let Err(error) = Reply::parse(e.clone()) {
            panic!("{error}: {}", &e[..e.len().min(300)]);
        }
        read_as_reply(e.as_bytes());
    }
}

#[test]
fn an_item_nested_5000_deep_is_an_error_not_a_crash() {
    // An enumeration item whose property holds an instance, 5000 times over (55 KB).
    let page = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><s:Body><n:PullResponse><n:Items><p:X xmlns:p=\"urn:x\">{}<p:V>1</p:V>{}</p:X>\
         </n:Items><n:EndOfSequence/></n:PullResponse></s:Body></s:Envelope>",
        "<p:I>".repeat(5000),
        "</p:I>".repeat(5000)
    );
    let e = Reply::parse(page).unwrap_err();
    assert_eq!(e.kind, remote_sessions::ErrorKind::BadReply);
    assert!(e.message.contains("deep"), "{}", e.message);
}
