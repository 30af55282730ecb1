//! Which socket and encoding a connection uses.

use koi_proto::Encoding;

use crate::http::Node;

/// How a connection talks to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// WebSocket, one JSON frame per text message. Address: a `ws://` URL.
    WsJson,
    /// WebSocket, one protobuf frame per binary message. Address: a `ws://` URL.
    WsProtobuf,
    /// Plain TCP, each protobuf frame prefixed by its `u32` big-endian length.
    /// Address: `host:port`.
    TcpProtobuf,
}

impl Transport {
    /// All three, for tests that run over each.
    pub const ALL: [Transport; 3] = [
        Transport::WsJson,
        Transport::WsProtobuf,
        Transport::TcpProtobuf,
    ];

    /// The encoding of the frames.
    pub fn encoding(self) -> Encoding {
        match self {
            Transport::WsJson => Encoding::Json,
            Transport::WsProtobuf | Transport::TcpProtobuf => Encoding::Protobuf,
        }
    }

    /// True for the WebSocket transports.
    pub fn is_ws(self) -> bool {
        !matches!(self, Transport::TcpProtobuf)
    }

    /// The address of `node` this transport connects to (its `ws` URL or `tcp` address).
    pub fn addr(self, node: &Node) -> &str {
        if self.is_ws() { &node.ws } else { &node.tcp }
    }

    /// The address to dial for `node`: [`Transport::addr`], with `tls://` in
    /// front of a TCP address whose listener speaks TLS.
    pub fn dial_addr(self, node: &Node) -> String {
        match self {
            Transport::TcpProtobuf if node.tls => format!("tls://{}", node.tcp),
            _ => self.addr(node).to_owned(),
        }
    }
}
