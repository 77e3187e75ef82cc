//! CIM operations on a session, the instance iterator, and reading instances.

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use super::call::{guard, guard_void, namespace, opt_str, out_ptr, req_str, rsess_error, string_array, string_out, value_out, write};
use super::cancel::{cancel_of, rsess_cancel};
use super::constants::{rsess_cim_type, RSESS_OPERATION_KEYS_ONLY, RSESS_OPERATION_SHALLOW, RSESS_PROPERTY_KEY, RSESS_PROPERTY_NULL};
use super::handles::{self, Handle};
use super::lists::{out_of_range, rsess_string_list};
use super::result::{rsess_result, Failure, Result};
use super::session::{rsess_cim_session, session_of};
use super::view::{rsess_instance, HeldInstance};
use crate::cancel::Cancel;
use crate::cim::provider::{Association, CimProvider, Instances, OperationFlags};
use crate::cim::text::value_of_text;
use crate::cim::{CimInstance, CimProperty, CimType, CimValue, DEFAULT_NAMESPACE};
use crate::local::provider::LocalProvider;

/// Instances of an operation, handed out one at a time by `rsess_instance_iter_next`.
pub struct rsess_instance_iter {
    _private: [u8; 0],
}

impl Handle for rsess_instance_iter {
    type Object = Arc<InstanceIter>;
}

/// The state behind an `rsess_instance_iter`: the operation's instances not yet handed out, and what
/// cancels it. Shared so a blocking `next` (a Pull on the wire) runs outside the table lock while
/// another thread cancels.
pub(crate) struct InstanceIter {
    instances: Mutex<Instances>,
    cancel: Option<Arc<Cancel>>,
}

fn flags_of(flags: u32) -> Result<OperationFlags> {
    if flags & !(RSESS_OPERATION_KEYS_ONLY | RSESS_OPERATION_SHALLOW) != 0 {
        return Err(Failure::invalid(format!("Unknown operation flags {flags:#x}")));
    }
    Ok(OperationFlags { keys_only: flags & RSESS_OPERATION_KEYS_ONLY != 0, shallow: flags & RSESS_OPERATION_SHALLOW != 0 })
}

fn start(out: *mut *mut rsess_instance_iter, instances: Instances, cancel: Option<Arc<Cancel>>) {
    let iter = InstanceIter { instances: Mutex::new(instances), cancel };
    write(out, handles::insert::<rsess_instance_iter>(Arc::new(iter)));
}

/// Enumerates the instances of `class_name` in `ns` (NULL = `root/cimv2`; `root\cimv2` also works) on
/// session `s`; `flags` are `RSESS_OPERATION_*`; `cancel` (NULL = none) stops the wire operation. Read
/// them with `rsess_instance_iter_next`. Over WS-Management this sends the Enumerate and reads its
/// first page; later pages come as the caller reads on.
/// Errors: INVALID_NAMESPACE, INVALID_CLASS, SESSION_REMOVED, IO, INVALID_ARGUMENT (unknown flags);
/// over WS-Management also the server's faults (NOT_FOUND, FAULT, …) and CONNECTION_FAILED,
/// TLS_FAILED, ACCESS_DENIED, TIMEOUT, BAD_REPLY, CANCELLED.
#[no_mangle]
pub extern "C" fn rsess_cim_enumerate(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    flags: u32,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance_iter,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let cancel = cancel_of(cancel)?;
        let instances = session.provider()?.enumerate(namespace(ns)?, class_name, flags_of(flags)?, cancel.clone())?;
        start(out, instances, cancel);
        Ok(())
    })
}

/// Runs `query` in `dialect` (NULL or `"WQL"`; over WS-Management also `"CQL"`) in `ns` (NULL =
/// `root/cimv2`) on session `s`; `cancel` as for `rsess_cim_enumerate`.
/// Errors: INVALID_QUERY (with what is wrong in the message), NOT_SUPPORTED (other dialects),
/// INVALID_NAMESPACE, INVALID_CLASS, SESSION_REMOVED, IO; over WS-Management as for
/// `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_query(
    s: *const rsess_cim_session,
    ns: *const c_char,
    dialect: *const c_char,
    query: *const c_char,
    flags: u32,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance_iter,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let query = req_str(query, "query")?;
        let cancel = cancel_of(cancel)?;
        let instances = session.provider()?.query(namespace(ns)?, opt_str(dialect)?.unwrap_or("WQL"), query, flags_of(flags)?, cancel.clone())?;
        start(out, instances, cancel);
        Ok(())
    })
}

