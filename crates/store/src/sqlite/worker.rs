//! The store's own threads (writer, sync, checkpoint): started by name,
//! joined when their handle drops.

use std::thread::JoinHandle;

use crate::StoreError;

/// A running thread, waited for on drop. Put it after whatever tells the
/// thread to stop (a channel's sender), so that the stop comes first: fields
/// drop in their order.
pub(super) struct Worker(Option<JoinHandle<()>>);

impl Worker {
    /// Starts `run` on a thread called `name`.
    pub(super) fn start(
        name: &str,
        run: impl FnOnce() + Send + 'static,
    ) -> Result<Self, StoreError> {
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(run)
            .map_err(|e| StoreError::Internal(format!("cannot start the {name} thread: {e}")))?;
        Ok(Self(Some(thread)))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let name = thread.thread().name().unwrap_or("store").to_owned();
            if thread.join().is_err() {
                tracing::error!("the {name} thread panicked");
            }
        }
    }
}
