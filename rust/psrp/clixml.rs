//! CLIXML, PowerShell's serialization of objects (MS-PSRP 2.2.5): a typed tree of [`Value`]s read from
//! and written to the XML that PSRP messages carry.
//!
//! - Primitive types (2.2.5.1) are elements named by type: `<S>` string, `<I32>` int, `<DT>` DateTime,
//!   `<BA>` byte[] (base64), `<Nil/>` null, …; inside a complex object each also has its name in `N`.
//! - Complex objects (2.2.5.2) are `<Obj RefId="n">` with type names (`<TN>`, or `<TNRef>` to a list
//!   already given), `<ToString>`, the value they wrap, a collection (`<LST>`, `<IE>`, `<STK>`, `<QUE>`;
//!   `<DCT>` of `<En>` key/value pairs), adapted properties (`<Props>`) and extended ones (`<MS>`).
//!   `<Ref RefId="n"/>` names an object given earlier, which is shared, not copied, so memory stays
//!   bounded by the input.
//! - Strings encode characters XML cannot carry, and an underscore that could start such a code, as
//!   `_xHHHH_` (UTF-16 code units in hex; 2.2.5.3.2).
//!
//! Malformed input is an error (BadReply), never a panic; depth is bounded by the XML reader's limit.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::xml::{escape, Document, Element};

/// A value in CLIXML.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<Nil/>`.
    Null,
    /// `<S>`: System.String.
    String(String),
    /// `<C>`: System.Char, a UTF-16 code unit.
    Char(u16),
    /// `<B>`: System.Boolean.
    Bool(bool),
    /// `<DT>`: System.DateTime, as its xs:dateTime text (e.g. `2008-04-11T10:42:32.2731993-07:00`).
    DateTime(String),
    /// `<TS>`: System.TimeSpan, as its xs:duration text (e.g. `PT9.0269026S`).
    Duration(String),
    /// `<By>`: System.Byte.
    UInt8(u8),
    /// `<SB>`: System.SByte.
    Int8(i8),
    /// `<U16>`.
    UInt16(u16),
    /// `<I16>`.
    Int16(i16),
    /// `<U32>`.
    UInt32(u32),
    /// `<I32>`.
    Int32(i32),
    /// `<U64>`.
    UInt64(u64),
    /// `<I64>`.
    Int64(i64),
    /// `<Sg>`: System.Single.
    Single(f32),
    /// `<Db>`: System.Double.
    Double(f64),
    /// `<D>`: System.Decimal, as its text (e.g. `3.14`).
    Decimal(String),
    /// `<BA>`: byte[].
    Bytes(Vec<u8>),
    /// `<G>`: System.Guid.
    Guid(Uuid),
    /// `<URI>`: System.Uri.
    Uri(String),
    /// `<Version>`: System.Version, as its text (e.g. `2.3`).
    Version(String),
    /// `<XD>`: System.Xml.XmlDocument, as its XML text.
    XmlDocument(String),
    /// `<SBK>`: System.Management.Automation.ScriptBlock, as its text.
    ScriptBlock(String),
    /// `<SS>`: System.Security.SecureString, the bytes encrypted with the session key (2.2.5.1.24).
    SecureString(Vec<u8>),
    /// A SecureString's plain text, held on this side only: what a caller sends (encrypted with the
    /// session key when its message is written, [`seal_secrets`]) and what the server sent once
    /// decrypted ([`open_secrets`]). Written without a key it is an empty `<SS />`.
    Secret(Secret),
    /// `<Obj>` or `<Ref>`: a complex object.
    Object(Arc<Object>),
}