/// Reads the instance of `class_name` in `ns` (NULL = `root/cimv2`) whose key properties
/// `key_names[i]` have the values `key_values[i]` (text, as `rsess_instance_property_value` gives
/// them), `count` pairs, into `*out` (free it with `rsess_instance_free`). Over WS-Management this is
/// a WS-Transfer Get (DSP0227 §8.1); `cancel` (NULL = none) stops it.
/// Errors: NOT_FOUND when no instance has those keys; INVALID_CLASS, INVALID_NAMESPACE,
/// SESSION_REMOVED, NULL_ARGUMENT; over WS-Management as for `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_get_instance(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    key_names: *const *const c_char,
    key_values: *const *const c_char,
    count: usize,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let keys = keys_of(key_names, key_values, count)?;
        let cancel = cancel_of(cancel)?;
        let instance = session.provider()?.get(namespace(ns)?, class_name, &keys, cancel.as_deref())?;
        write(out, handles::insert::<rsess_instance>(HeldInstance::new(instance)));
        Ok(())
    })
}

/// Names one instance: its class and its key properties' values (as text, the forms
/// `rsess_instance_property_value` gives), `key_count` of each; DSP0227 §7.1 sends them as selectors.
#[repr(C)]
pub struct rsess_instance_name {
    /// The class, e.g. `"Win32_Process"`. Required.
    pub class_name: *const c_char,
    /// The key property names, `key_count` of them (NULL when `key_count` is 0).
    pub key_names: *const *const c_char,
    /// The key values, in the order of `key_names`.
    pub key_values: *const *const c_char,
    /// How many keys `key_names` and `key_values` hold.
    pub key_count: usize,
}

/// Narrows an association operation (DSP0227 §8.2; WQL's ASSOCIATORS OF / REFERENCES OF). Each member
/// NULL = any.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rsess_association_filter {
    /// Only through associations of this class (associators only).
    pub association_class: *const c_char,
    /// The role the source instance plays in the association.
    pub role: *const c_char,
    /// Only results of this class (for references: association instances of this class).
    pub result_class: *const c_char,
    /// The role the result plays (associators only).
    pub result_role: *const c_char,
}

/// Enumerates the instances associated with `source` (Get-CimAssociatedInstance; CIM's Associators,
/// DSP0227 §8.2) in `ns` (NULL = `root/cimv2`) on session `s`, narrowed by `filter` (NULL = none).
/// `flags` as for `rsess_cim_enumerate` (`RSESS_OPERATION_KEYS_ONLY` gives the results with only their
/// keys; `RSESS_OPERATION_SHALLOW` does not apply); `cancel` (NULL = none) stops it. Read the results
/// with `rsess_instance_iter_next`. The local provider serves no associations: it checks the namespace
/// and the classes named and gives no instances.
/// Errors: INVALID_NAMESPACE, INVALID_CLASS, SESSION_REMOVED, NULL_ARGUMENT (`source` or its class),
/// INVALID_ARGUMENT (unknown or SHALLOW flags, bad UTF-8); over WS-Management as for
/// `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_associators(
    s: *const rsess_cim_session,
    ns: *const c_char,
    source: *const rsess_instance_name,
    filter: *const rsess_association_filter,
    flags: u32,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance_iter,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let f = filter_of(filter)?;
        let association = Association::Associated {
            association_class: opt_string(f.association_class)?,
            role: opt_string(f.role)?,
            result_class: opt_string(f.result_class)?,
            result_role: opt_string(f.result_role)?,
        };
        associated(s, ns, source, &association, flags, cancel, out)
    })
}

