//! The C ABI (`rsess_*`), after rustls-ffi: opaque handles, one `_free` per handle kind that accepts
//! NULL, stable numeric result codes, outputs written only on success, panics caught at the boundary.
//! This layer converts between C and Rust and holds no logic of its own; see `bindings/c/remote_sessions.h`.
//!
//! Conventions for every function here:
//! - Strings are UTF-8 and NUL-terminated. Strings returned through `char **out` belong to the caller,
//!   who frees them with `rsess_string_free`.
//! - `rsess_error **err` out-parameters are optional: pass NULL when the details are not wanted; on
//!   failure a new error handle is stored there, to be freed with `rsess_error_free`.
//! - Handles are keys into a process-wide table, so stale, freed or wrong-kind handles give
//!   `RSESS_RESULT_INVALID_HANDLE` and never undefined behaviour. All functions are thread-safe.
//!
//! Files, each importing only those listed before it: [`result`] (codes and failures), [`handles`]
//! (the typed table), [`call`] (the calling convention), [`constants`], [`error`], [`lists`],
//! [`cancel`], [`session`] (scopes, options, credentials, CIM sessions), [`certificate`] (client
//! certificate credentials), [`instance`], [`view`],
//! [`class`], [`transport`], [`pssession`], [`psvalue`] (values crossing a PowerShell session),
//! [`pipeline`] (sessions the library opens and the pipelines run in them).

#![allow(non_camel_case_types)]

pub mod call;
pub mod cancel;
pub mod certificate;
pub mod class;
pub mod constants;
pub mod error;
pub(crate) mod handles;
pub mod instance;
pub mod lists;
pub mod pipeline;
pub mod pssession;
pub mod psvalue;
pub mod result;
pub mod session;
pub mod shells;
pub mod transport;
pub mod view;