/// The plain text of a SecureString, zeroed when dropped; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Holds `text` (taken, not copied).
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    /// The plain text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The text as UTF-16LE, as a SecureString holds it (the caller wipes the bytes).
    pub fn to_utf16le(&self) -> Vec<u8> {
        self.0.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// Text from UTF-16LE bytes (unpaired surrogates become U+FFFD). Errors (BadReply): an odd length.
    pub fn from_utf16le(bytes: &[u8]) -> Result<Secret> {
        if bytes.len() % 2 != 0 {
            return Err(bad("a SecureString's decrypted text is not UTF-16".to_string()));
        }
        let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        Ok(Secret(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()))
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zeros are valid UTF-8; the string is not used after this.
        crate::auth::session_key::wipe(unsafe { self.0.as_bytes_mut() });
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Whether `value` holds a SecureString (`Secret` when `plain`, else the encrypted `SecureString`)
/// anywhere, objects shared by `<Ref>` looked at once.
pub fn has_secrets(value: &Value, plain: bool) -> bool {
    fn walk(v: &Value, plain: bool, seen: &mut HashMap<*const Object, bool>) -> bool {
        match v {
            Value::Secret(_) => plain,
            Value::SecureString(_) => !plain,
            Value::Object(o) => {
                let key = Arc::as_ptr(o);
                if let Some(found) = seen.get(&key) {
                    return *found;
                }
                seen.insert(key, false);
                let found = o.value.iter().any(|v| walk(v, plain, seen))
                    || o.adapted.iter().chain(&o.extended).any(|(_, v)| walk(v, plain, seen))
                    || match &o.items {
                        Some(Collection::List(_, items)) => items.iter().any(|v| walk(v, plain, seen)),
                        Some(Collection::Dictionary(entries)) => entries.iter().any(|(k, v)| walk(k, plain, seen) || walk(v, plain, seen)),
                        None => false,
                    };
                seen.insert(key, found);
                found
            }
            _ => false,
        }
    }
    walk(value, plain, &mut HashMap::new())
}

/// `value` with each leaf `f` changes replaced (f gives None to keep it), objects rebuilt only where
/// something changed and shared ones rebuilt once.
fn map_leaves(value: &Value, f: &mut dyn FnMut(&Value) -> Result<Option<Value>>) -> Result<Value> {
    fn walk(v: &Value, f: &mut dyn FnMut(&Value) -> Result<Option<Value>>, done: &mut HashMap<*const Object, Arc<Object>>) -> Result<Value> {
        let Value::Object(o) = v else { return Ok(f(v)?.unwrap_or_else(|| v.clone())) };
        if let Some(made) = done.get(&Arc::as_ptr(o)) {
            return Ok(Value::Object(Arc::clone(made)));
        }
        let mut new = Object { type_names: Arc::clone(&o.type_names), to_string: o.to_string.clone(), ..Default::default() };
        new.value = o.value.as_ref().map(|v| walk(v, f, done)).transpose()?;
        new.adapted = o.adapted.iter().map(|(n, v)| Ok((n.clone(), walk(v, f, done)?))).collect::<Result<_>>()?;
        new.extended = o.extended.iter().map(|(n, v)| Ok((n.clone(), walk(v, f, done)?))).collect::<Result<_>>()?;
        new.items = match &o.items {
            Some(Collection::List(kind, items)) => Some(Collection::List(*kind, items.iter().map(|v| walk(v, f, done)).collect::<Result<_>>()?)),
            Some(Collection::Dictionary(entries)) => Some(Collection::Dictionary(entries.iter().map(|(k, v)| Ok((walk(k, f, done)?, walk(v, f, done)?))).collect::<Result<_>>()?)),
            None => None,
        };
        let made = Arc::new(new);
        done.insert(Arc::as_ptr(o), Arc::clone(&made));
        Ok(Value::Object(made))
    }
    walk(value, f, &mut HashMap::new())
}

/// `value` with each plain [`Value::Secret`] encrypted by `encrypt` (from its UTF-16LE bytes) into a
/// [`Value::SecureString`], for sending (MS-PSRP 2.2.5.1.24). Errors: what `encrypt` returns.
pub fn seal_secrets(value: &Value, encrypt: &mut dyn FnMut(&[u8]) -> Result<Vec<u8>>) -> Result<Value> {
    if !has_secrets(value, true) {
        return Ok(value.clone());
    }
    map_leaves(value, &mut |v| match v {
        Value::Secret(s) => {
            let mut plain = s.to_utf16le();
            let sealed = encrypt(&plain);
            crate::auth::session_key::wipe(&mut plain);
            Ok(Some(Value::SecureString(sealed?)))
        }
        _ => Ok(None),
    })
}

/// `value` with each encrypted [`Value::SecureString`] decrypted by `decrypt` (to UTF-16LE bytes) into
/// a [`Value::Secret`]. Errors: what `decrypt` returns; BadReply for text that is not UTF-16.
pub fn open_secrets(value: &Value, decrypt: &mut dyn FnMut(&[u8]) -> Result<Vec<u8>>) -> Result<Value> {
    if !has_secrets(value, false) {
        return Ok(value.clone());
    }
    map_leaves(value, &mut |v| match v {
        Value::SecureString(b) => {
            let mut plain = decrypt(b)?;
            let secret = Secret::from_utf16le(&plain);
            crate::auth::session_key::wipe(&mut plain);
            Ok(Some(Value::Secret(secret?)))
        }
        _ => Ok(None),
    })
}

/// What kind of list a complex object is (2.2.5.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `<LST>`: a list (e.g. System.Collections.ArrayList).
    List,
    /// `<IE>`: any other enumerable (e.g. an array).
    Enumerable,
    /// `<STK>`: a stack.
    Stack,
    /// `<QUE>`: a queue.
    Queue,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::List => "LST",
            ListKind::Enumerable => "IE",
            ListKind::Stack => "STK",
            ListKind::Queue => "QUE",
        }
    }
}

