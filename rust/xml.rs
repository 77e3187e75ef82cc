//! A small namespace-aware, read-only element tree over quick-xml, for reading one SOAP envelope at a
//! time (an envelope is bounded by MaxEnvelopeSize, so a tree per envelope keeps memory flat while a
//! long enumeration streams), and the text escaping used when writing envelopes.
//!
//! A [`Document`] keeps the text it was parsed from and lays its elements out in one table: names,
//! texts and attribute values are ranges of that text (or of a side buffer for the few that entity
//! references or split text change), so parsing allocates per document, not per element. An
//! [`Element`] is a cheap copyable view of one entry.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{Error, ErrorKind, Result};

/// Deepest nesting of elements a document may have, in elements (the root alone is 1 deep). A
/// WS-Management envelope nests about 10 deep, plus one level per embedded instance in a value.
pub const MAX_DEPTH: usize = 256;
/// Most attributes one element may have, namespace declarations included. quick-xml checks each
/// attribute against the element's earlier ones (cost grows with the square of their number), so this
/// also bounds that cost.
pub const MAX_ATTRIBUTES: usize = 256;
/// Most namespace declarations in scope at once (made by an element and its open ancestors). Each
/// prefixed name is looked up among them, so this bounds the cost of every lookup.
pub const MAX_NAMESPACE_DECLARATIONS: usize = 256;
/// Most distinct namespace URIs one document may use (each has a 16-bit index; index 0 is "none").
pub const MAX_NAMESPACES: usize = u16::MAX as usize;

/// A parsed XML document: its text and its elements, the root first, each before its descendants.
#[derive(Debug)]
pub struct Document {
    source: String,
    /// Texts that are not ranges of `source` (unescaped, or joined from several pieces).
    side: String,
    /// Namespace URIs, each stored once; index 0 is "no namespace".
    namespaces: Vec<Box<str>>,
    nodes: Vec<Node>,
    attributes: Vec<AttributeNode>,
}

/// Where a string of the document lies: a byte range of the source or of the side buffer.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
    in_side: bool,
}

/// No element (an absent child or sibling).
const NONE: u32 = u32::MAX;

#[derive(Debug)]
struct Node {
    namespace: u16,
    name: Span,
    /// Text and CDATA directly inside the element, unescaped, concatenated.
    text: Span,
    /// Its attributes: a range of the attribute table.
    attributes: (u32, u32),
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    child_count: u32,
}

/// An attribute other than a namespace declaration.
#[derive(Debug)]
struct AttributeNode {
    namespace: u16,
    name: Span,
    value: Span,
}

impl Document {
    /// Parses a whole document; the document keeps `text`. Parsing never recurses, and a document
    /// past a limit of this reader ([`MAX_DEPTH`], [`MAX_ATTRIBUTES`], [`MAX_NAMESPACE_DECLARATIONS`],
    /// [`MAX_NAMESPACES`]) is refused where the reader gets there, so any document costs time in
    /// proportion to its size.
    /// Errors: InvalidArgument when the text is not well-formed XML (`what` names the document; the
    /// parser's description is cut to 300 bytes), is larger than 4 GiB, or goes past a limit (the
    /// message names it).
    pub fn parse(text: String, what: &str) -> Result<Document> {
        let bad = |detail: String| Error::new(ErrorKind::InvalidArgument, format!("{what} is not well-formed XML: {}", cut(detail)));
        let problem = |p: Problem| match p {
            Problem::Malformed(detail) => bad(detail),
            Problem::Limit(detail) => Error::new(ErrorKind::InvalidArgument, format!("{what} is refused: {detail}")),
        };
        if u32::try_from(text.len()).is_err() {
            return Err(bad("it is larger than 4 GiB".into()));
        }
        let mut builder = Builder {
            source: &text,
            side: String::new(),
            namespaces: vec!["".into()],
            namespace_index: HashMap::new(),
            last_namespace: 0,
            // Envelopes take 40-70 bytes per element, so this is one allocation; of a large one only
            // the pages the elements fill become resident.
            nodes: Vec::with_capacity(text.len() / 32 + 8),
            attributes: Vec::new(),
            open: Vec::with_capacity(16),
            declared: Vec::with_capacity(16),
            more_text: Vec::new(),
        };
        let mut reader = NsReader::from_str(&text);
        reader.trim_text(false);
        loop {
            match reader.read_event().map_err(|e| bad(e.to_string()))? {
                Event::Start(start) => builder.open(&reader, &start).map_err(problem)?,
                Event::Empty(start) => {
                    builder.open(&reader, &start).map_err(problem)?;
                    if builder.close() {
                        break;
                    }
                }
                Event::End(_) => {
                    if builder.open.is_empty() {
                        return Err(bad("an end tag without a start".into()));
                    }
                    if builder.close() {
                        break;
                    }
                }
                Event::Text(t) => {
                    let raw = t.into_inner();
                    if raw.contains(&b'&') {
                        let t = quick_xml::escape::unescape(utf8(&raw).map_err(bad)?).map_err(|e| bad(e.to_string()))?;
                        builder.add_text(t.as_bytes());
                    } else {
                        builder.add_text(&raw);
                    }
                }
                Event::CData(c) => builder.add_text(&c.into_inner()),
                Event::Eof => return Err(bad("the document ends inside an element or has no root".into())),
                _ => {}
            }
        }
        builder.join_texts();
        let Builder { side, namespaces, nodes, attributes, .. } = builder;
        Ok(Document { source: text, side, namespaces, nodes, attributes })
    }

    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element { document: self, index: 0 }
    }

    /// The element at `index` (as [`Element::index`] gives it).
    /// Panics when no element of this document has that index.
    pub fn element(&self, index: u32) -> Element<'_> {
        assert!((index as usize) < self.nodes.len(), "element {index} of a {}-element document", self.nodes.len());
        Element { document: self, index }
    }

    fn text_of(&self, span: Span) -> &str {
        span.of(&self.source, &self.side)
    }
}

