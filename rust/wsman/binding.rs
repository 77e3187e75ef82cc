//! The WS-Management CIM binding (DMTF DSP0227, with MS-WSMV's conventions), reading side: an item of
//! an enumeration or a Get reply becomes a [`CimInstance`]; a CIM-XML class declaration (GetClass over
//! the `cim-xml` resource URI) becomes a [`ClassSchema`] that types the instance's values.
//!
//! Values on the wire are text. Their types come from, in order: the class schema when the session has
//! one; an `xsi:type` attribute (`cim:cimUnsignedInt`, `cim:cimBase64Binary`, …); the shape of the
//! element (`cim:Datetime`/`cim:Interval` children, an endpoint reference, an embedded instance);
//! otherwise the value is a string. A repeated element is an array; `xsi:nil="true"` is a null.

use super::{NAMESPACE_SELECTOR, NS_ADDRESSING, NS_CIM_COMMON, NS_WSMAN, NS_XSI};
use crate::cim::text::{bad_value, value_of_text};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::{Error, ErrorKind, Result};
use crate::xml::Element;

pub use crate::cim::class::{qualifier, ClassSchema, MethodSchema, PropertySchema};

/// Most properties a class may declare, most methods, and most parameters of one method (real
/// classes declare at most a few hundred properties). Every property of every instance read is
/// looked up among its class's declared ones, so this bounds the cost of each lookup.
pub const MAX_DECLARED: usize = 1024;

/// Reads a CIM-XML `CLASS` element (DSP0201 §3.2.4.x) as a GetClass reply carries it.
/// Errors: BadReply when `class` is not a CLASS element, or declares more than [`MAX_DECLARED`]
/// properties, methods or parameters of a method.
pub fn class_schema(class: Element<'_>) -> Result<ClassSchema> {
    if class.name() != "CLASS" {
        let name: String = class.name().chars().take(100).collect();
        return Err(Error::new(ErrorKind::BadReply, format!("The class reply holds '{name}', not a CLASS")));
    }
    let methods: Vec<MethodSchema> = class
        .children()
        .filter(|m| m.name() == "METHOD")
        .map(|m| MethodSchema {
            name: m.attr("", "NAME").unwrap_or_default().to_string(),
            return_type: m.attr("", "TYPE").map_or(CimType::UInt32, type_of_cimxml),
            qualifiers: qualifiers_of(m),
            parameters: declarations(m, "PARAMETER"),
        })
        .collect();
    let properties = declarations(class, "PROPERTY");
    if properties.len() > MAX_DECLARED || methods.len() > MAX_DECLARED || methods.iter().any(|m| m.parameters.len() > MAX_DECLARED) {
        return Err(Error::new(
            ErrorKind::BadReply,
            format!("The class declaration has more than {MAX_DECLARED} properties, methods or parameters of a method, the most this client reads"),
        ));
    }
    Ok(ClassSchema {
        name: class.attr("", "NAME").unwrap_or_default().to_string(),
        superclass: class.attr("", "SUPERCLASS").map(str::to_string),
        qualifiers: qualifiers_of(class),
        properties,
        methods,
    })
}

/// The [`qualifier`] bits of an element's `QUALIFIER` children that are true (a boolean qualifier
/// without a VALUE is true, DSP0201 §3.2.6.x).
fn qualifiers_of(e: Element<'_>) -> u32 {
    e.children()
        .filter(|q| q.name() == "QUALIFIER")
        .filter(|q| q.child_local("VALUE").map_or(true, |v| v.trimmed().eq_ignore_ascii_case("true")))
        .filter_map(|q| qualifier::bit(q.attr("", "NAME").unwrap_or_default()))
        .fold(0, |bits, b| bits | b)
}