/// The items of a complex object that is a collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// A list, in order.
    List(ListKind, Vec<Value>),
    /// `<DCT>`: a dictionary's entries, in order.
    Dictionary(Vec<(Value, Value)>),
}

/// A complex object (2.2.5.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// Its type names, most derived first (e.g. `System.Collections.Hashtable`, `System.Object`);
    /// `Deserialized.` prefixes as the sender wrote them.
    pub type_names: Arc<Vec<String>>,
    /// `<ToString>`: how it shows as text.
    pub to_string: Option<String>,
    /// The primitive value it wraps (an enum's number, a string with notes), if any.
    pub value: Option<Value>,
    /// Its items, when it is a collection.
    pub items: Option<Collection>,
    /// `<Props>`: adapted properties, in order.
    pub adapted: Vec<(String, Value)>,
    /// `<MS>`: extended (note) properties, in order.
    pub extended: Vec<(String, Value)>,
}

impl Object {
    /// A property by name (case-insensitive, as PowerShell looks them up): extended first, then adapted.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.extended.iter().chain(&self.adapted).find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

impl Value {
    /// The text of a string value, else None.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The complex object, else None.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// An integer value of any integer type (and an object wrapping one, as an enum is) as i64;
    /// None otherwise or when a UInt64 does not fit.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match self {
            Value::UInt8(v) => i64::from(*v),
            Value::Int8(v) => i64::from(*v),
            Value::UInt16(v) => i64::from(*v),
            Value::Int16(v) => i64::from(*v),
            Value::UInt32(v) => i64::from(*v),
            Value::Int32(v) => i64::from(*v),
            Value::UInt64(v) => i64::try_from(*v).ok()?,
            Value::Int64(v) => *v,
            Value::Object(o) => return o.value.as_ref()?.as_i64(),
            _ => return None,
        })
    }

    /// A property of a complex object by name, else None.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.as_object()?.property(name)
    }

    /// The value as text, as PowerShell turns it into a string: a string as it is, numbers in invariant
    /// form, `True`/`False`, a DateTime or TimeSpan as its wire text, a GUID in lower-case hyphenated
    /// form, a byte array or a list as its items separated by spaces, a complex object as its
    /// `<ToString>` (else its wrapped value's text, else its type name), null as empty text. A
    /// SecureString shows only its type name.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::String(s) | Value::DateTime(s) | Value::Duration(s) | Value::Decimal(s) | Value::Uri(s) | Value::Version(s) | Value::XmlDocument(s) | Value::ScriptBlock(s) => s.clone(),
            Value::Char(c) => char::decode_utf16([*c]).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::UInt8(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::UInt16(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::UInt32(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::UInt64(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Single(v) => v.to_string(),
            Value::Double(v) => v.to_string(),
            Value::Bytes(b) => b.iter().map(u8::to_string).collect::<Vec<_>>().join(" "),
            Value::Guid(g) => g.hyphenated().to_string(),
            Value::SecureString(_) | Value::Secret(_) => "System.Security.SecureString".to_string(),
            Value::Object(o) => match (&o.to_string, &o.value, &o.items) {
                (Some(text), _, _) => text.clone(),
                (None, Some(v), _) => v.to_text(),
                (None, None, Some(Collection::List(_, items))) => items.iter().map(Value::to_text).collect::<Vec<_>>().join(" "),
                _ => o.type_names.first().map(|t| t.trim_start_matches("Deserialized.").to_string()).unwrap_or_default(),
            },
        }
    }
}

/// Reads one value from CLIXML text (a PSRP message's data: one element, a primitive or an `<Obj>`).
/// Errors (BadReply): XML that does not parse, an unknown element, a value that does not read as its
/// type, a `<Ref>` or `<TNRef>` to nothing given before.
pub fn parse(text: &str) -> Result<Value> {
    let document = Document::parse(text.to_string(), "CLIXML").map_err(|e| Error::new(ErrorKind::BadReply, e.message))?;
    Reader::default().value(document.root())
}

/// Reads one value as [`parse`] does, also from the `<Objs>` document PowerShell's
/// `PSSerializer.Serialize` and `Export-Clixml` write around it (which must then hold exactly one value).
/// Errors (BadReply): as [`parse`]; an `<Objs>` with no value or more than one.
pub fn parse_one(text: &str) -> Result<Value> {
    let document = Document::parse(text.to_string(), "CLIXML").map_err(|e| Error::new(ErrorKind::BadReply, e.message))?;
    let root = document.root();
    if root.name() != "Objs" {
        return Reader::default().value(root);
    }
    let mut values = root.children();
    match (values.next(), values.next()) {
        (Some(only), None) => Reader::default().value(only),
        (None, _) => Err(bad("<Objs> holds no value".to_string())),
        _ => Err(bad("<Objs> holds more than one value".to_string())),
    }
}

/// Objects and type name lists by RefId, as given so far.
#[derive(Default)]
struct Reader {
    objects: HashMap<String, Arc<Object>>,
    type_names: HashMap<String, Arc<Vec<String>>>,
}

impl Reader {
    fn value(&mut self, e: Element<'_>) -> Result<Value> {
        let text = e.text();
        Ok(match e.name() {
            "Nil" => Value::Null,
            "S" => Value::String(decode(text)),
            "C" => Value::Char(number(e)?),
            "B" => Value::Bool(match text.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => return Err(bad(format!("<B> holds '{other}'"))),
            }),
            "DT" => Value::DateTime(text.trim().to_string()),
            "TS" => Value::Duration(text.trim().to_string()),
            "By" => Value::UInt8(number(e)?),
            "SB" => Value::Int8(number(e)?),
            "U16" => Value::UInt16(number(e)?),
            "I16" => Value::Int16(number(e)?),
            "U32" => Value::UInt32(number(e)?),
            "I32" => Value::Int32(number(e)?),
            "U64" => Value::UInt64(number(e)?),
            "I64" => Value::Int64(number(e)?),
            "Sg" => Value::Single(float(e)? as f32),
            "Db" => Value::Double(float(e)?),
            "D" => Value::Decimal(text.trim().to_string()),
            "BA" => Value::Bytes(base64(e)?),
            "SS" => Value::SecureString(base64(e)?),
            "G" => Value::Guid(Uuid::parse_str(text.trim()).map_err(|_| bad(format!("<G> holds '{}'", text.trim())))?),
            "URI" => Value::Uri(decode(text)),
            "Version" => Value::Version(text.trim().to_string()),
            "XD" => Value::XmlDocument(decode(text)),
            "SBK" => Value::ScriptBlock(decode(text)),
            "Ref" => {
                let id = e.attr("", "RefId").ok_or_else(|| bad("<Ref> without a RefId".into()))?;
                Value::Object(self.objects.get(id).cloned().ok_or_else(|| bad(format!("<Ref RefId=\"{id}\"> names no object given before")))?)
            }
            "Obj" => Value::Object(self.object(e)?),
            other => return Err(bad(format!("unknown element <{other}>"))),
        })
    }

    fn object(&mut self, e: Element<'_>) -> Result<Arc<Object>> {
        let mut o = Object::default();
        for c in e.children() {
            match c.name() {
                "TN" => {
                    let names: Vec<String> = c.children().filter(|t| t.name() == "T").map(|t| decode(t.text())).collect();
                    let names = Arc::new(names);
                    if let Some(id) = c.attr("", "RefId") {
                        self.type_names.insert(id.to_string(), Arc::clone(&names));
                    }
                    o.type_names = names;
                }
                "TNRef" => {
                    let id = c.attr("", "RefId").unwrap_or_default();
                    o.type_names = self.type_names.get(id).cloned().ok_or_else(|| bad(format!("<TNRef RefId=\"{id}\"> names no type list given before")))?;
                }
                "ToString" => o.to_string = Some(decode(c.text())),
                "LST" | "IE" | "STK" | "QUE" => {
                    let kind = match c.name() {
                        "LST" => ListKind::List,
                        "IE" => ListKind::Enumerable,
                        "STK" => ListKind::Stack,
                        _ => ListKind::Queue,
                    };
                    let items = c.children().map(|i| self.value(i)).collect::<Result<Vec<_>>>()?;
                    o.items = Some(Collection::List(kind, items));
                }
                "DCT" => {
                    let mut entries = Vec::new();
                    for en in c.children() {
                        let named = |n: &str| en.children().find(|k| k.attr("", "N") == Some(n));
                        let (Some(k), Some(v)) = (named("Key"), named("Value")) else {
                            return Err(bad("a dictionary entry without a Key and a Value".into()));
                        };
                        entries.push((self.value(k)?, self.value(v)?));
                    }
                    o.items = Some(Collection::Dictionary(entries));
                }
                "Props" | "MS" => {
                    let mut properties = Vec::new();
                    for p in c.children() {
                        let name = p.attr("", "N").map(decode).ok_or_else(|| bad(format!("a property <{}> without a name (N)", p.name())))?;
                        properties.push((name, self.value(p)?));
                    }
                    if c.name() == "Props" {
                        o.adapted = properties;
                    } else {
                        o.extended = properties;
                    }
                }
                _ => o.value = Some(self.value(c)?),
            }
        }
        let o = Arc::new(o);
        if let Some(id) = e.attr("", "RefId") {
            self.objects.insert(id.to_string(), Arc::clone(&o));
        }
        Ok(o)
    }
}

