//! An instance read in one call: [`rsess_instance_get_view`] lays the whole instance out as C structs and
//! strings that the instance handle owns, so a caller reading every property makes one call instead of
//! several per property.

use std::ffi::{c_char, CString};

use super::handles::{self, Object};
use super::instance::rsess_instance;
use super::{rsess_cim_type, rsess_result, value_out, RSESS_PROPERTY_KEY, RSESS_PROPERTY_NULL};
use crate::cim::{CimInstance, CimValue};

/// One property as [`rsess_instance_get_view`] lays it out. Strings are NUL-terminated UTF-8 in the text
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

/// A whole instance as [`rsess_instance_get_view`] lays it out.
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

/// The memory a view points into: every string and table, each in a heap buffer of its own, so the
/// pointers stay valid however the handle table moves this struct.
pub(crate) struct InstanceView {
    _texts: Vec<CString>,
    _tables: Vec<Vec<*const c_char>>,
    _properties: Vec<rsess_property_view>,
    view: Box<rsess_instance_view>,
}

// SAFETY: the raw pointers point only into buffers this struct owns and never changes after building;
// the handle table's lock serializes access to the struct itself.
unsafe impl Send for InstanceView {}

impl InstanceView {
    fn build(instance: &CimInstance) -> InstanceView {
        let mut texts = Vec::new();
        let mut text = |s: &str| -> *const c_char {
            // NUL cannot appear in CIM text; should it, the text is cut there rather than lost.
            let c = CString::new(s).unwrap_or_else(|e| CString::new(&s[..e.nul_position()]).unwrap_or_default());
            let p = c.as_ptr();
            texts.push(c);
            p
        };
        let class_name = text(&instance.class_name);
        let namespace = text(&instance.namespace);
        let server_name = text(&instance.server_name);
        let mut tables: Vec<Vec<*const c_char>> = Vec::new();
        let superclasses: Vec<*const c_char> = instance.superclasses.iter().map(|s| text(s)).collect();
        let mut properties = Vec::with_capacity(instance.properties.len());
        for p in &instance.properties {
            let flags = if p.key { RSESS_PROPERTY_KEY } else { 0 } | if p.value.is_null() { RSESS_PROPERTY_NULL } else { 0 };
            let (value, elements) = match &p.value {
                CimValue::Array(items) => {
                    (std::ptr::null(), Some(items.iter().map(|v| v.to_text().map_or(std::ptr::null(), |t| text(&t))).collect::<Vec<_>>()))
                }
                v => (v.to_text().map_or(std::ptr::null(), |t| text(&t)), None),
            };
            let (element_count, elements) = match elements {
                Some(table) => {
                    let (n, ptr) = (table.len(), table.as_ptr());
                    tables.push(table);
                    (n, ptr)
                }
                None => (0, std::ptr::null()),
            };
            properties.push(rsess_property_view { name: text(&p.name), cim_type: p.cim_type as u32, flags, value, element_count, elements });
        }
        let view = Box::new(rsess_instance_view {
            class_name,
            namespace_name: namespace,
            server_name,
            superclass_count: superclasses.len(),
            superclasses: superclasses.as_ptr(),
            property_count: properties.len(),
            properties: properties.as_ptr(),
        });
        tables.push(superclasses);
        InstanceView { _texts: texts, _tables: tables, _properties: properties, view }
    }
}

/// Lays instance `i` out whole in `*out`: class, namespace, server, superclasses and every property
/// with its type, flags and value texts (as the `rsess_instance_property_*` calls give them, in one
/// call). The memory belongs to the instance: valid until [`super::rsess_instance_free`], read-only,
/// the same on every call.
#[no_mangle]
pub extern "C" fn rsess_instance_get_view(i: *const rsess_instance, out: *mut *const rsess_instance_view) -> rsess_result {
    value_out(out, || {
        handles::with(i, |o| match o {
            Object::Instance(instance, view) => Ok(&*view.get_or_insert_with(|| Box::new(InstanceView::build(instance))).view as *const rsess_instance_view),
            _ => Err(handles::invalid_handle()),
        })
    })
}
