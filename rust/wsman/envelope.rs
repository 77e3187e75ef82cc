//! WS-Management request envelopes (DMTF DSP0226, with the CIM binding of DSP0227 and Microsoft's
//! extensions of MS-WSMV): the SOAP 1.2 header every operation shares and the bodies of Identify,
//! Get, Enumerate, Pull and Release. Sans-IO: this module only writes text.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use once_cell::sync::Lazy;
use uuid::Uuid;

use super::{NAMESPACE_SELECTOR, NS_ADDRESSING, NS_CIM_BINDING, NS_CIM_COMMON, NS_ENUMERATION, NS_IDENTITY, NS_MSWSMAN, NS_SOAP, NS_WSMAN, NS_XSI};
use crate::cim::datetime::{to_xs_datetime, to_xs_duration};
use crate::cim::provider::Association;
use crate::cim::text::object_path;
use crate::cim::{CimDateTime, CimProperty, CimValue};
use crate::xml::escape;

/// The anonymous reply-to address (WS-Addressing 2004/08).
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// WS-Transfer Get.
pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
/// WS-Transfer Put.
pub const ACTION_PUT: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put";
/// WS-Transfer Create.
pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
/// WS-Transfer Delete.
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
/// WS-Enumeration Enumerate.
pub const ACTION_ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
/// WS-Enumeration Pull.
pub const ACTION_PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
/// WS-Enumeration Release.
pub const ACTION_RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
/// The WQL filter dialect (MS-WSMV 2.2.4.x, `w:Filter/@Dialect`).
pub const DIALECT_WQL: &str = "http://schemas.microsoft.com/wbem/wsman/1/WQL";
/// The CQL filter dialect (DSP0202).
pub const DIALECT_CQL: &str = "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf";
/// Resource URI for class declarations over the CIM-XML binding (GetClass).
pub const CLASS_RESOURCE_URI: &str = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";
/// Resource URI of a query (a filtered Enumerate over every class), as Windows' client sends it.
pub const QUERY_RESOURCE_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/*";
/// The association filter dialect (DSP0227 §8.2: Associators and References as a filtered Enumerate).
pub const DIALECT_ASSOCIATION: &str = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";

/// Resource URI of a CIM class, as Windows' CIM client writes it: DMTF's schema URI for `CIM_` classes,
/// Microsoft's for every other class (DSP0227 §7.2, MS-WSMV 3.1.4.1.x). A name that already is a URI
/// (contains `://`, as a cmdlet's -ResourceUri) is returned as is.
pub fn class_resource_uri(class_name: &str) -> String {
    if is_resource_uri(class_name) {
        return class_name.to_string();
    }
    let base = if class_name.len() >= 4 && class_name[..4].eq_ignore_ascii_case("CIM_") {
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
    } else {
        "http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/"
    };
    format!("{base}{class_name}")
}

/// The prefix of WMI resource URIs, whose path names the namespace and class:
/// `http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service` (MS-WSMV 2.2.4.x).
pub const WMI_URI_PREFIX: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";

/// True when `resource_uri` names its namespace itself (a WMI resource URI), so no `__cimnamespace`
/// selector goes with it.
pub fn uri_names_namespace(resource_uri: &str) -> bool {
    resource_uri.len() > WMI_URI_PREFIX.len() && resource_uri.get(..WMI_URI_PREFIX.len()).map_or(false, |p| p.eq_ignore_ascii_case(WMI_URI_PREFIX))
}

/// True when a class name given by a caller is a resource URI (contains `://`).
pub fn is_resource_uri(class_name: &str) -> bool {
    class_name.contains("://")
}

/// The header fields of one request (DSP0226 §6).
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// The endpoint URL, e.g. `https://srv1:5986/wsman`.
    pub to: &'a str,
    pub resource_uri: &'a str,
    pub action: &'a str,
    /// `w:SelectorSet` entries in order, e.g. `__cimnamespace` and key properties.
    pub selectors: &'a [(String, String)],
    /// Largest reply, in bytes (`w:MaxEnvelopeSize`).
    pub max_envelope_size: u32,
    /// Server-side time limit in milliseconds (`w:OperationTimeout`, written as an xs:duration).
    pub timeout_ms: u32,
    /// `w:Locale` (message language), e.g. `en-US`.
    pub locale: Option<&'a str>,
    /// `p:DataLocale` (MS-WSMV 2.2.4.9: number and date formats), e.g. `de-DE`.
    pub data_locale: Option<&'a str>,
}

/// A whole request: the envelope text and its `wsa:MessageID` (`uuid:…`).
#[derive(Debug, Clone)]
pub struct Request {
    pub message_id: String,
    pub xml: String,
}

/// A new `wsa:MessageID` (`uuid:` and an upper-case UUID, as Windows' client writes it). IDs need only
/// be unique: a random version 4 UUID drawn once per process, with a counter in its last 48 bits
/// (the node field, outside the version and variant bits), saves a system call per request.
fn message_id() -> String {
    static BASE: Lazy<u128> = Lazy::new(|| Uuid::new_v4().as_u128());
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF;
    let id = Uuid::from_u128(*BASE ^ u128::from(count));
    let mut text = String::with_capacity(41);
    text.push_str("uuid:");
    text.push_str(id.hyphenated().encode_upper(&mut Uuid::encode_buffer()));
    text
}

/// Writes an envelope with `header` and `body` (the body's inner XML, using the prefixes `s`, `a`,
/// `n`, `w`, `p` declared on the envelope).
pub fn request(header: &Header<'_>, body: &str) -> Request {
    request_with(header, "", body)
}

/// [`request`] with `extra_header` (XML using the envelope's prefixes, e.g. a `w:OptionSet` or
/// `p:SessionId`) written at the end of the header, after the selectors.
pub fn request_with(header: &Header<'_>, extra_header: &str, body: &str) -> Request {
    let message_id = message_id();
    let mut x = String::with_capacity(1200 + body.len());
    // Writing to a String cannot fail.
    let _ = write!(
        x,
        r#"<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_ADDRESSING}" xmlns:n="{NS_ENUMERATION}" xmlns:w="{NS_WSMAN}" xmlns:p="{NS_MSWSMAN}"><s:Header>"#
    );
    let _ = write!(x, "<a:To>{}</a:To>", escape(header.to));
    let _ = write!(x, r#"<w:ResourceURI s:mustUnderstand="true">{}</w:ResourceURI>"#, escape(header.resource_uri));
    let _ = write!(x, r#"<a:ReplyTo><a:Address s:mustUnderstand="true">{ANONYMOUS}</a:Address></a:ReplyTo>"#);
    let _ = write!(x, r#"<a:Action s:mustUnderstand="true">{}</a:Action>"#, escape(header.action));
    let _ = write!(x, r#"<w:MaxEnvelopeSize s:mustUnderstand="true">{}</w:MaxEnvelopeSize>"#, header.max_envelope_size);
    let _ = write!(x, "<a:MessageID>{message_id}</a:MessageID>");
    if let Some(locale) = header.locale {
        let _ = write!(x, r#"<w:Locale xml:lang="{}" s:mustUnderstand="false"/>"#, escape(locale));
    }
    if let Some(locale) = header.data_locale {
        let _ = write!(x, r#"<p:DataLocale xml:lang="{}" s:mustUnderstand="false"/>"#, escape(locale));
    }
    let _ = write!(x, "<w:OperationTimeout>{}</w:OperationTimeout>", duration(header.timeout_ms));
    if !header.selectors.is_empty() {
        x.push_str("<w:SelectorSet>");
        for (name, value) in header.selectors {
            let _ = write!(x, r#"<w:Selector Name="{}">{}</w:Selector>"#, escape(name), escape(value));
        }
        x.push_str("</w:SelectorSet>");
    }
    x.push_str(extra_header);
    x.push_str("</s:Header><s:Body>");
    x.push_str(body);
    x.push_str("</s:Body></s:Envelope>");
    Request { message_id, xml: x }
}

/// WS-Management Identify (DSP0226 §11): no addressing headers at all.
pub fn identify() -> String {
    format!(r#"<s:Envelope xmlns:s="{NS_SOAP}" xmlns:wsmid="{NS_IDENTITY}"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"#)
}

/// What an enumeration returns (DSP0226 §8.7, `w:EnumerationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnumerationMode {
    /// Instances only (no `w:EnumerationMode` element).
    #[default]
    Objects,
    /// Endpoint references only.
    Epr,
    /// Each item is an instance with its endpoint reference.
    ObjectAndEpr,
}

/// The body of an Enumerate (DSP0226 §8.2): `optimize` asks for the first `max_elements` items in the
/// response itself (`w:OptimizeEnumeration`); `filter` is (dialect URI, text).
pub fn enumerate_body(optimize: bool, max_elements: u32, mode: EnumerationMode, filter: Option<(&str, &str)>) -> String {
    let filter = filter.map(|(dialect, text)| format!(r#"<w:Filter Dialect="{}">{}</w:Filter>"#, escape(dialect), escape(text)));
    enumerate_with(optimize, max_elements, mode, filter.as_deref())
}


/// The body of an association Enumerate (DSP0227 §8.2) from the instance at `source_uri` with
/// `source_selectors` (`__cimnamespace` and its keys). Each item is requested as the instance with its
/// EPR (`EnumerateObjectAndEPR`), or as the EPR alone when `keys_only`. The filter's children are in
/// the order the OMI server accepts (Role before ResultClassName in a References filter).
pub fn association_body(max_elements: u32, keys_only: bool, source_uri: &str, source_selectors: &[(String, String)], association: &Association) -> String {
    let mut f = format!(r#"<w:Filter Dialect="{DIALECT_ASSOCIATION}" xmlns:b="{NS_CIM_BINDING}">"#);
    let (tag, fields): (&str, Vec<(&str, &Option<String>)>) = match association {
        Association::Associated { association_class, role, result_class, result_role } => (
            "AssociatedInstances",
            vec![("AssociationClassName", association_class), ("Role", role), ("ResultClassName", result_class), ("ResultRole", result_role)],
        ),
        Association::References { result_class, role } => ("AssociationInstances", vec![("Role", role), ("ResultClassName", result_class)]),
    };
    f.push_str(&format!("<b:{tag}><b:Object>{}</b:Object>", reference_parameters(source_uri, source_selectors)));
    for (name, value) in fields {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            f.push_str(&format!("<b:{name}>{}</b:{name}>", escape(v)));
        }
    }
    f.push_str(&format!("</b:{tag}></w:Filter>"));
    let mode = if keys_only { EnumerationMode::Epr } else { EnumerationMode::ObjectAndEpr };
    enumerate_with(true, max_elements, mode, Some(&f))
}

/// An endpoint reference's address and reference parameters (WS-Addressing; DSP0226 §5.1).
fn reference_parameters(resource_uri: &str, selectors: &[(String, String)]) -> String {
    let mut x = format!("<a:Address>{ANONYMOUS}</a:Address><a:ReferenceParameters><w:ResourceURI>{}</w:ResourceURI><w:SelectorSet>", escape(resource_uri));
    for (name, value) in selectors {
        x.push_str(&format!(r#"<w:Selector Name="{}">{}</w:Selector>"#, escape(name), escape(value)));
    }
    x.push_str("</w:SelectorSet></a:ReferenceParameters>");
    x
}

/// The body of an Enumerate (DSP0226 §8.2) with `filter_xml` (a whole `w:Filter` element, or none).
pub fn enumerate_with(optimize: bool, max_elements: u32, mode: EnumerationMode, filter_xml: Option<&str>) -> String {
    let mut b = String::from("<n:Enumerate>");
    if optimize {
        b.push_str(&format!("<w:OptimizeEnumeration/><w:MaxElements>{max_elements}</w:MaxElements>"));
    }
    match mode {
        EnumerationMode::Objects => {}
        EnumerationMode::Epr => b.push_str("<w:EnumerationMode>EnumerateEPR</w:EnumerationMode>"),
        EnumerationMode::ObjectAndEpr => b.push_str("<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>"),
    }
    b.push_str(filter_xml.unwrap_or(""));
    b.push_str("</n:Enumerate>");
    b
}

/// The body of a Pull for `context`, at most `max_elements` items (DSP0226 §8.3).
pub fn pull_body(context: &str, max_elements: u32) -> String {
    format!(
        "<n:Pull><n:EnumerationContext>{}</n:EnumerationContext><n:MaxElements>{max_elements}</n:MaxElements></n:Pull>",
        escape(context)
    )
}

/// The body of a Release of `context` (DSP0226 §8.4), sent when a caller stops an enumeration early.
pub fn release_body(context: &str) -> String {
    format!("<n:Release><n:EnumerationContext>{}</n:EnumerationContext></n:Release>", escape(context))
}

/// The action URI of method `method` of the class at `class_uri` (DSP0227 §8.3: `<ResourceURI>/<Method>`).
pub fn method_action(class_uri: &str, method: &str) -> String {
    format!("{class_uri}/{method}")
}

/// The body of an Invoke (DSP0227 §8.3): `<p:{method}_INPUT>` in the class's namespace with one element
/// per in-parameter (arrays as repeated elements, nulls as `xsi:nil`, datetimes wrapped in
/// `cim:Datetime` / `cim:Interval`, embedded instances as nested elements typed `<Class>_Type`).
pub fn invoke_body(class_uri: &str, method: &str, params: &[CimProperty]) -> String {
    element_body(&format!("{method}_INPUT"), class_uri, params)
}

/// The body of a Create or Put (DSP0227 §8.4, §8.5): the instance as `<p:{class}>` in the class's
/// namespace, its properties written as [`invoke_body`] writes parameters.
pub fn instance_body(class_uri: &str, class_name: &str, properties: &[CimProperty]) -> String {
    element_body(class_name, class_uri, properties)
}

fn element_body(tag: &str, class_uri: &str, properties: &[CimProperty]) -> String {
    let tag = escape(tag);
    let mut b = format!(r#"<p:{tag} xmlns:p="{}" xmlns:xsi="{NS_XSI}" xmlns:cim="{NS_CIM_COMMON}">"#, escape(class_uri));
    for p in properties {
        match &p.value {
            CimValue::Array(items) => items.iter().for_each(|v| write_value(&mut b, &p.name, v)),
            v => write_value(&mut b, &p.name, v),
        }
    }
    b.push_str(&format!("</p:{tag}>"));
    b
}

fn write_value(b: &mut String, name: &str, value: &CimValue) {
    let name = escape(name);
    match value {
        CimValue::Null => b.push_str(&format!(r#"<p:{name} xsi:nil="true"/>"#)),
        CimValue::DateTime(d @ CimDateTime::Timestamp { .. }) => b.push_str(&format!("<p:{name}><cim:Datetime>{}</cim:Datetime></p:{name}>", to_xs_datetime(d))),
        CimValue::DateTime(CimDateTime::Interval { micros }) => b.push_str(&format!("<p:{name}><cim:Interval>{}</cim:Interval></p:{name}>", to_xs_duration(*micros))),
        CimValue::Char16(c) => b.push_str(&format!("<p:{name}>{}</p:{name}>", u32::from(*c))),
        CimValue::Reference(path) => match object_path(path) {
            Ok((namespace, class, keys)) => {
                // An EPR (DSP0227 §7.3): the class's resource URI and its keys as selectors.
                let mut selectors: Vec<(String, String)> = namespace.iter().map(|n| (NAMESPACE_SELECTOR.to_string(), slash_namespace(n))).collect();
                selectors.extend(keys);
                b.push_str(&format!("<p:{name}>{}</p:{name}>", reference_parameters(&class_resource_uri(&class), &selectors)));
            }
            Err(_) => b.push_str(&format!("<p:{name}>{}</p:{name}>", escape(path))),
        },
        CimValue::Instance(i) => {
            b.push_str(&format!(r#"<p:{name} xsi:type="{}_Type">"#, escape(&i.class_name)));
            for p in &i.properties {
                match &p.value {
                    CimValue::Array(items) => items.iter().for_each(|v| write_value(b, &p.name, v)),
                    v => write_value(b, &p.name, v),
                }
            }
            b.push_str(&format!("</p:{name}>"));
        }
        other => b.push_str(&format!("<p:{name}>{}</p:{name}>", escape(&other.to_text().unwrap_or_default()))),
    }
}

/// A namespace of an object path in the slash form of `__cimnamespace`: a WMI path's `\\server\` left out.
fn slash_namespace(namespace: &str) -> String {
    let n = namespace.replace('\\', "/");
    match n.strip_prefix("//") {
        Some(rest) => rest.split_once('/').map_or(String::new(), |(_, ns)| ns.to_string()),
        None => n,
    }
}



/// Milliseconds as an xs:duration with milliseconds, e.g. 60 000 → `PT60.000S`.
pub fn duration(ms: u32) -> String {
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

/// The selectors naming an instance at `resource_uri`: `__cimnamespace` (slash form) and the key values
/// (DSP0227 §7.1); a WMI resource URI names its namespace itself, so it gets only the keys.
pub fn instance_selectors(namespace: &str, keys: &[(String, String)], resource_uri: &str) -> Vec<(String, String)> {
    let mut selectors = namespace_selector(namespace, resource_uri);
    selectors.extend(keys.iter().cloned());
    selectors
}

/// `__cimnamespace` for an operation on `resource_uri`, unless the URI names the namespace (WMI form).
pub fn namespace_selector(namespace: &str, resource_uri: &str) -> Vec<(String, String)> {
    if uri_names_namespace(resource_uri) {
        Vec::new()
    } else {
        vec![(NAMESPACE_SELECTOR.to_string(), namespace.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_follow_the_windows_client() {
        assert_eq!(class_resource_uri("CIM_Process"), "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_Process");
        assert_eq!(class_resource_uri("Win32_Process"), "http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/Win32_Process");
        assert_eq!(class_resource_uri("http://x/wmi/root/cimv2/Win32_Service"), "http://x/wmi/root/cimv2/Win32_Service");
        assert!(uri_names_namespace("http://schemas.microsoft.com/wbem/wsman/1/WMI/root/cimv2/Win32_Service"));
        assert!(!uri_names_namespace(&class_resource_uri("Win32_Service")));
        assert!(!uri_names_namespace("http://schemas.microsoft.com/wbem/wsman/1/wmiöö"));
    }

    #[test]
    fn header_escapes_and_orders_selectors() {
        let selectors = vec![("__cimnamespace".to_string(), "root/cimv2".to_string()), ("Name".to_string(), "a<b".to_string())];
        let h = Header {
            to: "http://h:5985/wsman",
            resource_uri: &class_resource_uri("X_Y"),
            action: ACTION_GET,
            selectors: &selectors,
            max_envelope_size: 512_000,
            timeout_ms: 60_000,
            locale: Some("en-US"),
            data_locale: None,
        };
        let r = request(&h, "");
        assert!(r.xml.contains(r#"<w:Selector Name="__cimnamespace">root/cimv2</w:Selector><w:Selector Name="Name">a&lt;b</w:Selector>"#));
        assert!(r.xml.contains("<w:OperationTimeout>PT60.000S</w:OperationTimeout>"));
        assert!(r.xml.contains(&format!("<a:MessageID>{}</a:MessageID>", r.message_id)));
        crate::xml::Document::parse(r.xml.clone(), "request").unwrap();
        // Every request has an ID of its own, each an upper-case version 4 UUID.
        let ids: Vec<String> = (0..3).map(|_| request(&h, "").message_id).collect();
        for id in &ids {
            let uuid = id.strip_prefix("uuid:").unwrap();
            assert_eq!(Uuid::parse_str(uuid).unwrap().get_version_num(), 4, "{id}");
            assert_eq!(uuid, uuid.to_uppercase());
        }
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2] && !ids.contains(&r.message_id));
    }

    #[test]
    fn invoke_bodies_write_every_kind_of_value() {
        use crate::cim::CimType;
        let params = vec![
            CimProperty::new("X", CimType::Real32, CimValue::Real32(40.0)),
            CimProperty::new("N", CimType::StringArray, CimValue::Array(vec![CimValue::String("a&b".into()), CimValue::String("c".into())])),
            CimProperty::new("Z", CimType::String, CimValue::Null),
            CimProperty::new("T", CimType::DateTime, CimValue::DateTime(CimDateTime::Timestamp { unix_micros: 978_310_861_000_001 - 830 * 60_000_000, utc_offset_minutes: 830 })),
            CimProperty::new("I", CimType::DateTime, CimValue::DateTime(CimDateTime::Interval { micros: 2_000 * 86_400_000_000 + 7_322_000_002 })),
        ];
        let b = invoke_body("urn:c/X", "Add", &params);
        assert!(b.starts_with(r#"<p:Add_INPUT xmlns:p="urn:c/X""#));
        assert!(b.contains("<p:X>40</p:X><p:N>a&amp;b</p:N><p:N>c</p:N><p:Z xsi:nil=\"true\"/>"), "{b}");
        assert!(b.contains("<p:T><cim:Datetime>2001-01-01T01:01:01.000001+13:50</cim:Datetime></p:T>"), "{b}");
        assert!(b.contains("<p:I><cim:Interval>P2000DT2H2M2.000002S</cim:Interval></p:I>"), "{b}");
        crate::xml::Document::parse(b.clone(), "body").unwrap();
    }

    #[test]
    fn association_bodies_name_the_source_by_its_epr() {
        let source = vec![(NAMESPACE_SELECTOR.to_string(), "root/cimv2".to_string()), ("Key".to_string(), "1".to_string())];
        let associated = Association::Associated {
            association_class: Some("MSFT_PresidentLink".into()),
            role: Some("Prev".into()),
            result_class: Some("MSFT_President".into()),
            result_role: None,
        };
        let b = association_body(32_000, false, &class_resource_uri("MSFT_President"), &source, &associated);
        assert!(b.starts_with("<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>"), "{b}");
        assert!(b.contains(r#"<a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/MSFT_President</w:ResourceURI><w:SelectorSet><w:Selector Name="__cimnamespace">root/cimv2</w:Selector><w:Selector Name="Key">1</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object><b:AssociationClassName>MSFT_PresidentLink</b:AssociationClassName><b:Role>Prev</b:Role><b:ResultClassName>MSFT_President</b:ResultClassName></b:AssociatedInstances>"#), "{b}");
        let references = Association::References { result_class: Some("L".into()), role: Some("Prev".into()) };
        let b = association_body(5, true, "urn:x", &source, &references);
        assert!(b.contains("<w:EnumerationMode>EnumerateEPR</w:EnumerationMode>"));
        assert!(b.contains("</b:Object><b:Role>Prev</b:Role><b:ResultClassName>L</b:ResultClassName></b:AssociationInstances></w:Filter>"), "{b}");
        let wrapped = format!(r#"<x xmlns:n="{NS_ENUMERATION}" xmlns:w="{NS_WSMAN}" xmlns:a="{NS_ADDRESSING}">{b}</x>"#);
        crate::xml::Document::parse(wrapped.clone(), "body").unwrap();
    }

    #[test]
    fn references_are_written_as_eprs() {
        use crate::cim::CimType;
        let params = vec![CimProperty::new("Peer", CimType::Reference, CimValue::Reference(r#"\\SRV\root\cimv2:Win32_Process.Handle="42""#.into()))];
        let b = invoke_body("urn:c/X", "M", &params);
        assert!(b.contains(r#"<p:Peer><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/Win32_Process</w:ResourceURI><w:SelectorSet><w:Selector Name="__cimnamespace">root/cimv2</w:Selector><w:Selector Name="Handle">42</w:Selector></w:SelectorSet></a:ReferenceParameters></p:Peer>"#), "{b}");
        assert_eq!(slash_namespace("root/test"), "root/test");
    }

    #[test]
    fn enumerate_bodies() {
        assert_eq!(enumerate_body(false, 0, EnumerationMode::Objects, None), "<n:Enumerate></n:Enumerate>");
        let b = enumerate_body(true, 2, EnumerationMode::Epr, Some((DIALECT_WQL, "SELECT * FROM A WHERE B = 'x'")));
        assert_eq!(
            b,
            r#"<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>2</w:MaxElements><w:EnumerationMode>EnumerateEPR</w:EnumerationMode><w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM A WHERE B = &apos;x&apos;</w:Filter></n:Enumerate>"#
        );
    }
}