impl Span {
    /// The text this span names, in `source` or in `side`.
    fn of<'a>(self, source: &'a str, side: &'a str) -> &'a str {
        let whole = if self.in_side { side } else { source };
        whole.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// An element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Element<'d> {
    document: &'d Document,
    index: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{{{}}}{}>", self.ns(), self.name())
    }
}

impl<'d> Element<'d> {
    fn node(&self) -> &'d Node {
        &self.document.nodes[self.index as usize]
    }

    /// Its position in the document, for [`Document::element`].
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The namespace URI (empty when none).
    pub fn ns(&self) -> &'d str {
        &self.document.namespaces[usize::from(self.node().namespace)]
    }

    /// The local name.
    pub fn name(&self) -> &'d str {
        self.document.text_of(self.node().name)
    }

    /// The element's own text: text and CDATA directly inside it, unescaped, concatenated.
    pub fn text(&self) -> &'d str {
        self.document.text_of(self.node().text)
    }

    /// The element's own text without surrounding whitespace.
    pub fn trimmed(&self) -> &'d str {
        self.text().trim()
    }

    /// True when the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name() == name && self.ns() == ns
    }

    /// The child elements in document order.
    pub fn children(&self) -> Children<'d> {
        Children { document: self.document, next: self.node().first_child, left: self.node().child_count as usize }
    }

    /// True when the element has child elements.
    pub fn has_children(&self) -> bool {
        self.node().first_child != NONE
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.is(ns, name))
    }

    /// The first child with local name `name`, in any namespace.
    pub fn child_local(&self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name() == name)
    }

    /// Every child `{ns}name`.
    pub fn children_named<'a>(&self, ns: &'a str, name: &'a str) -> impl Iterator<Item = Element<'d>> + 'a
    where
        'd: 'a,
    {
        self.children().filter(move |c| c.is(ns, name))
    }

    /// Its attributes other than namespace declarations, in document order, as (namespace, local
    /// name, value).
    pub fn attributes(&self) -> impl Iterator<Item = (&'d str, &'d str, &'d str)> + 'd {
        let (start, end) = self.node().attributes;
        let document = self.document;
        document.attributes[start as usize..end as usize]
            .iter()
            .map(move |a| (&*document.namespaces[usize::from(a.namespace)], document.text_of(a.name), document.text_of(a.value)))
    }

    /// The value of attribute `{ns}name` (`ns` empty for an unprefixed attribute).
    pub fn attr(&self, ns: &str, name: &str) -> Option<&'d str> {
        let (start, end) = self.node().attributes;
        let document = self.document;
        document.attributes[start as usize..end as usize]
            .iter()
            .find(|a| document.text_of(a.name) == name && &*document.namespaces[usize::from(a.namespace)] == ns)
            .map(|a| document.text_of(a.value))
    }
}

/// The child elements of an element, in document order.
#[derive(Clone)]
pub struct Children<'d> {
    document: &'d Document,
    next: u32,
    left: usize,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;

    fn next(&mut self) -> Option<Element<'d>> {
        if self.next == NONE {
            return None;
        }
        let element = Element { document: self.document, index: self.next };
        self.next = element.node().next_sibling;
        self.left -= 1;
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Children<'_> {}