/// Enumerates the association instances that refer to `source` (CIM's References, DSP0227 §8.2),
/// narrowed by `filter` (NULL = none) to association instances of `result_class` with the source
/// playing `role`. Flags, results and errors as for `rsess_cim_associators`, and INVALID_ARGUMENT
/// when `filter` names an association class or result role, which References has not.
#[no_mangle]
pub extern "C" fn rsess_cim_references(
    s: *const rsess_cim_session,
    ns: *const c_char,
    source: *const rsess_instance_name,
    filter: *const rsess_association_filter,
    flags: u32,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance_iter,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let f = filter_of(filter)?;
        if !f.association_class.is_null() || !f.result_role.is_null() {
            return Err(Failure::invalid("References take no association class or result role"));
        }
        let association = Association::References { result_class: opt_string(f.result_class)?, role: opt_string(f.role)? };
        associated(s, ns, source, &association, flags, cancel, out)
    })
}

/// The filter behind `filter`, all members NULL for NULL.
fn filter_of(filter: *const rsess_association_filter) -> Result<rsess_association_filter> {
    let none = std::ptr::null();
    if filter.is_null() {
        return Ok(rsess_association_filter { association_class: none, role: none, result_class: none, result_role: none });
    }
    // SAFETY: the caller passes NULL or a readable filter.
    Ok(unsafe { *filter })
}

/// The class and keys `name` gives. Errors: NullArgument (`name` or its class), InvalidArgument.
fn instance_name<'a>(name: *const rsess_instance_name) -> Result<(&'a str, Vec<(String, String)>)> {
    if name.is_null() {
        return Err(Failure::null("The instance name"));
    }
    // SAFETY: the caller passes a readable instance name whose arrays hold `key_count` strings.
    let n = unsafe { &*name };
    Ok((req_str(n.class_name, "class_name")?, keys_of(n.key_names, n.key_values, n.key_count)?))
}

fn associated(
    s: *const rsess_cim_session,
    ns: *const c_char,
    source: *const rsess_instance_name,
    association: &Association,
    flags: u32,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance_iter,
) -> Result<()> {
    let session = session_of(s)?;
    let (class_name, keys) = instance_name(source)?;
    let flags = flags_of(flags)?;
    if flags.shallow {
        return Err(Failure::invalid("RSESS_OPERATION_SHALLOW does not apply to associations"));
    }
    let cancel = cancel_of(cancel)?;
    let instances = session.provider()?.associated(namespace(ns)?, class_name, &keys, association, flags, cancel.clone())?;
    start(out, instances, cancel);
    Ok(())
}

fn opt_string(p: *const c_char) -> Result<Option<String>> {
    Ok(opt_str(p)?.map(str::to_string))
}

/// Method in-parameters for `rsess_cim_invoke`, added one by one with `rsess_params_add`.
pub struct rsess_params {
    _private: [u8; 0],
}

impl Handle for rsess_params {
    type Object = Vec<CimProperty>;
}

/// Makes an empty parameter list in `*out`. Free it with `rsess_params_free`.
#[no_mangle]
pub extern "C" fn rsess_params_new(out: *mut *mut rsess_params) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::insert::<rsess_params>(Vec::new()));
        Ok(())
    })
}

/// Adds parameter `name` of type `cim_type` (`RSESS_CIM_TYPE_*`) with `values`: for a scalar type one
/// text value (`count` 1) or none (`count` 0: a null); for an array type `count` elements. Texts are
/// as `rsess_instance_property_value` gives them (decimal integers, `true`/`false`, DMTF datetimes).
/// Errors: INVALID_ARGUMENT (unknown type, a value its type rejects, more than one value for a scalar,
/// an instance-typed parameter), NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_params_add(p: *mut rsess_params, name: *const c_char, cim_type: rsess_cim_type, values: *const *const c_char, count: usize) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let name = req_str(name, "name")?.to_string();
        let t = CimType::from_u32(cim_type)
            .filter(|t| !matches!(t, CimType::Unknown | CimType::Instance | CimType::InstanceArray))
            .ok_or_else(|| Failure::invalid(format!("Type {cim_type} cannot be a parameter's type here")))?;
        let texts = string_array(values, count, "values")?;
        let parse = |text: &str| value_of_text(t.element(), text, &name).map_err(|e| Failure::invalid(e.message));
        let value = match (t.is_array(), texts.len()) {
            (true, _) => CimValue::Array(texts.iter().map(|v| parse(v)).collect::<Result<_>>()?),
            (false, 0) => CimValue::Null,
            (false, 1) => parse(&texts[0])?,
            (false, n) => return Err(Failure::invalid(format!("Parameter '{name}' is a scalar but has {n} values"))),
        };
        handles::with(p, |list| Ok(list.push(CimProperty::new(&name, t, value))))
    })
}

