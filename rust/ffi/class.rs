//! Class declarations through the C ABI (Get-CimClass): GetClass, the classes of a namespace, and
//! reading a declaration's properties, methods and their parameters.

use std::ffi::c_char;
use std::sync::Arc;

use super::call::{guard, guard_void, namespace, out_ptr, req_str, rsess_error, string_out, to_c, value_out, write};
use super::cancel::{cancel_of, rsess_cancel};
use super::constants::rsess_cim_type;
use super::handles::{self, Handle};
use super::lists::out_of_range;
use super::result::{rsess_result, Result};
use super::session::{rsess_cim_session, session_of};
use crate::cim::class::{ClassSchema, MethodSchema, PropertySchema};

/// One class declaration: name, superclass, qualifiers, properties, methods, and where it came from.
pub struct rsess_class {
    _private: [u8; 0],
}

impl Handle for rsess_class {
    type Object = ClassDecl;
}

/// Class declarations of a namespace, read with `rsess_class_list_len` and `rsess_class_list_get`.
pub struct rsess_class_list {
    _private: [u8; 0],
}

impl Handle for rsess_class_list {
    type Object = Vec<ClassDecl>;
}

/// A declaration and the namespace and server it was read from.
pub(crate) struct ClassDecl {
    schema: Arc<ClassSchema>,
    namespace: String,
    server_name: String,
}

fn decl(schema: Arc<ClassSchema>, ns: &str, server_name: &str) -> ClassDecl {
    ClassDecl { schema, namespace: ns.replace('\\', "/"), server_name: server_name.to_string() }
}

/// Reads the declaration of `class_name` in `ns` (NULL = `root/cimv2`) on session `s` into `*out`
/// (free it with `rsess_class_free`): over WS-Management a GetClass (DSP0227 §8.1, CIM-XML), locally
/// the provider's declaration. `cancel` (NULL = none) stops it.
/// Errors: INVALID_CLASS, INVALID_NAMESPACE, SESSION_REMOVED, NULL_ARGUMENT; over WS-Management as for
/// `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_get_class(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_class,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let cancel = cancel_of(cancel)?;
        let provider = session.provider()?;
        let ns = namespace(ns)?;
        let schema = provider.get_class(ns, class_name, cancel.as_deref())?;
        write(out, handles::insert::<rsess_class>(decl(schema, ns, &provider.server_name())));
        Ok(())
    })
}

/// Reads every class declaration in `ns` (NULL = `root/cimv2`) on session `s` into `*out` (free it with
/// `rsess_class_list_free`): over WS-Management an Enumerate of the CIM-XML class resource, which
/// not every server offers (OMI answers with a fault). Errors: as for `rsess_cim_get_class`.
#[no_mangle]
pub extern "C" fn rsess_cim_classes(
    s: *const rsess_cim_session,
    ns: *const c_char,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_class_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let cancel = cancel_of(cancel)?;
        let provider = session.provider()?;
        let ns = namespace(ns)?;
        let server = provider.server_name();
        let list = provider.classes(ns, cancel)?.into_iter().map(|c| decl(Arc::new(c), ns, &server)).collect();
        write(out, handles::insert::<rsess_class_list>(list));
        Ok(())
    })
}

/// How many declarations the list holds.
#[no_mangle]
pub extern "C" fn rsess_class_list_len(l: *const rsess_class_list, out: *mut usize) -> rsess_result {
    value_out(out, || with_list(l, |list| Ok(list.len())))
}

/// Declaration `index` of the list as a new handle in `*out` (free it with `rsess_class_free`; it
/// outlives the list). Errors: INVALID_ARGUMENT when `index` is out of range.
#[no_mangle]
pub extern "C" fn rsess_class_list_get(l: *const rsess_class_list, index: usize, out: *mut *mut rsess_class) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let d = with_list(l, |list| {
            let d = list.get(index).ok_or_else(|| out_of_range(index))?;
            Ok(ClassDecl { schema: Arc::clone(&d.schema), namespace: d.namespace.clone(), server_name: d.server_name.clone() })
        })?;
        write(out, handles::insert::<rsess_class>(d));
        Ok(())
    })
}

/// Frees a list (declarations taken from it stay valid). NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_class_list_free(l: *mut rsess_class_list) {
    guard_void(|| drop(handles::free(l)));
}

/// Frees a declaration. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_class_free(c: *mut rsess_class) {
    guard_void(|| drop(handles::free(c)));
}

/// The class name, e.g. `"Win32_Process"`.
#[no_mangle]
pub extern "C" fn rsess_class_name(c: *const rsess_class, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || with_class(c, |d| Ok(Some(d.schema.name.clone()))))
}

/// The superclass name, or NULL in `*out` for a class without one.
#[no_mangle]
pub extern "C" fn rsess_class_superclass(c: *const rsess_class, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || with_class(c, |d| Ok(d.schema.superclass.clone())))
}

/// The namespace the declaration was read from, in slash form.
#[no_mangle]
pub extern "C" fn rsess_class_namespace(c: *const rsess_class, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || with_class(c, |d| Ok(Some(d.namespace.clone()))))
}

/// The server the declaration was read from (the session's computer name, or this machine's name).
#[no_mangle]
pub extern "C" fn rsess_class_server_name(c: *const rsess_class, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || with_class(c, |d| Ok(Some(d.server_name.clone()))))
}

