//! A cancel token: another thread (a cmdlet's StopProcessing, `rsess_cancel_cancel`) stops the
//! network operations that carry it.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, ErrorKind};

/// Cancels running operations from another thread. Once cancelled it stays so: the operation waiting
/// now, and every later one given this token, fail with Cancelled.
#[derive(Default)]
pub struct Cancel {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    /// Cancels, waking the operation waiting now.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True once [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The error an operation stopped by a cancel fails with (Cancelled).
    pub fn error() -> Error {
        Error::new(ErrorKind::Cancelled, "The operation was cancelled")
    }

    /// Ready once cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