/// Frees a parameter list. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_params_free(p: *mut rsess_params) {
    guard_void(|| drop(handles::free(p)));
}

/// Invokes `method` of `class_name` in `ns` (NULL = `root/cimv2`) on session `s` (Invoke-CimMethod):
/// on the instance whose keys `key_names[i]` have the values `key_values[i]` (`key_count` pairs), or
/// statically when `key_count` is 0, with the in-parameters `params` (NULL = none). The output comes
/// back in `*out` as an instance of class `<method>_OUTPUT` whose properties are `ReturnValue` and the
/// out-parameters (free it with `rsess_instance_free`). `cancel` (NULL = none) stops the call.
/// Errors: METHOD_NOT_FOUND (the local provider's classes declare no methods), NOT_FOUND,
/// INVALID_ARGUMENT, SESSION_REMOVED; over WS-Management as for `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_invoke(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    key_names: *const *const c_char,
    key_values: *const *const c_char,
    key_count: usize,
    method: *const c_char,
    params: *const rsess_params,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let method = req_str(method, "method")?;
        let keys = keys_of(key_names, key_values, key_count)?;
        let params = params_of(params)?;
        let cancel = cancel_of(cancel)?;
        let result = session.provider()?.invoke(namespace(ns)?, class_name, &keys, method, &params, cancel.as_deref())?;
        write(out, handles::insert::<rsess_instance>(HeldInstance::new(result)));
        Ok(())
    })
}

/// Reads `count` key names and values into pairs. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
fn keys_of(names: *const *const c_char, values: *const *const c_char, count: usize) -> Result<Vec<(String, String)>> {
    let names = string_array(names, count, "key_names")?;
    let values = string_array(values, count, "key_values")?;
    Ok(names.into_iter().zip(values).collect())
}

/// The properties of a parameter list; NULL is an empty list.
fn params_of(p: *const rsess_params) -> Result<Vec<CimProperty>> {
    if p.is_null() {
        return Ok(Vec::new());
    }
    handles::get(p)
}

/// Creates an instance of `class_name` in `ns` (NULL = `root/cimv2`) with the properties in `props`
/// (an `rsess_params` list) on session `s` (New-CimInstance), and returns it in `*out` as the server
/// then has it. Errors: NOT_SUPPORTED for a local session (the local provider is read-only),
/// ALREADY_EXISTS, INVALID_ARGUMENT, SESSION_REMOVED; over WS-Management as for `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_cim_create_instance(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    props: *const rsess_params,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let props = params_of(props)?;
        let cancel = cancel_of(cancel)?;
        let created = session.provider()?.create_instance(namespace(ns)?, class_name, &props, cancel.as_deref())?;
        write(out, handles::insert::<rsess_instance>(HeldInstance::new(created)));
        Ok(())
    })
}

/// Changes the instance of `class_name` whose keys are `key_names`/`key_values` (`key_count` pairs) to
/// the properties in `props` (Set-CimInstance; WS-Transfer Put), and returns it in `*out` as the server
/// then has it. Errors: as `rsess_cim_create_instance`, and NOT_FOUND.
#[no_mangle]
pub extern "C" fn rsess_cim_modify_instance(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    key_names: *const *const c_char,
    key_values: *const *const c_char,
    key_count: usize,
    props: *const rsess_params,
    cancel: *const rsess_cancel,
    out: *mut *mut rsess_instance,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let keys = keys_of(key_names, key_values, key_count)?;
        let props = params_of(props)?;
        let cancel = cancel_of(cancel)?;
        let changed = session.provider()?.modify_instance(namespace(ns)?, class_name, &keys, &props, cancel.as_deref())?;
        write(out, handles::insert::<rsess_instance>(HeldInstance::new(changed)));
        Ok(())
    })
}