/// The class's qualifiers as `RSESS_QUALIFIER_*` bits (ABSTRACT, ASSOCIATION).
#[no_mangle]
pub extern "C" fn rsess_class_qualifiers(c: *const rsess_class, out: *mut u32) -> rsess_result {
    value_out(out, || with_class(c, |d| Ok(d.schema.qualifiers)))
}

/// How many properties the class declares.
#[no_mangle]
pub extern "C" fn rsess_class_property_count(c: *const rsess_class, out: *mut usize) -> rsess_result {
    value_out(out, || with_class(c, |d| Ok(d.schema.properties.len())))
}

/// Declared property `p`: its name, CIM type (`RSESS_CIM_TYPE_*`), qualifiers (`RSESS_QUALIFIER_*`:
/// KEY, REQUIRED, READ, WRITE) and, for references, the class referred to (NULL when undeclared). Any
/// out pointer may be NULL to skip that item; strings are freed with `rsess_string_free`.
/// Errors: INVALID_ARGUMENT when `p` is out of range.
#[no_mangle]
pub extern "C" fn rsess_class_property(
    c: *const rsess_class,
    p: usize,
    name: *mut *mut c_char,
    cim_type: *mut rsess_cim_type,
    qualifiers: *mut u32,
    reference_class: *mut *mut c_char,
) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let declared = with_class(c, |d| d.schema.properties.get(p).cloned().ok_or_else(|| out_of_range(p)))?;
        write_declaration(&declared, name, cim_type, qualifiers, reference_class);
        Ok(())
    })
}

/// How many methods the class declares.
#[no_mangle]
pub extern "C" fn rsess_class_method_count(c: *const rsess_class, out: *mut usize) -> rsess_result {
    value_out(out, || with_class(c, |d| Ok(d.schema.methods.len())))
}

/// Declared method `m`: its name, return type, qualifiers (`RSESS_QUALIFIER_STATIC`) and number of
/// parameters. Any out pointer may be NULL. Errors: INVALID_ARGUMENT when `m` is out of range.
#[no_mangle]
pub extern "C" fn rsess_class_method(
    c: *const rsess_class,
    m: usize,
    name: *mut *mut c_char,
    return_type: *mut rsess_cim_type,
    qualifiers: *mut u32,
    parameter_count: *mut usize,
) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let method = with_method(c, m, |x| Ok((x.name.clone(), x.return_type, x.qualifiers, x.parameters.len())))?;
        write_opt(name, || to_c(&method.0));
        write_opt(return_type, || method.1 as u32);
        write_opt(qualifiers, || method.2);
        write_opt(parameter_count, || method.3);
        Ok(())
    })
}

/// Parameter `p` of method `m`, as `rsess_class_property` gives a property (qualifiers IN, OUT,
/// REQUIRED). Errors: INVALID_ARGUMENT when `m` or `p` is out of range.
#[no_mangle]
pub extern "C" fn rsess_class_parameter(
    c: *const rsess_class,
    m: usize,
    p: usize,
    name: *mut *mut c_char,
    cim_type: *mut rsess_cim_type,
    qualifiers: *mut u32,
    reference_class: *mut *mut c_char,
) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let declared = with_method(c, m, |x| x.parameters.get(p).cloned().ok_or_else(|| out_of_range(p)))?;
        write_declaration(&declared, name, cim_type, qualifiers, reference_class);
        Ok(())
    })
}

fn write_declaration(d: &PropertySchema, name: *mut *mut c_char, cim_type: *mut rsess_cim_type, qualifiers: *mut u32, reference_class: *mut *mut c_char) {
    write_opt(name, || to_c(&d.name));
    write_opt(cim_type, || d.cim_type as u32);
    write_opt(qualifiers, || d.qualifiers);
    write_opt(reference_class, || d.reference_class.as_deref().map_or(std::ptr::null_mut(), to_c));
}

/// Writes `value()` through `out` unless `out` is NULL (the caller skipped that item).
fn write_opt<T>(out: *mut T, value: impl FnOnce() -> T) {
    if !out.is_null() {
        write(out, value());
    }
}

fn with_class<R>(c: *const rsess_class, f: impl FnOnce(&ClassDecl) -> Result<R>) -> Result<R> {
    handles::with(c, |d| f(d))
}

fn with_method<R>(c: *const rsess_class, m: usize, f: impl FnOnce(&MethodSchema) -> Result<R>) -> Result<R> {
    with_class(c, |d| d.schema.methods.get(m).ok_or_else(|| out_of_range(m)).and_then(f))
}

fn with_list<R>(l: *const rsess_class_list, f: impl FnOnce(&[ClassDecl]) -> Result<R>) -> Result<R> {
    handles::with(l, |list| f(list))
}

#[cfg(test)]
mod tests {
    use crate::cim::class::qualifier;
    use crate::ffi::constants::*;

    #[test]
    fn qualifier_bits_are_the_cores() {
        let c = [RSESS_QUALIFIER_KEY, RSESS_QUALIFIER_IN, RSESS_QUALIFIER_OUT, RSESS_QUALIFIER_REQUIRED, RSESS_QUALIFIER_STATIC, RSESS_QUALIFIER_ABSTRACT, RSESS_QUALIFIER_ASSOCIATION, RSESS_QUALIFIER_READ, RSESS_QUALIFIER_WRITE];
        let core: Vec<u32> = qualifier::NAMES.iter().map(|(bit, _)| *bit).collect();
        assert_eq!(c.to_vec(), core);
    }
}
