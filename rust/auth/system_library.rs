//! System libraries loaded at run time (dlopen), so that users of the mechanisms that need none of
//! them (Basic) need nothing installed: MIT Kerberos' GSSAPI ([`super::gssapi`]) and OpenSSL's
//! libcrypto ([`super::pkcs12`]). A library, once opened, stays open for the life of the process.

use std::ffi::{c_void, CString};

/// An opened library.
#[derive(Clone, Copy)]
pub(super) struct Library(*mut c_void);

impl Library {
    /// Opens `chosen` if given, else the first of `names` that loads; Err(the name to show in an
    /// error: `chosen`, else the first of `names`) when none does.
    pub(super) fn open(chosen: Option<&str>, names: &[&str]) -> std::result::Result<Library, String> {
        let candidates: Vec<&str> = chosen.map_or_else(|| names.to_vec(), |c| vec![c]);
        candidates
            .iter()
            .find_map(|name| {
                let c = CString::new(*name).ok()?;
                // SAFETY: dlopen with a NUL-terminated name; the handle is never closed.
                let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
                (!h.is_null()).then_some(Library(h))
            })
            .ok_or_else(|| candidates.first().copied().unwrap_or_default().to_string())
    }

    /// The address of the function `name`, or null when the library has none.
    pub(super) fn symbol(self, name: &str) -> *mut c_void {
        let c = CString::new(name).expect("a symbol name has no NUL");
        // SAFETY: a handle from dlopen that is never closed, and a NUL-terminated name.
        unsafe { libc::dlsym(self.0, c.as_ptr()) }
    }
}

/// The function at `address` as the function pointer type `F`.
///
/// # Safety
/// `address` must be a function whose C signature `F` declares.
pub(super) unsafe fn function<F: Copy>(address: *mut c_void) -> F {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    std::mem::transmute_copy::<*mut c_void, F>(&address)
}