/// The `PROPERTY*` (or `PARAMETER*`) declarations among `parent`'s children, by `kind`.
fn declarations(parent: Element<'_>, kind: &str) -> Vec<PropertySchema> {
    let mut properties = Vec::new();
    for p in parent.children() {
        let Some(suffix) = p.name().strip_prefix(kind) else { continue };
        let (array, reference) = match suffix {
            "" => (false, false),
            ".ARRAY" => (true, false),
            ".REFERENCE" => (false, true),
            ".REFARRAY" => (true, true),
            _ => continue,
        };
        let embedded = p.children().any(|q| {
            q.name() == "QUALIFIER" && q.attr("", "NAME").map_or(false, |n| n.eq_ignore_ascii_case("EmbeddedInstance") || n.eq_ignore_ascii_case("EmbeddedObject"))
        });
        let scalar = if reference {
            CimType::Reference
        } else if embedded {
            CimType::Instance
        } else {
            p.attr("", "TYPE").map_or(CimType::String, type_of_cimxml)
        };
        properties.push(PropertySchema {
            name: p.attr("", "NAME").unwrap_or_default().to_string(),
            cim_type: if array { scalar.array_of() } else { scalar },
            qualifiers: qualifiers_of(p),
            reference_class: p.attr("", "REFERENCECLASS").map(str::to_string),
        });
    }
    properties
}

/// The CIM type named by a CIM-XML `TYPE` attribute (`uint32`, `datetime`, …).
fn type_of_cimxml(name: &str) -> CimType {
    match name.to_ascii_lowercase().as_str() {
        "boolean" => CimType::Boolean,
        "uint8" => CimType::UInt8,
        "sint8" => CimType::SInt8,
        "uint16" => CimType::UInt16,
        "sint16" => CimType::SInt16,
        "uint32" => CimType::UInt32,
        "sint32" => CimType::SInt32,
        "uint64" => CimType::UInt64,
        "sint64" => CimType::SInt64,
        "real32" => CimType::Real32,
        "real64" => CimType::Real64,
        "char16" => CimType::Char16,
        "datetime" => CimType::DateTime,
        "reference" => CimType::Reference,
        _ => CimType::String,
    }
}

/// The CIM type named by an `xsi:type` of the WS-CIM common schema (`cim:cimUnsignedInt`, …).
fn type_of_xsi(name: &str) -> Option<CimType> {
    let local = name.rsplit(':').next().unwrap_or(name);
    Some(match local {
        "cimBoolean" => CimType::Boolean,
        "cimUnsignedByte" => CimType::UInt8,
        "cimByte" => CimType::SInt8,
        "cimUnsignedShort" => CimType::UInt16,
        "cimShort" => CimType::SInt16,
        "cimUnsignedInt" => CimType::UInt32,
        "cimInt" => CimType::SInt32,
        "cimUnsignedLong" => CimType::UInt64,
        "cimLong" => CimType::SInt64,
        "cimFloat" => CimType::Real32,
        "cimDouble" => CimType::Real64,
        "cimChar16" => CimType::Char16,
        "cimDateTime" => CimType::DateTime,
        "cimString" => CimType::String,
        "cimReference" => CimType::Reference,
        "cimBase64Binary" | "cimHexBinary" => CimType::UInt8Array,
        _ => return None,
    })
}

/// Deepest nesting of embedded instances read, in levels: an instance in a property of an item's
/// instance is 1 deep, one in a property of that 2 deep, and so on. Reading an embedded instance
/// recurses, and a deep [`CimInstance`] is dropped recursively, so this bounds the stack either takes.
pub const MAX_EMBEDDING: usize = 64;

/// Where an instance came from, stamped on what [`instance`] makes.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub namespace: &'a str,
    pub server_name: &'a str,
    /// The class asked for: the class of a `w:XmlFragment` item (Windows' reply to a WQL projection),
    /// which has no class name of its own.
    pub class_hint: Option<&'a str>,
}