fn number<T: std::str::FromStr>(e: Element<'_>) -> Result<T> {
    e.trimmed().parse().map_err(|_| bad(format!("<{}> holds '{}'", e.name(), e.trimmed())))
}

/// xs:double: digits, and INF, -INF, NaN.
fn float(e: Element<'_>) -> Result<f64> {
    match e.trimmed() {
        "INF" | "Infinity" => Ok(f64::INFINITY),
        "-INF" | "-Infinity" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => number(e),
    }
}

fn base64(e: Element<'_>) -> Result<Vec<u8>> {
    let text: String = e.text().split_ascii_whitespace().collect();
    base64::decode(text).map_err(|_| bad(format!("<{}> is not base64", e.name())))
}

/// Reverses the `_xHHHH_` encoding of strings (2.2.5.3.2): each code is a UTF-16 code unit; unpaired
/// surrogates become U+FFFD.
pub fn decode(text: &str) -> String {
    if !text.contains("_x") {
        return text.to_string();
    }
    let mut units: Vec<u16> = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        if bytes[i] == b'_' && bytes.get(i + 1) == Some(&b'x') && bytes.get(i + 6) == Some(&b'_') {
            if let Some(unit) = text.get(i + 2..i + 6).and_then(|h| u16::from_str_radix(h, 16).ok()) {
                units.push(unit);
                i += 7;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
        i += c.len_utf8();
    }
    String::from_utf16_lossy(&units)
}

/// Encodes a string for CLIXML (2.2.5.3.2): control characters other than tab, and an underscore
/// followed by `x`, as `_xHHHH_`; then XML escaping.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let code = c == '_' && chars.peek() == Some(&'x') || (c < ' ' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}';
        if code {
            let _ = write!(out, "_x{:04X}_", c as u32);
        } else {
            out.push(c);
        }
    }
    escape(&out).into_owned()
}