/// Deletes the instance of `class_name` whose keys are `key_names`/`key_values` (`key_count` pairs)
/// (Remove-CimInstance; WS-Transfer Delete). Errors: as `rsess_cim_create_instance`, and NOT_FOUND.
#[no_mangle]
pub extern "C" fn rsess_cim_delete_instance(
    s: *const rsess_cim_session,
    ns: *const c_char,
    class_name: *const c_char,
    key_names: *const *const c_char,
    key_values: *const *const c_char,
    key_count: usize,
    cancel: *const rsess_cancel,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let session = session_of(s)?;
        let class_name = req_str(class_name, "class_name")?;
        let keys = keys_of(key_names, key_values, key_count)?;
        let cancel = cancel_of(cancel)?;
        Ok(session.provider()?.delete_instance(namespace(ns)?, class_name, &keys, cancel.as_deref())?)
    })
}

/// The class names served in `ns` (NULL = `root/cimv2`) by session `s`, or by this machine's provider
/// when `s` is NULL (for argument completion). Errors: INVALID_NAMESPACE, SESSION_REMOVED.
#[no_mangle]
pub extern "C" fn rsess_cim_class_names(
    s: *const rsess_cim_session,
    ns: *const c_char,
    out: *mut *mut rsess_string_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let ns = opt_str(ns)?;
        let names = if s.is_null() {
            LocalProvider.class_names(ns.unwrap_or(DEFAULT_NAMESPACE))?
        } else {
            session_of(s)?.provider()?.class_names(ns.unwrap_or(DEFAULT_NAMESPACE))?
        };
        write(out, handles::insert::<rsess_string_list>(names));
        Ok(())
    })
}

/// The next instance in `*out` (free it with `rsess_instance_free`), or NULL in `*out` at the end.
/// Over WS-Management this may block for the next Pull. Errors: as for `rsess_cim_enumerate`.
#[no_mangle]
pub extern "C" fn rsess_instance_iter_next(it: *mut rsess_instance_iter, out: *mut *mut rsess_instance, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let iter = handles::get(it)?;
        let next = iter.instances.lock().unwrap_or_else(|p| p.into_inner()).next()?;
        write(out, next.map_or(std::ptr::null_mut(), |i| handles::insert::<rsess_instance>(HeldInstance::new(i))));
        Ok(())
    })
}

/// Cancels the iterator's operation (its waiting or next `_next` returns CANCELLED), from any thread.
/// The same as cancelling the token it was started with; without one this does nothing.
#[no_mangle]
pub extern "C" fn rsess_instance_iter_cancel(it: *const rsess_instance_iter) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let cancel = handles::with(it, |iter| Ok(iter.cancel.clone()))?;
        cancel.map(|c| c.cancel());
        Ok(())
    })
}

/// Frees an iterator and the instances it did not hand out; an unfinished WS-Management enumeration
/// is released on the server (briefly blocking). NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_instance_iter_free(it: *mut rsess_instance_iter) {
    guard_void(|| drop(handles::free(it)));
}

/// Frees an instance. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_instance_free(i: *mut rsess_instance) {
    guard_void(|| drop(handles::free(i)));
}

fn read<R>(i: *const rsess_instance, f: impl FnOnce(&CimInstance) -> Result<R>) -> Result<R> {
    handles::with(i, |held| f(&held.instance))
}

fn read_property<R>(i: *const rsess_instance, p: usize, f: impl FnOnce(&CimProperty) -> Result<R>) -> Result<R> {
    read(i, |instance| instance.properties.get(p).ok_or_else(|| out_of_range(p)).and_then(f))
}

/// The instance's class name, e.g. `"Win32_Process"`.
#[no_mangle]
pub extern "C" fn rsess_instance_class_name(i: *const rsess_instance, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || read(i, |x| Ok(Some(x.class_name.clone()))))
}

/// The instance's namespace in slash form, e.g. `"root/cimv2"`.
#[no_mangle]
pub extern "C" fn rsess_instance_namespace(i: *const rsess_instance, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || read(i, |x| Ok(Some(x.namespace.clone()))))
}

