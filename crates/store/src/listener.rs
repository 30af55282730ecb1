//! The commit listener's slot, shared by the writers of every store.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{PoisonError, RwLock};

use crate::{CommitListener, Committed};

/// Where a writer keeps its commit listener. The writer clones the listener out
/// and never calls it under the lock.
#[derive(Default)]
pub(crate) struct ListenerSlot(RwLock<Option<CommitListener>>);

impl ListenerSlot {
    /// Installs (or replaces) the listener.
    pub(crate) fn set(&self, listener: CommitListener) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(listener);
    }

    /// Hands a commit's new messages to the listener, if there are any and one
    /// is set. The messages move: fan-out takes them without copying.
    pub(crate) fn announce(&self, announced: Vec<Committed>) {
        if announced.is_empty() {
            return;
        }
        let listener = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(listener) = listener {
            // The messages are durable whatever the listener does; a panic in it
            // must not take the writer down with it.
            if catch_unwind(AssertUnwindSafe(|| listener(announced))).is_err() {
                tracing::error!("the commit listener panicked");
            }
        }
    }
}
