//! Frame encode and decode in both encodings, through [`Encoding`] as the access
//! tier calls it, for the three frames of every message: the sender's `send`, the
//! recipients' `msg` push and the sender's `ok`.
//!
//! Throughput is in bytes of the encoded frame, so the two encodings compare both
//! per frame (time) and per byte.

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use koi_proto::frame::Op;
use koi_proto::ok::Body;
use koi_proto::{Encoding, Frame, Message, Ok as OkReply, Send as SendRequest, SendOk};
use std::hint::black_box;

/// A 100-byte text: the size of a typical chat line.
fn text() -> String {
    let text = "Are we still on for lunch tomorrow? I booked the place near the station, \
                12:30 if that works, right?"
        .to_owned();
    assert_eq!(text.len(), 100);
    text
}

/// A client's `send` to a user, as a chat client writes it.
fn send() -> Frame {
    Frame {
        id: 42,
        op: Some(Op::Send(SendRequest {
            to: Some("bob".into()),
            client_msg_id: "c-01jd8k7q2v3x4y5z6a7b8c9d0e".into(),
            kind: "text".into(),
            text: Some(text()),
            ..Default::default()
        })),
    }
}

/// The `msg` push the server fans out for that send.
fn msg() -> Frame {
    Frame {
        id: 0,
        op: Some(Op::Msg(Message {
            conv: "d:alice:bob".into(),
            seq: 1_234,
            id: "01jd8k7q2v3x4y5z6a7b8c9d0f".into(),
            from: "alice".into(),
            kind: "text".into(),
            text: Some(text()),
            ts: 1_795_000_000_000,
            client_msg_id: "c-01jd8k7q2v3x4y5z6a7b8c9d0e".into(),
            ..Default::default()
        })),
    }
}

/// The `ok` the sender gets for that send.
fn ok() -> Frame {
    Frame {
        id: 42,
        op: Some(Op::Ok(OkReply {
            body: Some(Body::Send(SendOk {
                conv: "d:alice:bob".into(),
                seq: 1_234,
                id: "01jd8k7q2v3x4y5z6a7b8c9d0f".into(),
                ts: 1_795_000_000_000,
            })),
        })),
    }
}

fn frames() -> [(&'static str, Frame); 3] {
    [("send", send()), ("msg", msg()), ("ok", ok())]
}
const ENCODINGS: [(&str, Encoding); 2] =
    [("json", Encoding::Json), ("protobuf", Encoding::Protobuf)];

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (frame_name, frame) in frames() {
        for (encoding_name, encoding) in ENCODINGS {
            group.throughput(Throughput::Bytes(encoding.encode(&frame).len() as u64));
            group.bench_with_input(
                BenchmarkId::new(encoding_name, frame_name),
                &frame,
                |b, frame| b.iter(|| encoding.encode(black_box(frame))),
            );
        }
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (frame_name, frame) in frames() {
        for (encoding_name, encoding) in ENCODINGS {
            let bytes = encoding.encode(&frame);
            assert_eq!(encoding.decode(&bytes).expect("decodes"), frame);
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(encoding_name, frame_name),
                &bytes,
                |b, bytes| b.iter(|| encoding.decode(black_box(bytes))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
