//! The shared body of the lookup-result lists (`rsess_cim_session_list`, `rsess_pssession_list`): each
//! kind only says how to see its object as a [`ListView`].

use super::handles::{self, Object};
use super::session::{out_of_range, rsess_string_list};
use super::{guard, out_ptr, rsess_result, write};

/// A lookup result seen uniformly: how many sessions, a new handle object for session `i`, and the
/// values that found nothing.
pub(crate) struct ListView<'a> {
    pub len: usize,
    pub item: Box<dyn Fn(usize) -> Option<Object> + 'a>,
    pub missing: &'a [String],
}

/// Sees an object as a list of one kind; `None` for any other kind of object.
pub(crate) type View = for<'a> fn(&'a Object) -> Option<ListView<'a>>;

fn with_view<T, R>(l: *const T, view: View, read: impl FnOnce(ListView<'_>) -> crate::error::Result<R>) -> crate::error::Result<R> {
    handles::with(l, |o| match view(o) {
        Some(v) => read(v),
        None => Err(handles::invalid_handle()),
    })
}

/// `*out` = how many sessions the list holds.
pub(crate) fn list_len<T>(l: *const T, out: *mut usize, view: View) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, with_view(l, view, |v| Ok(v.len))?);
        Ok(())
    })
}

/// `*out` = a new handle to the session at `index`. Errors: INVALID_ARGUMENT when out of range.
pub(crate) fn list_get<T, U>(l: *const T, index: usize, out: *mut *mut U, view: View) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let item = with_view(l, view, |v| (v.item)(index).ok_or_else(|| out_of_range(index)))?;
        write(out, handles::insert(item));
        Ok(())
    })
}

/// `*out` = a new string list of the lookup values that found nothing.
pub(crate) fn list_missing<T>(l: *const T, out: *mut *mut rsess_string_list, view: View) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let missing = with_view(l, view, |v| Ok(v.missing.to_vec()))?;
        write(out, handles::insert(Object::StringList(missing)));
        Ok(())
    })
}