/// The computer that served the instance.
#[no_mangle]
pub extern "C" fn rsess_instance_server_name(i: *const rsess_instance, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || read(i, |x| Ok(Some(x.server_name.clone()))))
}

/// How many superclasses the instance's class has.
#[no_mangle]
pub extern "C" fn rsess_instance_superclass_count(i: *const rsess_instance, out: *mut usize) -> rsess_result {
    value_out(out, || read(i, |x| Ok(x.superclasses.len())))
}

/// Superclass `k`, nearest first (`CIM_Process` for `Win32_Process`). Errors: INVALID_ARGUMENT out of range.
#[no_mangle]
pub extern "C" fn rsess_instance_superclass(i: *const rsess_instance, k: usize, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || read(i, |x| x.superclasses.get(k).cloned().map(Some).ok_or_else(|| out_of_range(k))))
}

/// How many properties the instance has (in class declaration order).
#[no_mangle]
pub extern "C" fn rsess_instance_property_count(i: *const rsess_instance, out: *mut usize) -> rsess_result {
    value_out(out, || read(i, |x| Ok(x.properties.len())))
}

/// Property `p`'s name. Errors: INVALID_ARGUMENT when `p` is out of range.
#[no_mangle]
pub extern "C" fn rsess_instance_property_name(i: *const rsess_instance, p: usize, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || read_property(i, p, |x| Ok(Some(x.name.clone()))))
}

/// Property `p`'s declared CIM type (`RSESS_CIM_TYPE_*`).
#[no_mangle]
pub extern "C" fn rsess_instance_property_type(i: *const rsess_instance, p: usize, out: *mut rsess_cim_type) -> rsess_result {
    value_out(out, || read_property(i, p, |x| Ok(x.cim_type as u32)))
}

/// Property `p`'s flags: `RSESS_PROPERTY_KEY`, `RSESS_PROPERTY_NULL`.
#[no_mangle]
pub extern "C" fn rsess_instance_property_flags(i: *const rsess_instance, p: usize, out: *mut u32) -> rsess_result {
    value_out(out, || {
        read_property(i, p, |x| Ok(if x.key { RSESS_PROPERTY_KEY } else { 0 } | if x.value.is_null() { RSESS_PROPERTY_NULL } else { 0 }))
    })
}

/// Property `p`'s scalar value in text form: integers in decimal, reals in shortest round-trip form,
/// `true`/`false`, DMTF datetimes (`yyyymmddHHMMSS.mmmmmm+UUU`, intervals `ddddddddHHMMSS.mmmmmm:000`),
/// strings as they are. `*out` is NULL for a null value. Errors: INVALID_ARGUMENT for an array property.
#[no_mangle]
pub extern "C" fn rsess_instance_property_value(i: *const rsess_instance, p: usize, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || {
        read_property(i, p, |x| match &x.value {
            CimValue::Array(_) => Err(Failure::invalid(format!("Property '{}' is an array; read its elements", x.name))),
            value => Ok(value.to_text()),
        })
    })
}

/// How many elements array property `p` has (0 when null). Errors: INVALID_ARGUMENT for a scalar property.
#[no_mangle]
pub extern "C" fn rsess_instance_property_array_len(i: *const rsess_instance, p: usize, out: *mut usize) -> rsess_result {
    value_out(out, || {
        read_property(i, p, |x| match &x.value {
            CimValue::Array(items) => Ok(items.len()),
            CimValue::Null if x.cim_type.is_array() => Ok(0),
            _ => Err(Failure::invalid(format!("Property '{}' is not an array", x.name))),
        })
    })
}

/// Element `k` of array property `p` in the text form of `rsess_instance_property_value`.
/// Errors: INVALID_ARGUMENT for a scalar property or `k` out of range.
#[no_mangle]
pub extern "C" fn rsess_instance_property_element(i: *const rsess_instance, p: usize, k: usize, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || {
        read_property(i, p, |x| match &x.value {
            CimValue::Array(items) => items.get(k).map(CimValue::to_text).ok_or_else(|| out_of_range(k)),
            _ => Err(Failure::invalid(format!("Property '{}' is not an array", x.name))),
        })
    })
}
