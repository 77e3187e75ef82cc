//! Lists: owned string lists (`rsess_string_list`), and the shared body of the lookup-result lists
//! (`rsess_cim_session_list`, `rsess_pssession_list`), each of which only says how to see its object
//! as a [`ListView`].

use std::ffi::c_char;

use super::call::{guard, guard_void, out_ptr, to_c, write};
use super::handles::{self, Handle};
use super::result::{rsess_result, Failure};

/// An owned list of strings.
pub struct rsess_string_list {
    _private: [u8; 0],
}

impl Handle for rsess_string_list {
    type Object = Vec<String>;
}

/// The error for an index beyond a list's end.
pub(crate) fn out_of_range(index: usize) -> Failure {
    Failure::invalid(format!("Index {index} is out of range"))
}

/// How many strings the list holds.
#[no_mangle]
pub extern "C" fn rsess_string_list_len(l: *const rsess_string_list, out: *mut usize) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::with(l, |items| Ok(items.len()))?);
        Ok(())
    })
}

/// The string at `index`, as an owned string. Errors: INVALID_ARGUMENT when `index` is out of range.
#[no_mangle]
pub extern "C" fn rsess_string_list_get(l: *const rsess_string_list, index: usize, out: *mut *mut c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let item = handles::with(l, |items| items.get(index).cloned().ok_or_else(|| out_of_range(index)))?;
        write(out, to_c(&item));
        Ok(())
    })
}

/// Frees a string list. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_string_list_free(l: *mut rsess_string_list) {
    guard_void(|| drop(handles::free(l)));
}

/// A lookup result seen uniformly: how many sessions, session `i`, and the values that found nothing.
pub(crate) struct ListView<'a, T> {
    pub items: &'a [T],
    pub missing: &'a [String],
}

/// A lookup-result handle kind whose items are handles of kind `Item`.
pub(crate) trait LookupList: Handle {
    type Item: Handle;
    /// The list's items and missing values.
    fn view(list: &Self::Object) -> ListView<'_, <Self::Item as Handle>::Object>;
}

/// `*out` = how many sessions the list holds.
pub(crate) fn list_len<L: LookupList>(l: *const L, out: *mut usize) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::with(l, |o| Ok(L::view(o).items.len()))?);
        Ok(())
    })
}

/// `*out` = a new handle to the session at `index`. Errors: INVALID_ARGUMENT when out of range.
pub(crate) fn list_get<L: LookupList>(l: *const L, index: usize, out: *mut *mut L::Item) -> rsess_result
where
    <L::Item as Handle>::Object: Clone,
{
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let item = handles::with(l, |o| L::view(o).items.get(index).cloned().ok_or_else(|| out_of_range(index)))?;
        write(out, handles::insert::<L::Item>(item));
        Ok(())
    })
}

/// `*out` = a new string list of the lookup values that found nothing.
pub(crate) fn list_missing<L: LookupList>(l: *const L, out: *mut *mut rsess_string_list) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let missing = handles::with(l, |o| Ok(L::view(o).missing.to_vec()))?;
        write(out, handles::insert::<rsess_string_list>(missing));
        Ok(())
    })
}
