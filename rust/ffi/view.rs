//! An instance read in one call: [`rsess_instance_get_view`] lays the whole instance out as C structs and
//! strings that the instance handle owns, so a caller reading every property makes one call instead of
//! several per property.

use std::ffi::c_char;

use super::call::value_out;
use super::constants::{rsess_cim_type, RSESS_PROPERTY_KEY, RSESS_PROPERTY_NULL};
use super::handles::{self, Handle};
use super::result::rsess_result;
use crate::cim::{CimInstance, CimValue};

/// One CIM instance: class, namespace, server, superclasses and typed properties.
pub struct rsess_instance {
    _private: [u8; 0],
}

impl Handle for rsess_instance {
    type Object = HeldInstance;
}

/// What an `rsess_instance` handle holds: the instance and, once asked for, its one-call layout.
pub(crate) struct HeldInstance {
    pub(crate) instance: CimInstance,
    view: Option<Box<InstanceView>>,
}

impl HeldInstance {
    /// An instance with no layout made yet.
    pub(crate) fn new(instance: CimInstance) -> Self {
        HeldInstance { instance, view: None }
    }
}

/// One property as `rsess_instance_get_view` lays it out. Strings are NUL-terminated UTF-8 in the text
/// forms of `rsess_instance_property_value`.
#[repr(C)]
pub struct rsess_property_view {
    /// The property's name.
    pub name: *const c_char,
    /// `RSESS_CIM_TYPE_*`.
    pub cim_type: rsess_cim_type,
    /// `RSESS_PROPERTY_KEY`, `RSESS_PROPERTY_NULL`.
    pub flags: u32,
    /// A scalar's value; NULL for a null value and for arrays.
    pub value: *const c_char,
    /// An array's element count (0 for scalars and null arrays).
    pub element_count: usize,
    /// An array's elements, `element_count` of them, each NULL for a null element; NULL for scalars.
    pub elements: *const *const c_char,
}

/// A whole instance as `rsess_instance_get_view` lays it out.
#[repr(C)]
pub struct rsess_instance_view {
    /// e.g. `Win32_Process`.
    pub class_name: *const c_char,
    /// Slash form, e.g. `root/cimv2`.
    pub namespace_name: *const c_char,
    /// The computer that served the instance.
    pub server_name: *const c_char,
    /// Superclasses, nearest first.
    pub superclass_count: usize,
    pub superclasses: *const *const c_char,
    /// Properties in class declaration order.
    pub property_count: usize,
    pub properties: *const rsess_property_view,
}

/// The memory a view points into: every string back to back in one buffer, every pointer table
/// (superclasses, array elements) back to back in another. Each is a heap buffer of its own that never
/// grows after building, so the pointers stay valid however the handle table moves this struct.
pub(crate) struct InstanceView {
    _text: Box<[u8]>,
    _tables: Box<[*const c_char]>,
    _properties: Box<[rsess_property_view]>,
    view: Box<rsess_instance_view>,
}

// SAFETY: the raw pointers point only into buffers this struct owns and never changes after building;
// the handle table's lock serializes access to the struct itself.
unsafe impl Send for InstanceView {}

/// The view's strings while it is built: NUL-terminated texts in one buffer, named by their offsets.
struct Texts(String);

impl Texts {
    fn add(&mut self, s: &str) -> usize {
        let start = self.0.len();
        self.0.push_str(s);
        self.end(start)
    }

    /// A scalar's text form, or None for a null value.
    fn value(&mut self, v: &CimValue) -> Option<usize> {
        let start = self.0.len();
        v.write_text(&mut self.0).then(|| self.end(start))
    }

    /// Terminates the text begun at `start`. NUL cannot appear in CIM text; should it, the text is cut
    /// there rather than lost.
    fn end(&mut self, start: usize) -> usize {
        if let Some(nul) = self.0[start..].find('\0') {
            self.0.truncate(start + nul);
        }
        self.0.push('\0');
        start
    }
}

/// About how many bytes the view's texts of `instance` take (exact for names and strings, a guess for
/// other values), so that their buffer is mostly allocated once.
fn text_size(instance: &CimInstance) -> usize {
    let value = |v: &CimValue| match v {
        CimValue::String(s) | CimValue::Reference(s) => s.len() + 1,
        _ => 24,
    };
    let names = instance.class_name.len() + instance.namespace.len() + instance.server_name.len() + 3;
    let superclasses: usize = instance.superclasses.iter().map(|s| s.len() + 1).sum();
    let properties: usize = instance
        .properties
        .iter()
        .map(|p| {
            p.name.len()
                + 1
                + match &p.value {
                    CimValue::Array(items) => items.iter().map(value).sum(),
                    v => value(v),
                }
        })
        .sum();
    names + superclasses + properties
}

/// Where one property's strings lie while the view is built (offsets into the texts and tables).
struct Layout {
    name: usize,
    value: Option<usize>,
    /// An array's elements: where they start in the tables, and how many.
    elements: Option<(usize, usize)>,
}