/// The element of an item that holds the instance: the item itself, or inside a `w:Item`
/// (EnumerateObjectAndEPR) the child that is not the endpoint reference.
pub fn instance_element(item: Element<'_>) -> Element<'_> {
    if item.is(NS_WSMAN, "Item") {
        item.children().find(|c| !c.is(NS_ADDRESSING, "EndpointReference")).unwrap_or(item)
    } else {
        item
    }
}

/// The class name of an instance element (see [`Origin::class_hint`]).
pub fn class_of<'a>(element: Element<'a>, origin: Origin<'a>) -> &'a str {
    if element.is(NS_WSMAN, "XmlFragment") {
        origin.class_hint.unwrap_or(element.name())
    } else {
        element.name()
    }
}

/// Reads an item as an instance. The element's local name is the class; with EnumerateObjectAndEPR the
/// item is a `w:Item` wrapping the instance and its EPR, and the instance is taken from it. `schema`
/// types the values (see the module doc); `superclasses` are stamped as given, nearest first.
/// Errors: BadReply for an item without an instance or with instances embedded more than
/// [`MAX_EMBEDDING`] deep, InvalidArgument for a value its type rejects.
pub fn instance(item: Element<'_>, origin: Origin<'_>, schema: Option<&ClassSchema>, superclasses: &[String]) -> Result<CimInstance> {
    instance_at(item, origin, schema, superclasses, 0)
}

/// [`instance`] for an instance embedded `depth` deep (0: an item's own).
fn instance_at(item: Element<'_>, origin: Origin<'_>, schema: Option<&ClassSchema>, superclasses: &[String], depth: usize) -> Result<CimInstance> {
    let element = instance_element(item);
    if element.is(NS_WSMAN, "Item") {
        return Err(Error::new(ErrorKind::BadReply, "An enumeration item holds no instance"));
    }
    let children: Vec<Element<'_>> = element.children().collect();
    let mut instance = properties_at(class_of(element, origin), &children, |c| c.name(), origin, schema, superclasses, depth)?;
    if let Some(epr) = item.child(NS_ADDRESSING, "EndpointReference") {
        keys_from_epr(&mut instance, epr);
    }
    Ok(instance)
}

/// Makes the selectors of an item's own EPR (EnumerateObjectAndEPR, DSP0227 §7.1) its keys: they are
/// what finds it again, whatever its declaration says (some servers declare no Key qualifiers). A
/// selector whose property the item left out is added as a string key. An EPR without selectors
/// changes nothing, and the declared keys stay.
fn keys_from_epr(instance: &mut CimInstance, epr: Element<'_>) {
    let selectors: Vec<(&str, &str)> = epr
        .child(NS_ADDRESSING, "ReferenceParameters")
        .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
        .into_iter()
        .flat_map(|set| set.children_named(NS_WSMAN, "Selector"))
        .filter_map(|s| Some((s.attr("", "Name")?, s.trimmed())))
        .filter(|(name, _)| *name != NAMESPACE_SELECTOR)
        .collect();
    if selectors.is_empty() {
        return;
    }
    // Sets: a hostile reply may have tens of thousands of both.
    let names: std::collections::HashSet<String> = selectors.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    let mut present = std::collections::HashSet::new();
    for p in instance.properties.iter_mut() {
        let name = p.name.to_ascii_lowercase();
        p.key = names.contains(&name);
        present.insert(name);
    }
    for (name, value) in selectors {
        if present.insert(name.to_ascii_lowercase()) {
            instance.properties.push(CimProperty::key(name, CimType::String, CimValue::String(value.to_string())));
        }
    }
}

/// An instance of `class` from its property elements, each called on the wire what `name_of` says (an
/// element's local name, or a selector's `Name`), typed as [`instance`] types them. Errors as there.
pub fn instance_of_properties<'d>(
    class: &str,
    elements: &[Element<'d>],
    name_of: impl Fn(&Element<'d>) -> &'d str,
    origin: Origin<'_>,
    schema: Option<&ClassSchema>,
    superclasses: &[String],
) -> Result<CimInstance> {
    properties_at(class, elements, name_of, origin, schema, superclasses, 0)
}

/// [`instance_of_properties`] for an instance embedded `depth` deep.
fn properties_at<'d>(
    class: &str,
    elements: &[Element<'d>],
    name_of: impl Fn(&Element<'d>) -> &'d str,
    origin: Origin<'_>,
    schema: Option<&ClassSchema>,
    superclasses: &[String],
    depth: usize,
) -> Result<CimInstance> {
    let mut properties: Vec<CimProperty> = Vec::with_capacity(elements.len());
    // Repeated elements of one name are one array property, kept where its first element was.
    let mut i = 0;
    while i < elements.len() {
        let name = name_of(&elements[i]);
        let run = elements[i..].iter().take_while(|e| name_of(e) == name).count();
        let declared = schema.and_then(|s| s.property(name));
        properties.push(property(name, &elements[i..i + run], declared, origin, depth)?);
        i += run;
    }
    if let Some(schema) = schema {
        // Properties the class declares but the reply left out (a projection, or KeyOnly) stay absent,
        // as Windows shows only what came back; mark the keys the schema knows.
        for p in properties.iter_mut() {
            p.key = schema.property(&p.name).map_or(false, PropertySchema::is_key);
        }
    }
    Ok(CimInstance {
        namespace: origin.namespace.to_string(),
        class_name: class.to_string(),
        superclasses: superclasses.to_vec(),
        server_name: origin.server_name.to_string(),
        properties,
    })
}

/// Marks the properties called `names` as keys, when no property of `instance` is marked yet (the
/// names come from the selectors that found it, which are its keys; DSP0227 §7.1).
pub fn mark_keys<S: AsRef<str>>(instance: &mut CimInstance, names: &[S]) {
    if instance.properties.iter().any(|p| p.key) {
        return;
    }
    // A set: a hostile reply may have tens of thousands of both.
    let names: std::collections::HashSet<String> = names.iter().map(|n| n.as_ref().to_ascii_lowercase()).collect();
    for p in instance.properties.iter_mut() {
        p.key = names.contains(&p.name.to_ascii_lowercase());
    }
}

/// One property from its elements (several for an array), all called `name` on the wire, of an
/// instance embedded `depth` deep.
fn property(name: &str, elements: &[Element<'_>], declared: Option<&PropertySchema>, origin: Origin<'_>, depth: usize) -> Result<CimProperty> {
    let first = elements[0];
    let nil = |e: &Element<'_>| e.attr(NS_XSI, "nil").map_or(false, |v| v == "true" || v == "1");
    let cim_type = match declared {
        Some(d) => d.cim_type,
        None => {
            let scalar = inferred_type(first);
            if elements.len() > 1 && !scalar.is_array() {
                scalar.array_of()
            } else {
                scalar
            }
        }
    };
    let value = if elements.len() == 1 && nil(&first) {
        CimValue::Null
    } else if cim_type == CimType::UInt8Array && elements.len() == 1 && !first.has_children() && is_binary(first) {
        octets(name, first)?
    } else if cim_type.is_array() {
        let mut items = Vec::with_capacity(elements.len());
        for e in elements.iter().filter(|e| !nil(e)) {
            items.push(scalar(name, *e, cim_type.element(), origin, depth)?);
        }
        CimValue::Array(items)
    } else {
        scalar(name, first, cim_type, origin, depth)?
    };
    let name = declared.map_or_else(|| name.to_string(), |d| d.name.clone());
    Ok(CimProperty { name, cim_type, value, key: false })
}

fn is_binary(e: Element<'_>) -> bool {
    e.attr(NS_XSI, "type").map_or(false, |t| t.ends_with("cimBase64Binary") || t.ends_with("cimHexBinary"))
}

/// `cim:cimBase64Binary` / `cim:cimHexBinary` text as a byte array.
fn octets(name: &str, e: Element<'_>) -> Result<CimValue> {
    let text: String = e.trimmed().chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = if e.attr(NS_XSI, "type").map_or(false, |t| t.ends_with("cimHexBinary")) {
        (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()
    } else {
        base64::decode(&text).ok()
    };
    let bytes = bytes.ok_or_else(|| bad_value(name, &text, "binary"))?;
    Ok(CimValue::Array(bytes.into_iter().map(CimValue::UInt8).collect()))
}

fn inferred_type(e: Element<'_>) -> CimType {
    if let Some(t) = e.attr(NS_XSI, "type").and_then(type_of_xsi) {
        return t;
    }
    if e.child(NS_CIM_COMMON, "Datetime").is_some() || e.child(NS_CIM_COMMON, "Interval").is_some() || e.child(NS_CIM_COMMON, "Date").is_some() {
        return CimType::DateTime;
    }
    if e.child(NS_ADDRESSING, "ReferenceParameters").is_some() || e.child(NS_ADDRESSING, "Address").is_some() {
        return CimType::Reference;
    }
    if e.has_children() {
        return CimType::Instance;
    }
    CimType::String
}


/// One value of type `t` from element `e` (of property `name`, for errors), in an instance embedded
/// `depth` deep. Errors: BadReply for an instance that would be more than [`MAX_EMBEDDING`] deep.
fn scalar(name: &str, e: Element<'_>, t: CimType, origin: Origin<'_>, depth: usize) -> Result<CimValue> {
    Ok(match t {
        CimType::DateTime => {
            let inner = e.children().next().map_or(e.trimmed(), |c| c.trimmed());
            value_of_text(t, inner, name)?
        }
        CimType::Reference => CimValue::Reference(reference_text(e)),
        CimType::Instance => {
            if depth >= MAX_EMBEDDING {
                return Err(Error::new(
                    ErrorKind::BadReply,
                    format!("The server's reply embeds instances more than {MAX_EMBEDDING} deep, the most this client reads"),
                ));
            }
            // An embedded instance names its class in xsi:type (`Class_Type`), else by its first child.
            let mut inner = instance_at(e, Origin { class_hint: None, ..origin }, None, &[], depth + 1)?;
            if let Some(t) = e.attr(NS_XSI, "type") {
                let local = t.rsplit(':').next().unwrap_or(t);
                inner.class_name = local.strip_suffix("_Type").unwrap_or(local).to_string();
            }
            CimValue::Instance(Box::new(inner))
        }
        CimType::String => CimValue::String(e.text().to_string()),
        _ => value_of_text(t, e.trimmed(), name)?,
    })
}








/// An endpoint reference in CIM object-path form: `Class.Key1="v1",Key2="v2"` (the class is the last
/// segment of the resource URI; `__cimnamespace` becomes a `namespace:` prefix).
fn reference_text(e: Element<'_>) -> String {
    let params = e.child(NS_ADDRESSING, "ReferenceParameters");
    let uri = params.and_then(|p| p.child(NS_WSMAN, "ResourceURI")).map(|u| u.trimmed()).unwrap_or("");
    let class = uri.rsplit('/').next().unwrap_or(uri);
    let mut namespace = None;
    let mut keys = Vec::new();
    for s in params.and_then(|p| p.child(NS_WSMAN, "SelectorSet")).into_iter().flat_map(|set| set.children_named(NS_WSMAN, "Selector")) {
        let name = s.attr("", "Name").unwrap_or_default();
        if name == NAMESPACE_SELECTOR {
            namespace = Some(s.trimmed().to_string());
        } else {
            keys.push(format!("{name}=\"{}\"", s.trimmed().replace('\\', "\\\\").replace('"', "\\\"")));
        }
    }
    let prefix = namespace.map(|n| format!("{n}:")).unwrap_or_default();
    if keys.is_empty() {
        format!("{prefix}{class}")
    } else {
        format!("{prefix}{class}.{}", keys.join(","))
    }
}


#[cfg(test)]
mod tests {
    use super::*;


    #[test]
    fn class_declarations_with_keys_and_methods() {
        let xml = r#"<CLASS NAME="P" SUPERCLASS="B"><PROPERTY NAME="Key" TYPE="uint32"><QUALIFIER NAME="Key" TYPE="boolean"><VALUE>true</VALUE></QUALIFIER></PROPERTY><PROPERTY.ARRAY NAME="Tags" TYPE="string"/><PROPERTY.REFERENCE NAME="Peer" REFERENCECLASS="P"/><METHOD NAME="Add" TYPE="uint32"><PARAMETER NAME="X" TYPE="real32"/><PARAMETER.ARRAY NAME="Out" TYPE="sint64"/></METHOD></CLASS>"#;
        let schema = class_schema(crate::xml::Document::parse(xml.to_string(), "class").unwrap().root()).unwrap();
        assert_eq!(schema.superclass.as_deref(), Some("B"));
        let kinds: Vec<_> = schema.properties.iter().map(|p| (p.name.as_str(), p.cim_type, p.is_key())).collect();
        assert_eq!(kinds, [("Key", CimType::UInt32, true), ("Tags", CimType::StringArray, false), ("Peer", CimType::Reference, false)]);
        let out = schema.method("add").unwrap().output_schema();
        let kinds: Vec<_> = out.properties.iter().map(|p| (p.name.as_str(), p.cim_type)).collect();
        assert_eq!(kinds, [("ReturnValue", CimType::UInt32), ("X", CimType::Real32), ("Out", CimType::SInt64Array)]);
    }

    const ORIGIN: Origin<'static> = Origin { namespace: "root/test", server_name: "test", class_hint: None };

    /// An item whose `Inner` property holds an instance whose `Inner` holds one, `depth` times.
    fn embedded(depth: usize) -> String {
        format!("<p:X xmlns:p=\"urn:x\">{}<p:Value>1</p:Value>{}</p:X>", "<p:Inner>".repeat(depth), "</p:Inner>".repeat(depth))
    }

    #[test]
    fn large_classes_are_refused_and_many_properties_and_selectors_are_read() {
        let mut class = String::from("<CLASS NAME=\"X\">");
        for i in 0..=MAX_DECLARED {
            class.push_str(&format!("<PROPERTY NAME=\"b{i}\" TYPE=\"string\"/>"));
        }
        class.push_str("</CLASS>");
        let e = class_schema(crate::xml::Document::parse(class, "class").unwrap().root()).unwrap_err();
        assert!(e.message.contains(&MAX_DECLARED.to_string()), "{}", e.message);
        // The largest class there may be, and an item of 100k properties and 20k selectors in its EPR.
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
        let doc = crate::xml::Document::parse(item, "item").unwrap();
        // How long this takes beside parsing the item is a figure of the benchmark (tests/bench/worst_cases.rs).
        let read = instance(doc.root(), ORIGIN, Some(&schema), &[]).unwrap();
        assert_eq!(read.properties.iter().filter(|p| p.key).count(), 20_000);
    }

    #[test]
    fn instances_embedded_5000_deep_are_an_error_not_a_crash() {
        // The document reader refuses this depth already; should it not, the binding must.
        let outcome = crate::xml::Document::parse(embedded(5000), "item").and_then(|d| instance(d.root(), ORIGIN, None, &[]).map(|_| ()));
        assert!(outcome.is_err());
    }

    #[test]
    fn instances_embedded_past_the_limit_are_refused() {
        let deep = crate::xml::Document::parse(embedded(MAX_EMBEDDING + 1), "item").unwrap();
        let e = instance(deep.root(), ORIGIN, None, &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadReply);
        assert!(e.message.contains(&MAX_EMBEDDING.to_string()), "{}", e.message);
        let ok = crate::xml::Document::parse(embedded(MAX_EMBEDDING), "item").unwrap();
        let mut value = &instance(ok.root(), ORIGIN, None, &[]).unwrap().properties[0].value;
        for _ in 1..MAX_EMBEDDING {
            let CimValue::Instance(inner) = value else { panic!("{value:?}") };
            value = &inner.properties[0].value;
        }
    }
}