/// Writes `value` as CLIXML: one element, a primitive or an `<Obj>` (objects shared in the tree are
/// written again, not as `<Ref>`; a repeated type name list is a `<TNRef>`). RefIds count from 0, for
/// objects and type name lists alike.
pub fn write(value: &Value) -> String {
    let mut w = Writer::default();
    w.value(value, None);
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
    objects: usize,
    /// Type name lists written so far, by their RefId (a repeated list is written as `<TNRef>`).
    types: HashMap<Vec<String>, usize>,
}

impl Writer {
    fn value(&mut self, value: &Value, name: Option<&str>) {
        let n = name.map(|n| format!(" N=\"{}\"", encode(n))).unwrap_or_default();
        let simple = |tag: &str, text: &str| format!("<{tag}{n}>{text}</{tag}>");
        let text = match value {
            Value::Null => format!("<Nil{n} />"),
            Value::String(s) => simple("S", &encode(s)),
            Value::Char(c) => simple("C", &c.to_string()),
            Value::Bool(b) => simple("B", if *b { "true" } else { "false" }),
            Value::DateTime(t) => simple("DT", &escape(t)),
            Value::Duration(t) => simple("TS", &escape(t)),
            Value::UInt8(v) => simple("By", &v.to_string()),
            Value::Int8(v) => simple("SB", &v.to_string()),
            Value::UInt16(v) => simple("U16", &v.to_string()),
            Value::Int16(v) => simple("I16", &v.to_string()),
            Value::UInt32(v) => simple("U32", &v.to_string()),
            Value::Int32(v) => simple("I32", &v.to_string()),
            Value::UInt64(v) => simple("U64", &v.to_string()),
            Value::Int64(v) => simple("I64", &v.to_string()),
            Value::Single(v) => simple("Sg", &xs_double(f64::from(*v))),
            Value::Double(v) => simple("Db", &xs_double(*v)),
            Value::Decimal(t) => simple("D", &escape(t)),
            Value::Bytes(b) => simple("BA", &base64::encode(b)),
            Value::SecureString(b) => simple("SS", &base64::encode(b)),
            Value::Secret(_) => format!("<SS{n} />"),
            Value::Guid(g) => simple("G", &g.hyphenated().to_string()),
            Value::Uri(t) => simple("URI", &encode(t)),
            Value::Version(t) => simple("Version", &escape(t)),
            Value::XmlDocument(t) => simple("XD", &encode(t)),
            Value::ScriptBlock(t) => simple("SBK", &encode(t)),
            Value::Object(o) => return self.object(o, &n),
        };
        self.out.push_str(&text);
    }