/// Why an element could not be added.
enum Problem {
    /// The document is not well-formed XML (what is wrong).
    Malformed(String),
    /// The document goes past a limit of this reader (which, in words that name it).
    Limit(String),
}

/// A document while it is parsed.
struct Builder<'s> {
    source: &'s str,
    side: String,
    namespaces: Vec<Box<str>>,
    /// Where each URI of `namespaces` is (a hostile document may use tens of thousands).
    namespace_index: HashMap<Box<str>, u16>,
    /// The namespace found last: consecutive names mostly share one.
    last_namespace: u16,
    nodes: Vec<Node>,
    attributes: Vec<AttributeNode>,
    /// The elements not closed yet, outermost first.
    open: Vec<u32>,
    /// For each open element, the namespace declarations in scope inside it (its own and its
    /// ancestors').
    declared: Vec<usize>,
    /// Text pieces after an element's first (text around its children, CDATA sections), in document
    /// order; joined once parsing ends, so that many pieces cost linear time.
    more_text: Vec<(u32, Span)>,
}

impl Builder<'_> {
    /// Where `s` lies: in the source when it is a slice of it, else copied to the side buffer. `s` is
    /// UTF-8 text that starts and ends at character boundaries (the reader cuts names and texts at
    /// ASCII delimiters); should it not be, it reads as empty.
    fn span(&mut self, s: &[u8]) -> Span {
        let base = self.source.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        if at >= base && at + s.len() <= base + self.source.len() {
            let start = (at - base) as u32;
            return Span { start, end: start + s.len() as u32, in_side: false };
        }
        let start = self.side.len() as u32;
        self.side.push_str(std::str::from_utf8(s).unwrap_or_default());
        Span { start, end: self.side.len() as u32, in_side: true }
    }

    /// The index of namespace `uri`: the last one found again, else looked up in the index.
    fn namespace(&mut self, resolved: ResolveResult) -> std::result::Result<u16, Problem> {
        let uri: &[u8] = match resolved {
            ResolveResult::Bound(ns) => ns.into_inner(),
            ResolveResult::Unbound => return Ok(0),
            // The `xml` prefix is bound by definition (Namespaces in XML 1.0 §3).
            ResolveResult::Unknown(prefix) if prefix == b"xml" => b"http://www.w3.org/XML/1998/namespace",
            ResolveResult::Unknown(prefix) => {
                return Err(Problem::Malformed(format!("the prefix '{}' is not declared", String::from_utf8_lossy(&prefix))))
            }
        };
        if self.namespaces[usize::from(self.last_namespace)].as_bytes() == uri {
            return Ok(self.last_namespace);
        }
        let uri = std::str::from_utf8(uri).map_err(|e| Problem::Malformed(e.to_string()))?;
        let index = match self.namespace_index.get(uri) {
            Some(&i) => i,
            None => {
                if self.namespaces.len() > MAX_NAMESPACES {
                    return Err(Problem::Limit(format!("it uses more than {MAX_NAMESPACES} namespace URIs, the most this reader takes")));
                }
                let i = self.namespaces.len() as u16;
                self.namespaces.push(uri.into());
                self.namespace_index.insert(uri.into(), i);
                i
            }
        };
        self.last_namespace = index;
        Ok(index)
    }

    /// Adds the element `start` opens as the last child of the innermost open element. Checks the
    /// limits first, before any name of it is looked up.
    fn open(&mut self, reader: &NsReader<&[u8]>, start: &BytesStart) -> std::result::Result<(), Problem> {
        if self.open.len() >= MAX_DEPTH {
            return Err(Problem::Limit(format!("it nests elements more than {MAX_DEPTH} deep, the most this reader takes")));
        }
        let mut declarations = self.declared.last().copied().unwrap_or(0);
        // Most elements have no attributes: skip the attribute parser for those.
        let has_attributes = start.attributes_raw().iter().any(|b| !b.is_ascii_whitespace());
        if has_attributes {
            // Without quick-xml's duplicate checks (their cost grows with the square of the count);
            // the loop below makes them once the count is known to be small.
            let mut count = 0;
            for attr in start.attributes().with_checks(false) {
                let attr = attr.map_err(|e| Problem::Malformed(e.to_string()))?;
                count += 1;
                if count > MAX_ATTRIBUTES {
                    return Err(Problem::Limit(format!("an element has more than {MAX_ATTRIBUTES} attributes, the most this reader takes")));
                }
                declarations += usize::from(attr.key.as_namespace_binding().is_some());
            }
            if declarations > MAX_NAMESPACE_DECLARATIONS {
                return Err(Problem::Limit(format!(
                    "it has more than {MAX_NAMESPACE_DECLARATIONS} namespace declarations in scope at once, the most this reader takes"
                )));
            }
        }
        let malformed = |e: quick_xml::Error| Problem::Malformed(e.to_string());
        let (ns, local) = reader.resolve_element(start.name());
        let namespace = self.namespace(ns)?;
        let name = self.span(local.into_inner());
        let first_attribute = self.attributes.len() as u32;
        if has_attributes {
            for attr in start.attributes() {
                let attr = attr.map_err(|e| malformed(e.into()))?;
                if attr.key.as_namespace_binding().is_some() {
                    continue;
                }
                let (attr_ns, local) = reader.resolve_attribute(attr.key);
                let namespace = self.namespace(attr_ns)?;
                let name = self.span(local.into_inner());
                let value = attr.unescape_value().map_err(malformed)?;
                let value = self.span(value.as_bytes());
                self.attributes.push(AttributeNode { namespace, name, value });
            }
        }
        let index = u32::try_from(self.nodes.len()).map_err(|_| Problem::Limit("it has more elements than this reader takes".into()))?;
        self.nodes.push(Node {
            namespace,
            name,
            text: Span::default(),
            attributes: (first_attribute, self.attributes.len() as u32),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            child_count: 0,
        });
        if let Some(&parent) = self.open.last() {
            self.nodes[parent as usize].child_count += 1;
            let previous = std::mem::replace(&mut self.nodes[parent as usize].last_child, index);
            match previous {
                NONE => self.nodes[parent as usize].first_child = index,
                sibling => self.nodes[sibling as usize].next_sibling = index,
            }
        }
        self.open.push(index);
        self.declared.push(declarations);
        Ok(())
    }

    /// Closes the innermost open element; true when that was the root.
    fn close(&mut self) -> bool {
        self.open.pop();
        self.declared.pop();
        self.open.is_empty()
    }

    /// Adds `t` to the innermost open element's text (text outside the root is ignored); `t` as for
    /// [`Builder::span`].
    fn add_text(&mut self, t: &[u8]) {
        let Some(&top) = self.open.last() else { return };
        if t.is_empty() {
            return;
        }
        let piece = self.span(t);
        let text = &mut self.nodes[top as usize].text;
        if text.start == text.end {
            *text = piece;
        } else {
            self.more_text.push((top, piece));
        }
    }

    /// Gives each element with several text pieces one text, the pieces joined in order.
    fn join_texts(&mut self) {
        let mut more = std::mem::take(&mut self.more_text);
        // A stable sort keeps each element's pieces in document order.
        more.sort_by_key(|&(node, _)| node);
        for pieces in more.chunk_by(|a, b| a.0 == b.0) {
            let node = pieces[0].0 as usize;
            let mut joined = self.text_of(self.nodes[node].text).to_string();
            pieces.iter().for_each(|&(_, piece)| joined.push_str(self.text_of(piece)));
            let start = self.side.len() as u32;
            self.side.push_str(&joined);
            self.nodes[node].text = Span { start, end: self.side.len() as u32, in_side: true };
        }
    }

    fn text_of(&self, span: Span) -> &str {
        span.of(self.source, &self.side)
    }
}

