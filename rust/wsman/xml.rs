//! A small namespace-aware element tree over quick-xml, for reading one SOAP envelope at a time (an
//! envelope is bounded by MaxEnvelopeSize, so a tree per envelope keeps memory flat while a long
//! enumeration streams), and the text escaping used when writing envelopes.

use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{Error, ErrorKind, Result};

/// An XML element: namespace URI (empty when none), local name, attributes, child elements in document
/// order, and its own text (text and CDATA directly inside it, unescaped, concatenated).
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub ns: Arc<str>,
    pub name: String,
    pub attrs: Vec<Attribute>,
    pub children: Vec<Element>,
    pub text: String,
}

/// An attribute other than a namespace declaration: namespace URI (empty for unprefixed), local name,
/// unescaped value.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub ns: Arc<str>,
    pub name: String,
    pub value: String,
}

impl Element {
    /// True when the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && &*self.ns == ns
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The first child with local name `name`, in any namespace.
    pub fn child_local(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child `{ns}name`.
    pub fn children_named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The value of attribute `{ns}name` (`ns` empty for an unprefixed attribute).
    pub fn attr(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.name == name && &*a.ns == ns).map(|a| a.value.as_str())
    }

    /// The element's own text without surrounding whitespace.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Parses a whole document and returns its root element.
/// Errors: InvalidArgument when the text is not well-formed XML (`what` names the document).
pub fn parse(text: &str, what: &str) -> Result<Element> {
    let bad = |detail: String| Error::new(ErrorKind::InvalidArgument, format!("{what} is not well-formed XML: {detail}"));
    let mut reader = NsReader::from_str(text);
    reader.trim_text(false);
    let mut names = Names::default();
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| bad(e.to_string()))?;
        match event {
            Event::Start(start) => stack.push(open(&reader, &mut names, &start).map_err(bad)?),
            Event::Empty(start) => {
                let element = open(&reader, &mut names, &start).map_err(bad)?;
                if let Some(root) = close(&mut stack, element) {
                    return Ok(root);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| bad("an end tag without a start".into()))?;
                if let Some(root) = close(&mut stack, element) {
                    return Ok(root);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.unescape().map_err(|e| bad(e.to_string()))?);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::Eof => return Err(bad("the document ends inside an element or has no root".into())),
            _ => {}
        }
    }
}

/// Adds a finished element to its parent, or returns it when it is the root.
fn close(stack: &mut [Element], element: Element) -> Option<Element> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(element);
            None
        }
        None => Some(element),
    }
}

/// Namespace URIs seen in one document, each stored once. A document uses a handful, so a short list
/// searched newest-first (consecutive elements mostly share one) beats hashing every URI.
#[derive(Default)]
struct Names(Vec<(Vec<u8>, Arc<str>)>);

fn intern(names: &mut Names, ns: &[u8]) -> Arc<str> {
    if let Some((_, n)) = names.0.iter().rev().find(|(bytes, _)| bytes.as_slice() == ns) {
        return Arc::clone(n);
    }
    let n: Arc<str> = Arc::from(String::from_utf8_lossy(ns).as_ref());
    names.0.push((ns.to_vec(), Arc::clone(&n)));
    n
}

fn namespace(names: &mut Names, resolved: ResolveResult) -> std::result::Result<Arc<str>, String> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(intern(names, ns.into_inner())),
        ResolveResult::Unbound => Ok(intern(names, b"")),
        // The `xml` prefix is bound by definition (Namespaces in XML 1.0 §3).
        ResolveResult::Unknown(prefix) if prefix == b"xml" => Ok(intern(names, b"http://www.w3.org/XML/1998/namespace")),
        ResolveResult::Unknown(prefix) => Err(format!("the prefix '{}' is not declared", String::from_utf8_lossy(&prefix))),
    }
}

fn open(reader: &NsReader<&[u8]>, names: &mut Names, start: &BytesStart) -> std::result::Result<Element, String> {
    let (ns, local) = reader.resolve_element(start.name());
    let name = String::from_utf8_lossy(local.into_inner()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        let (attr_ns, local) = reader.resolve_attribute(key);
        let value = attr.unescape_value().map_err(|e| e.to_string())?.into_owned();
        attrs.push(Attribute {
            ns: namespace(names, attr_ns)?,
            name: String::from_utf8_lossy(local.into_inner()).into_owned(),
            value,
        });
    }
    Ok(Element { ns: namespace(names, ns)?, name, attrs, children: Vec::new(), text: String::new() })
}

/// Escapes `text` for element content or a double-quoted attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_text_and_attributes() {
        let doc = r#"<a:R xmlns:a="urn:a" xmlns="urn:d"><b x="1" xml:lang="en" a:y="&lt;2"> t&amp;1 <![CDATA[<c>]]></b><a:e/></a:R>"#;
        let root = parse(doc, "test").unwrap();
        assert!(root.is("urn:a", "R"));
        let b = root.child("urn:d", "b").unwrap();
        assert_eq!(b.attr("", "x"), Some("1"));
        assert_eq!(b.attr("urn:a", "y"), Some("<2"));
        assert_eq!(b.attr("http://www.w3.org/XML/1998/namespace", "lang"), Some("en"));
        assert_eq!(b.trimmed(), "t&1 <c>");
        assert!(root.child("urn:a", "e").is_some());
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in ["<a><b></a>", "<a>", "not xml", "<p:a/>"] {
            assert_eq!(parse(doc, "reply").unwrap_err().kind, ErrorKind::InvalidArgument, "{doc}");
        }
    }
}