    fn object(&mut self, o: &Object, n: &str) {
        let id = self.objects;
        self.objects += 1;
        let _ = write!(self.out, "<Obj{n} RefId=\"{id}\">");
        if let Some(id) = self.types.get(o.type_names.as_slice()) {
            let _ = write!(self.out, "<TNRef RefId=\"{id}\" />");
        } else if !o.type_names.is_empty() {
            let id = self.types.len();
            self.types.insert(o.type_names.to_vec(), id);
            let _ = write!(self.out, "<TN RefId=\"{id}\">");
            for t in o.type_names.iter() {
                let _ = write!(self.out, "<T>{}</T>", encode(t));
            }
            self.out.push_str("</TN>");
        }
        if let Some(s) = &o.to_string {
            let _ = write!(self.out, "<ToString>{}</ToString>", encode(s));
        }
        if let Some(v) = &o.value {
            self.value(v, None);
        }
        match &o.items {
            Some(Collection::List(kind, items)) => {
                let _ = write!(self.out, "<{}>", kind.tag());
                for i in items {
                    self.value(i, None);
                }
                let _ = write!(self.out, "</{}>", kind.tag());
            }
            Some(Collection::Dictionary(entries)) => {
                self.out.push_str("<DCT>");
                for (k, v) in entries {
                    self.out.push_str("<En>");
                    self.value(k, Some("Key"));
                    self.value(v, Some("Value"));
                    self.out.push_str("</En>");
                }
                self.out.push_str("</DCT>");
            }
            None => {}
        }
        for (tag, properties) in [("Props", &o.adapted), ("MS", &o.extended)] {
            if !properties.is_empty() {
                let _ = write!(self.out, "<{tag}>");
                for (name, v) in properties {
                    self.value(v, Some(name));
                }
                let _ = write!(self.out, "</{tag}>");
            }
        }
        self.out.push_str("</Obj>");
    }
}

