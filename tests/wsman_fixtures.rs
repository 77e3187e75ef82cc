//! Every recorded WS-Management reply in ../shared/fixtures read by the sans-IO layer: envelopes parse,
//! enumeration pages give their items, instances get typed values, faults become the right errors.

use std::fs;
use std::path::{Path, PathBuf};

use remote_sessions::cim::{CimDateTime, CimType, CimValue};
use remote_sessions::wsman::binding::{self, qualifier, ClassSchema, Origin, PropertySchema};
use remote_sessions::wsman::reply::{self, Reply};
use remote_sessions::ErrorKind;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

fn read(relative: &str) -> String {
    let path = fixtures().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The opennms replies carry `{{ … }}` where the request's MessageID goes.
fn reply(relative: &str) -> Reply {
    let text = read(relative);
    let text = match (text.find("{{"), text.find("}}")) {
        (Some(a), Some(b)) => format!("{}uuid:0{}", &text[..a], &text[b + 2..]),
        _ => text,
    };
    Reply::parse(text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

const ORIGIN: Origin<'static> = Origin { namespace: "root/test", server_name: "srv1", class_hint: None };

fn responses() -> Vec<String> {
    let mut names = Vec::new();
    for dir in ["omi-cim/curl", "omi-cim/omicli", "windows-cim/opennms", "windows-cim/omi-posthttp"] {
        for entry in fs::read_dir(fixtures().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".xml") && name.contains("response") {
                names.push(format!("{dir}/{name}"));
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_reply_parses_and_every_page_gives_instances() {
    let mut pages = 0;
    let mut instances = 0;
    for name in responses() {
        let r = reply(&name);
        let is_page = r.payload().map_or(false, |p| p.name() == "EnumerateResponse" || p.name() == "PullResponse");
        if r.fault().is_some() || !is_page {
            continue;
        }
        let page = reply::page(r).unwrap_or_else(|e| panic!("{name}: {e}"));
        pages += 1;
        for item in page.items() {
            if item.name() == "EndpointReference" {
                continue;
            }
            let origin = Origin { class_hint: Some("Win32_LogicalDisk"), ..ORIGIN };
            let i = binding::instance(item, origin, None, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!i.class_name.is_empty(), "{name}");
            instances += 1;
        }
    }
    assert!(pages >= 20, "only {pages} pages");
    assert!(instances >= 100, "only {instances} instances");
}

#[test]
fn optimized_enumeration_and_pull_sequence() {
    let first = reply::page(reply("omi-cim/curl/enumerate-nooptimize-response.xml")).unwrap();
    assert_eq!((first.len(), first.context.as_deref(), first.end_of_sequence), (0, Some("522780673"), false));
    let p1 = reply::page(reply("omi-cim/curl/pull1-response.xml")).unwrap();
    assert_eq!((p1.len(), p1.end_of_sequence), (3, false));
    let p2 = reply::page(reply("omi-cim/curl/pull2-response.xml")).unwrap();
    // OMI sends the context even at the end; there is nothing left to pull.
    assert_eq!((p2.len(), p2.context.as_deref(), p2.end_of_sequence), (2, None, true));
    let president = binding::instance(p2.item(1), ORIGIN, None, &[]).unwrap();
    assert_eq!(president.class_name, "MSFT_President");
    assert_eq!(president.property("Last").unwrap().value, CimValue::String("Monroe".into()));
    let gone = reply::page(reply("omi-cim/curl/pull3-response.xml")).unwrap_err();
    assert_eq!(gone.kind, ErrorKind::Fault);
    assert!(gone.message.contains("Enumeration context not found"), "{}", gone.message);
    assert_eq!(gone.fault_code.as_deref(), Some("wsa:DestinationUnreachable"));
}

#[test]
fn faults_carry_cim_status_and_kind() {
    for (name, kind, status) in [
        ("omi-cim/curl/get-notfound-response.xml", ErrorKind::NotFound, Some(6)),
        ("omi-cim/curl/enumerate-badns-response.xml", ErrorKind::InvalidNamespace, Some(3)),
        ("omi-cim/curl/get-badclass-response.xml", ErrorKind::InvalidClass, Some(5)),
        ("windows-cim/opennms/get-response-fault.xml", ErrorKind::Fault, None),
    ] {
        let e = reply(name).ok().unwrap_err();
        assert_eq!((e.kind, e.cim_status), (kind, status), "{name}: {}", e.message);
    }
    let windows = reply("windows-cim/opennms/get-response-fault.xml").fault().unwrap();
    assert!(windows.detail.unwrap().ends_with("InvalidResourceURI"));
    assert!(windows.message.contains("cannot find the resource"));
}

#[test]
fn identify_replies() {
    let omi = reply::identity(reply("omi-cim/curl/identify-response.xml")).unwrap();
    assert_eq!(omi.product_vendor, "Open Management Infrastructure");
    assert_eq!(omi.protocol_version, "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd");
    let openwsman = reply::identity(reply("windows-cim/opennms/identify-response.xml")).unwrap();
    assert_eq!(openwsman.product_version, "2.0.0");
    assert_eq!(reply::identity(reply("omi-cim/curl/pull1-response.xml")).unwrap_err().kind, ErrorKind::BadReply);
}

#[test]
fn class_declaration_types_the_values() {
    let r = reply("omi-cim/curl/getclass-response.xml");
    let schema = binding::class_schema(r.payload().unwrap()).unwrap();
    assert_eq!(schema.name, "MSFT_President");
    let types: Vec<_> = schema.properties.iter().map(|p| (p.name.as_str(), p.cim_type)).collect();
    assert_eq!(types, [("Key", CimType::UInt32), ("First", CimType::String), ("Last", CimType::String)]);
    let page = reply::page(reply("omi-cim/curl/pull1-response.xml")).unwrap();
    let typed = binding::instance(page.item(0), ORIGIN, Some(&schema), &["CIM_Person".into()]).unwrap();
    assert_eq!(typed.property("Key").unwrap().value, CimValue::UInt32(1));
    assert_eq!(typed.superclasses, ["CIM_Person"]);
}

fn all_types_schema() -> ClassSchema {
    let p = |name: &str, cim_type| PropertySchema { qualifiers: if name == "v_Key" { qualifier::KEY } else { 0 }, ..PropertySchema::new(name, cim_type) };
    ClassSchema {
        name: "TestClass_AllDMTFTypes".into(),
        superclass: None,
        qualifiers: 0,
        methods: Vec::new(),
        properties: vec![
            p("v_Key", CimType::UInt32),
            p("v_bool", CimType::Boolean),
            p("v_uint8", CimType::UInt8),
            p("v_sint8", CimType::SInt8),
            p("v_UINT16", CimType::UInt16),
            p("v_sint16", CimType::SInt16),
            p("v_uint32", CimType::UInt32),
            p("v_sint32", CimType::SInt32),
            p("v_uint64", CimType::UInt64),
            p("v_sint64", CimType::SInt64),
            p("v_rEal32", CimType::Real32),
            p("v_Real64", CimType::Real64),
            p("v_char16", CimType::Char16),
            p("v_string", CimType::String),
            p("v_DATETIME", CimType::DateTime),
            p("v_embeddedObject", CimType::Instance),
            p("v_embeddedInstance", CimType::Instance),
            p("v_reference", CimType::Reference),
            p("v_octetUint8", CimType::UInt8Array),
        ],
    }
}

#[test]
fn every_dmtf_type_reads_with_a_schema() {
    let schema = all_types_schema();
    for name in ["enumerate-alltypes-response.xml", "enumerate-alltypes-winrmua-response.xml"] {
        let page = reply::page(reply(&format!("omi-cim/curl/{name}"))).unwrap();
        let first = binding::instance(page.item(0), ORIGIN, Some(&schema), &[]).unwrap();
        let v = |p: &str| first.property(p).unwrap().value.clone();
        assert_eq!(v("v_Key"), CimValue::UInt32(0));
        assert!(first.property("v_Key").unwrap().key);
        assert_eq!(v("v_bool"), CimValue::Boolean(false));
        assert_eq!(v("v_uint8"), CimValue::UInt8(15));
        assert_eq!(v("v_sint8"), CimValue::SInt8(-15));
        assert_eq!(v("v_UINT16"), CimValue::UInt16(255));
        assert_eq!(v("v_sint16"), CimValue::SInt16(-255));
        assert_eq!(v("v_uint32"), CimValue::UInt32(65535));
        assert_eq!(v("v_sint32"), CimValue::SInt32(-65535));
        assert_eq!(v("v_uint64"), CimValue::UInt64(4_294_967_295));
        assert_eq!(v("v_sint64"), CimValue::SInt64(-4_294_967_295));
        assert_eq!(v("v_rEal32"), CimValue::Real32(100.3));
        assert_eq!(v("v_Real64"), CimValue::Real64(0.014234));
        assert_eq!(v("v_char16"), CimValue::Char16('!'));
        assert_eq!(v("v_string"), CimValue::String("TestString 0".into()));
        assert_eq!(v("v_DATETIME"), CimValue::DateTime(CimDateTime::Interval { micros: 2000 * 86_400_000_000 }));
        assert_eq!(v("v_embeddedInstance"), CimValue::Null);
        assert_eq!(v("v_reference"), CimValue::Null);
        assert_eq!(v("v_octetUint8"), CimValue::Array(b"ABC".iter().map(|b| CimValue::UInt8(*b)).collect()));
        let second = binding::instance(page.item(1), ORIGIN, Some(&schema), &[]).unwrap();
        let CimValue::DateTime(t) = second.property("v_DATETIME").unwrap().value else { panic!("{name}: not a datetime") };
        assert_eq!(t.to_dmtf(), "20010101010101.000001+830", "{name}");
    }
}

#[test]
fn without_a_schema_wire_hints_still_type_values() {
    let page = reply::page(reply("omi-cim/curl/enumerate-alltypes-winrmua-response.xml")).unwrap();
    let i = binding::instance(page.item(0), ORIGIN, None, &[]).unwrap();
    assert_eq!(i.property("v_DATETIME").unwrap().cim_type, CimType::DateTime);
    assert_eq!(i.property("v_octetUint8").unwrap().cim_type, CimType::UInt8Array);
    assert_eq!(i.property("v_uint8").unwrap().value, CimValue::String("15".into()));
}

#[test]
fn endpoint_references_and_windows_fragments() {
    let epr = reply::page(reply("omi-cim/curl/enumerate-epr-response.xml")).unwrap();
    assert_eq!(epr.len(), 2);
    assert!(epr.items().all(|i| i.name() == "EndpointReference"));
    let fragments = reply::page(reply("windows-cim/opennms/optimized-enum-response-with-fragments-1.xml")).unwrap();
    let origin = Origin { class_hint: Some("Win32_LogicalDisk"), ..ORIGIN };
    let disk = binding::instance(fragments.item(0), origin, None, &[]).unwrap();
    assert_eq!(disk.class_name, "Win32_LogicalDisk");
    assert_eq!(disk.property("Name").unwrap().value, CimValue::String("A:".into()));
    assert_eq!(disk.property("Size").unwrap().value, CimValue::Null);
}

#[test]
fn replies_that_are_not_envelopes_are_bad_replies() {
    for text in ["<html><body>500</body></html>", "garbage", "<s:Envelope xmlns:s='urn:other'/>"] {
        assert_eq!(Reply::parse(text.to_string()).unwrap_err().kind, ErrorKind::BadReply, "{text}");
    }
}
