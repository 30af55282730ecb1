//! The embedded implementations: one process, no engine.

mod registry;
mod router;

pub use registry::LocalRegistry;
pub use router::LocalRouter;
