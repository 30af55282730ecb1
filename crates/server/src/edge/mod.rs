//! The node's edge towards strangers: the HTTP listener with its timeouts and
//! connection limit ([`http`], [`slots`]), TLS with certificate reload ([`tls`]), the
//! WebSocket's bound before `auth` ([`pre_auth`]) and the owner-only data
//! directory ([`private_files`]).

pub mod http;
pub mod pre_auth;
pub mod private_files;
pub mod slots;
pub mod tls;
