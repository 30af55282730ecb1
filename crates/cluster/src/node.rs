use serde::{Deserialize, Serialize};

/// A node as the registry knows it: where clients reach it and how loaded it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub roles: Vec<String>,
    /// WebSocket URL clients connect to, e.g. `ws://127.0.0.1:7780/ws`.
    pub ws: String,
    /// TCP `host:port` clients connect to.
    pub tcp: String,
    /// Whether the TCP listener speaks TLS (the `ws` URL says so by itself:
    /// `wss://`). Absent in older announcements: false.
    #[serde(default)]
    pub tls: bool,
    pub connections: u64,
    pub users: u64,
    pub msgs_in_per_s: f64,
    pub msgs_out_per_s: f64,
    /// Milliseconds since the Unix epoch.
    pub started_at: u64,
}

impl NodeInfo {
    /// Whether clients may be dispatched to this node.
    pub fn is_access(&self) -> bool {
        self.roles.iter().any(|r| r == "access")
    }
}