impl InstanceView {
    fn build(instance: &CimInstance) -> InstanceView {
        let mut texts = Texts(String::with_capacity(text_size(instance)));
        // Offsets of the table entries into the texts (None: a NULL entry).
        let mut tables: Vec<Option<usize>> = Vec::new();
        let class_name = texts.add(&instance.class_name);
        let namespace = texts.add(&instance.namespace);
        let server_name = texts.add(&instance.server_name);
        for s in &instance.superclasses {
            tables.push(Some(texts.add(s)));
        }
        let layouts: Vec<Layout> = instance
            .properties
            .iter()
            .map(|p| {
                let name = texts.add(&p.name);
                match &p.value {
                    CimValue::Array(items) => {
                        let start = tables.len();
                        for item in items {
                            let at = texts.value(item);
                            tables.push(at);
                        }
                        Layout { name, value: None, elements: Some((start, items.len())) }
                    }
                    v => Layout { name, value: texts.value(v), elements: None },
                }
            })
            .collect();

        let text: Box<[u8]> = texts.0.into_bytes().into_boxed_slice();
        let at = |offset: usize| -> *const c_char { text[offset..].as_ptr().cast() };
        let tables: Box<[*const c_char]> = tables.iter().map(|o| o.map_or(std::ptr::null(), at)).collect();
        let properties: Box<[rsess_property_view]> = instance
            .properties
            .iter()
            .zip(&layouts)
            .map(|(p, l)| {
                let flags = if p.key { RSESS_PROPERTY_KEY } else { 0 } | if p.value.is_null() { RSESS_PROPERTY_NULL } else { 0 };
                let (element_count, elements) = l.elements.map_or((0, std::ptr::null()), |(start, n)| (n, tables[start..].as_ptr()));
                rsess_property_view {
                    name: at(l.name),
                    cim_type: p.cim_type as u32,
                    flags,
                    value: l.value.map_or(std::ptr::null(), at),
                    element_count,
                    elements,
                }
            })
            .collect();
        let view = Box::new(rsess_instance_view {
            class_name: at(class_name),
            namespace_name: at(namespace),
            server_name: at(server_name),
            superclass_count: instance.superclasses.len(),
            superclasses: tables.as_ptr(),
            property_count: properties.len(),
            properties: properties.as_ptr(),
        });
        InstanceView { _text: text, _tables: tables, _properties: properties, view }
    }
}

/// Lays instance `i` out whole in `*out`: class, namespace, server, superclasses and every property
/// with its type, flags and value texts (as the `rsess_instance_property_*` calls give them, in one
/// call). The memory belongs to the instance: valid until `rsess_instance_free`, read-only,
/// the same on every call.
#[no_mangle]
pub extern "C" fn rsess_instance_get_view(i: *const rsess_instance, out: *mut *const rsess_instance_view) -> rsess_result {
    value_out(out, || {
        handles::with(i, |held| {
            let HeldInstance { instance, view } = held;
            Ok(&*view.get_or_insert_with(|| Box::new(InstanceView::build(instance))).view as *const rsess_instance_view)
        })
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::cim::{CimProperty, CimType};

    fn text(p: *const c_char) -> Option<String> {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    }

    #[test]
    fn every_string_and_table_of_an_instance() {
        let mut key = CimProperty::new("Id", CimType::UInt32, CimValue::UInt32(42));
        key.key = true;
        let properties = vec![
            key,
            CimProperty::new("Name", CimType::String, CimValue::String("a\0b".into())),
            CimProperty::new("Missing", CimType::String, CimValue::Null),
            CimProperty::new(
                "Tags",
                CimType::StringArray,
                CimValue::Array(vec![CimValue::String("x".into()), CimValue::Null, CimValue::String(String::new())]),
            ),
            CimProperty::new("None", CimType::UInt8Array, CimValue::Array(Vec::new())),
        ];
        let instance = CimInstance {
            class_name: "C".into(),
            namespace: "root/test".into(),
            server_name: "srv".into(),
            superclasses: vec!["B".into(), "A".into()],
            properties,
        };
        let built = InstanceView::build(&instance);
        let v = &*built.view;
        assert_eq!((text(v.class_name), text(v.namespace_name), text(v.server_name)), (Some("C".into()), Some("root/test".into()), Some("srv".into())));
        let supers = unsafe { std::slice::from_raw_parts(v.superclasses, v.superclass_count) };
        assert_eq!(supers.iter().map(|&s| text(s)).collect::<Vec<_>>(), [Some("B".into()), Some("A".into())]);
        let props = unsafe { std::slice::from_raw_parts(v.properties, v.property_count) };
        assert_eq!(props.iter().map(|p| text(p.name).unwrap()).collect::<Vec<_>>(), ["Id", "Name", "Missing", "Tags", "None"]);
        assert_eq!((text(props[0].value), props[0].flags), (Some("42".into()), RSESS_PROPERTY_KEY));
        // A NUL cuts the text there.
        assert_eq!(text(props[1].value), Some("a".into()));
        assert_eq!((props[2].value.is_null(), props[2].flags, props[2].elements.is_null()), (true, RSESS_PROPERTY_NULL, true));
        let tags = unsafe { std::slice::from_raw_parts(props[3].elements, props[3].element_count) };
        assert_eq!(tags.iter().map(|&t| text(t)).collect::<Vec<_>>(), [Some("x".into()), None, Some(String::new())]);
        assert!(props[3].value.is_null());
        assert_eq!((props[4].element_count, props[4].elements.is_null()), (0, false));
    }
}