/// Most bytes of the parser's description of a fault in a document that a message carries (it may
/// quote names of the document, which a hostile one makes huge).
const MAX_DETAIL: usize = 300;

/// `detail` cut to [`MAX_DETAIL`] bytes at a character boundary, with `…` where it was cut.
fn cut(mut detail: String) -> String {
    if detail.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push('…');
    }
    detail
}

fn utf8(bytes: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Escapes `text` for element content or a double-quoted attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Result<Document> {
        Document::parse(doc.to_string(), "test")
    }

    #[test]
    fn namespaces_text_and_attributes() {
        let doc = parse(r#"<a:R xmlns:a="urn:a" xmlns="urn:d"><b x="1" xml:lang="en" a:y="&lt;2"> t&amp;1 <![CDATA[<c>]]></b><a:e/></a:R>"#).unwrap();
        let root = doc.root();
        assert!(root.is("urn:a", "R"));
        let b = root.child("urn:d", "b").unwrap();
        assert_eq!(b.attr("", "x"), Some("1"));
        assert_eq!(b.attr("urn:a", "y"), Some("<2"));
        assert_eq!(b.attr("http://www.w3.org/XML/1998/namespace", "lang"), Some("en"));
        assert_eq!(b.attr("", "xmlns"), None);
        assert_eq!(b.trimmed(), "t&1 <c>");
        assert!(root.child("urn:a", "e").is_some());
        assert_eq!(root.children().map(|c| c.name()).collect::<Vec<_>>(), ["b", "e"]);
        assert_eq!(doc.element(b.index()).name(), "b");
    }

    #[test]
    fn text_split_by_children_is_joined_and_nesting_is_kept() {
        let doc = parse("<r>a<x>1<y>2</y>3</x>b&amp;<z/>c</r>").unwrap();
        let r = doc.root();
        assert_eq!(r.text(), "ab&c");
        let x = r.child_local("x").unwrap();
        assert_eq!((x.text(), x.child_local("y").unwrap().text()), ("13", "2"));
        assert!(x.has_children() && !r.child_local("z").unwrap().has_children());
        assert_eq!((r.children().count(), r.children().len(), x.children().len()), (2, 2, 1));
    }

    #[test]
    fn many_pieces_of_text_join_in_order() {
        // Pretty-printed: a newline before every child, and a child with an entity between them.
        let mut doc = String::from("<r>");
        for i in 0..20_000 {
            doc.push_str(&format!("\n<c>{i}&amp;</c>"));
        }
        doc.push_str("\n<![CDATA[end]]></r>");
        let doc = parse(&doc).unwrap();
        let r = doc.root();
        // A newline before each child and one before the CDATA section.
        let expected = format!("{}end", "\n".repeat(20_001));
        assert!(r.text() == expected, "the root's text is {} bytes, not {}", r.text().len(), expected.len());
        assert_eq!(r.children().len(), 20_000);
        assert_eq!(r.children().last().unwrap().text(), "19999&");
        // The side buffer holds each unescaped text and each joined text once.
        assert!(doc.side.len() < 200_000, "{}", doc.side.len());
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in ["<a><b></a>", "<a>", "not xml", "<p:a/>", "</a>"] {
            assert_eq!(parse(doc).unwrap_err().kind, ErrorKind::InvalidArgument, "{doc}");
        }
    }

    /// Parses `doc`. The hostile documents below end in the error of the limit they pass (the limit is
    /// what stops the reading); how long the once-quadratic ones take is a figure of the benchmark
    /// (tests/bench/worst_cases.rs), not a bound of these tests.
    fn parsed(doc: String) -> Result<Document> {
        Document::parse(doc, "test")
    }

    #[test]
    fn elements_nested_past_the_limit_are_refused() {
        let depth = 100_000;
        let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let e = parsed(doc).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains(&MAX_DEPTH.to_string()), "{}", e.message);
        let ok = MAX_DEPTH as usize;
        assert!(parse(&format!("{}{}", "<a>".repeat(ok), "</a>".repeat(ok))).is_ok());
    }

    #[test]
    fn an_element_with_300k_attributes_is_refused() {
        let mut doc = String::from("<r");
        for i in 0..300_000 {
            doc.push_str(&format!(" a{i}=\"\""));
        }
        doc.push_str("/>");
        let e = parsed(doc).unwrap_err();
        assert!(e.message.contains(&MAX_ATTRIBUTES.to_string()), "{}", e.message);
    }

    #[test]
    fn nested_namespace_declarations_are_refused() {
        // 120k elements, each declaring a prefix and named with the first one.
        let n = 120_000;
        let mut doc = String::new();
        for i in 0..n {
            doc.push_str(&format!("<p0:e xmlns:p{i}=\"urn:{i}\">"));
        }
        doc.push_str(&"</p0:e>".repeat(n));
        assert!(parsed(doc).is_err());
        // All on one element, with children named by the first prefix.
        let mut doc = String::from("<r");
        for i in 0..n {
            doc.push_str(&format!(" xmlns:p{i}=\"urn:{i}\""));
        }
        doc.push('>');
        doc.push_str(&"<p0:c/>".repeat(n));
        doc.push_str("</r>");
        let e = parsed(doc).unwrap_err();
        assert!(e.message.contains(&MAX_NAMESPACE_DECLARATIONS.to_string()), "{}", e.message);
    }

    #[test]
    fn sixty_five_thousand_namespace_uris_parse() {
        let mut doc = String::from("<r>");
        for i in 0..65_000 {
            doc.push_str(&format!("<e xmlns=\"urn:n{i}\"/>"));
        }
        doc.push_str("</r>");
        let doc = parsed(doc).unwrap();
        assert_eq!(doc.root().children().last().unwrap().ns(), "urn:n64999");
        // One more URI than an index holds is an error, not a wrong namespace.
        let mut doc = String::from("<r>");
        for i in 0..70_000 {
            doc.push_str(&format!("<e xmlns=\"urn:n{i}\"/>"));
        }
        doc.push_str("</r>");
        assert!(parsed(doc).is_err());
    }
}