/// An f64 as xs:double text that reads back to the same value.
fn xs_double(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "INF" } else { "-INF" }.into()
    } else {
        format!("{v:?}").replace("e", "E")
    }
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::BadReply, format!("Malformed CLIXML: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `[pscustomobject]@{ a = 1; b = 'x' }` and `@{ k = 1 }` look like when PowerShell 7.6 sends them.
    const CUSTOM: &str = r#"<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I32 N="a">1</I32><S N="b">x</S></MS></Obj>"#;
    const TABLE: &str = r#"<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT><En><S N="Key">k</S><I32 N="Value">1</I32></En></DCT></Obj>"#;

    #[test]
    fn values_as_text_as_powershell_shows_them() {
        let cases: [(&str, &str); 9] = [
            ("<S>h_x00E9_llo</S>", "h\u{e9}llo"),
            ("<I32>-5</I32>", "-5"),
            ("<B>true</B>", "True"),
            ("<Nil />", ""),
            ("<BA>AQI=</BA>", "1 2"),
            ("<SS>AAAA</SS>", "System.Security.SecureString"),
            (TABLE, "System.Collections.Hashtable"),
            (r#"<Obj RefId="0"><TN RefId="0"><T>System.Object[]</T></TN><LST><I32>1</I32><S>a</S></LST></Obj>"#, "1 a"),
            (r#"<Obj RefId="0"><TN RefId="0"><T>Deserialized.System.Diagnostics.Process</T></TN><ToString>System.Diagnostics.Process (pwsh)</ToString><Props /></Obj>"#, "System.Diagnostics.Process (pwsh)"),
        ];
        for (clixml, text) in cases {
            assert_eq!(parse(clixml).unwrap().to_text(), text, "{clixml}");
        }
    }

    #[test]
    fn one_value_is_read_also_inside_objs() {
        let objs = |inner: &str| format!(r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">{inner}</Objs>"#);
        assert_eq!(parse_one(&objs("<I32>7</I32>")).unwrap(), Value::Int32(7));
        assert_eq!(parse_one("<I32>7</I32>").unwrap(), Value::Int32(7));
        assert_eq!(parse_one(&objs(CUSTOM)).unwrap().property("b"), Some(&Value::String("x".into())));
        assert_eq!(parse_one(&objs("")).unwrap_err().kind, ErrorKind::BadReply);
        assert_eq!(parse_one(&objs("<I32>1</I32><I32>2</I32>")).unwrap_err().kind, ErrorKind::BadReply);
    }

    #[test]
    fn objects_read_as_powershell_writes_them() {
        let v = parse(CUSTOM).unwrap();
        assert_eq!(v.as_object().unwrap().type_names[0], "System.Management.Automation.PSCustomObject");
        assert_eq!(v.property("A"), Some(&Value::Int32(1)));
        assert_eq!(v.property("b").and_then(Value::as_str), Some("x"));
        let t = parse(TABLE).unwrap();
        assert_eq!(t.as_object().unwrap().items, Some(Collection::Dictionary(vec![(Value::String("k".into()), Value::Int32(1))])));
        assert_eq!(parse("<S>a_x000D__x000A_b_x005F_x</S>").unwrap(), Value::String("a\r\nb_x".into()));
        assert_eq!(parse("<Nil />").unwrap(), Value::Null);
        assert_eq!(parse(r#"<Obj RefId="0"><TN RefId="0"><T>System.ConsoleColor</T></TN><ToString>Red</ToString><I32>12</I32></Obj>"#).unwrap().as_i64(), Some(12));
    }

    #[test]
    fn refs_share_objects_and_type_lists() {
        let text = r#"<Obj RefId="0"><TN RefId="0"><T>A</T></TN><LST><Obj RefId="1"><TN RefId="1"><T>B</T></TN><MS><S N="x">1</S></MS></Obj><Ref RefId="1" /><Obj RefId="2"><TNRef RefId="1" /></Obj></LST></Obj>"#;
        let v = parse(text).unwrap();
        let Some(Collection::List(ListKind::List, items)) = &v.as_object().unwrap().items else { panic!() };
        let (Value::Object(a), Value::Object(b), Value::Object(c)) = (&items[0], &items[1], &items[2]) else { panic!() };
        assert!(Arc::ptr_eq(a, b));
        assert!(Arc::ptr_eq(&a.type_names, &c.type_names));
    }

    #[test]
    fn malformed_clixml_is_an_error() {
        for (text, why) in [
            ("<Q>1</Q>", "unknown element <Q>"),
            ("<I32>x</I32>", "<I32> holds 'x'"),
            ("<By>256</By>", "<By> holds '256'"),
            ("<B>yes</B>", "<B> holds 'yes'"),
            (r#"<Ref RefId="9" />"#, "names no object"),
            (r#"<Obj RefId="0"><TNRef RefId="3" /></Obj>"#, "names no type list"),
            ("<Obj><MS><S>no name</S></MS></Obj>", "without a name"),
            ("<Obj><DCT><En><S N=\"Key\">k</S></En></DCT></Obj>", "without a Key and a Value"),
            ("<BA>***</BA>", "not base64"),
            ("<S>unclosed", ""),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.kind == ErrorKind::BadReply && e.message.contains(why), "{text}: {}", e.message);
        }
    }

    fn primitive() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<String>().prop_map(Value::String),
            any::<u16>().prop_map(Value::Char),
            any::<bool>().prop_map(Value::Bool),
            any::<u8>().prop_map(Value::UInt8),
            any::<i8>().prop_map(Value::Int8),
            any::<i16>().prop_map(Value::Int16),
            any::<u32>().prop_map(Value::UInt32),
            any::<i32>().prop_map(Value::Int32),
            any::<u64>().prop_map(Value::UInt64),
            any::<i64>().prop_map(Value::Int64),
            any::<f64>().prop_filter("NaN is not equal to itself", |v| !v.is_nan()).prop_map(Value::Double),
            any::<f32>().prop_filter("NaN", |v| !v.is_nan()).prop_map(Value::Single),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            any::<[u8; 16]>().prop_map(|b| Value::Guid(Uuid::from_bytes(b))),
            Just(Value::DateTime("2026-12-03T13:29:42.1234567+00:00".into())),
            Just(Value::Version("2.3".into())),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        primitive().prop_recursive(4, 64, 6, |inner| {
            let properties = prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_x]{0,8}", inner.clone()), 0..4);
            prop_oneof![
                (prop::collection::vec("[A-Za-z.]{1,20}", 0..3), properties.clone(), properties).prop_map(|(t, a, e)| Value::Object(Arc::new(Object {
                    type_names: Arc::new(t),
                    adapted: a,
                    extended: e,
                    ..Default::default()
                }))),
                prop::collection::vec(inner.clone(), 0..5).prop_map(|items| Value::Object(Arc::new(Object {
                    items: Some(Collection::List(ListKind::Enumerable, items)),
                    ..Default::default()
                }))),
                prop::collection::vec((inner.clone(), inner), 0..4).prop_map(|entries| Value::Object(Arc::new(Object {
                    items: Some(Collection::Dictionary(entries)),
                    ..Default::default()
                }))),
            ]
        })
    }

    proptest! {
        #[test]
        fn values_round_trip(v in value()) {
            let text = write(&v);
            let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {}", e.message)))?;
            prop_assert_eq!(back, v);
        }

        #[test]
        fn hostile_text_never_panics(text in "(<[A-Za-z]{1,4}( RefId=\"[0-9]\")?( N=\"a\")?>|</[A-Za-z]{1,4}>|[a-z0-9_]{0,5}|<Ref RefId=\"[0-9]\" />){0,30}") {
            let _ = parse(&text);
        }
    }
}
