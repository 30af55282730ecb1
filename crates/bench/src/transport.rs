//! The `--transport` flag: which transport and encoding every connection of a
//! run uses, and its name in the reports.

use clap::ValueEnum;
use koi_client::Transport;

/// A transport and encoding, as `--transport` names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TransportArg {
    WsJson,
    WsProtobuf,
    TcpProtobuf,
}

impl TransportArg {
    pub fn transport(self) -> Transport {
        match self {
            TransportArg::WsJson => Transport::WsJson,
            TransportArg::WsProtobuf => Transport::WsProtobuf,
            TransportArg::TcpProtobuf => Transport::TcpProtobuf,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TransportArg::WsJson => "ws-json",
            TransportArg::WsProtobuf => "ws-protobuf",
            TransportArg::TcpProtobuf => "tcp-protobuf",
        }
    }
}
