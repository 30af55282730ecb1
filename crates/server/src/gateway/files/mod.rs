//! Files (§8, §15): `POST /v1/files` and `GET /v1/files/{id}`, and the sweep
//! that deletes uploads no message took up.
//!
//! - [`upload`]: the handler: name and quota checks, then [`spool`] writes the
//!   bytes, and the record is stored only once every byte is on disk.
//! - [`spool`]: writing one upload to disk, and telling a full disk apart.
//! - [`download`]: the handler: access rule, then the bytes with safe headers.
//! - [`disposition`]: which types are shown inline, and the attachment header.
//! - [`in_flight`]: bytes being uploaded, per user, for the quota.
//! - [`sweep`]: deleting unreferenced uploads after `unreferenced_file_ttl_s`.

mod disposition;
mod download;
mod in_flight;
mod spool;
mod sweep;
mod upload;

pub(super) use download::download;
pub use in_flight::InFlight;
pub use sweep::spawn_sweep;
pub(super) use upload::upload;
