//! Files in S3 (issue #21): a cluster whose nodes keep files' bytes in an S3
//! bucket (a moto server started for the test) serves every file from every
//! node, and a large file streams through a node, in and out, without the
//! node's memory growing with it. (`files.rs` runs every file test on such a
//! cluster too, as `files::cluster_s3::*`.)

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

use crate::harness::{
    Endpoint, Koi, Node, Topology, http, on_each_topology, on_s3_cluster, register_login, unique,
};

on_s3_cluster!(
    a_file_uploaded_to_one_node_is_served_by_every_node,
    large_files_stream_through_in_bounded_memory
);
on_each_topology!(large_files_stream_through_in_bounded_memory);

/// Bytes whose misplaced parts would show (251 is prime: no period of a
/// power of two).
fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

/// `POST /v1/files` of `body` to `node`; the new file's id and SHA-256.
async fn upload(node: &Node, token: &str, name: &str, body: reqwest::Body) -> (String, String) {
    let res = http()
        .post(format!("{}/v1/files", node.base()))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 201, "{body}");
    let field = |key: &str| body[key].as_str().expect(key).to_owned();
    (field("file_id"), field("sha256"))
}

/// `GET /v1/files/{id}` from `node`, with a `Range` header when given.
async fn download(node: &Node, token: &str, id: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = http()
        .get(format!("{}/v1/files/{id}", node.base()))
        .bearer_auth(token);
    if let Some(range) = range {
        req = req.header(RANGE, range);
    }
    req.send().await.expect("download")
}

/// The acceptance test of issue #21: a file of three S3 parts (a multipart
/// upload, the last part short) uploaded through node 0 is in the bucket once
/// acknowledged, and nodes 1 and 2, which never saw it, serve it whole (200)
/// and in ranges (206 with `Content-Range`, one inside a part and one across
/// a part boundary); a range past the end answers 416.
async fn a_file_uploaded_to_one_node_is_served_by_every_node(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = register_login(&koi, &unique("s3")).await;
    let part = koi_store::OBJECT_PART;
    let size = 2 * part + 12_345;
    let bytes = pattern(0, size);
    let (id, sha256) = upload(koi.node(0), &token, "pond.bin", bytes.clone().into()).await;
    assert_eq!(sha256, hex(&Sha256::digest(&bytes)));
    assert!(
        koi.s3().has_file(&id).await.unwrap(),
        "acknowledged only once the object is in the bucket"
    );

    for node in &koi.nodes()[1..] {
        let res = download(node, &token, &id, None).await;
        assert_eq!(res.status(), 200);
        assert!(res.bytes().await.unwrap() == bytes, "the same bytes, whole");

        for (from, to) in [(2, 5), (part - 10, part + 9), (size - 100, size - 1)] {
            let res = download(node, &token, &id, Some(&format!("bytes={from}-{to}"))).await;
            assert_eq!(res.status(), 206);
            assert_eq!(
                res.headers()[CONTENT_RANGE],
                format!("bytes {from}-{to}/{size}").as_str()
            );
            assert!(
                res.bytes().await.unwrap() == bytes[from..=to],
                "bytes {from}-{to}"
            );
        }
        let res = download(node, &token, &id, Some(&format!("bytes={size}-"))).await;
        assert_eq!(res.status(), 416, "a range past the end");
    }
}

/// The large file: 64 MiB, more than a node could hold a few of.
const LARGE: usize = 64 * 1024 * 1024;

/// How much a node's peak resident memory may grow while a [`LARGE`] file
/// goes through it: half the file. A node that held the file in memory at
/// any moment would pass this; one upload to S3 takes one 5 MiB part, but
/// the allocator may keep a part's buffer per worker thread, and a busy
/// machine may have several parts' buffers live at once.
const GROWTH_BOUND_KIB: u64 = (LARGE / 2 / 1024) as u64;

/// A 64 MiB upload, sent in 64 KiB chunks, goes in through node 0 and out
/// through the last node (in a cluster, one that fetches it from the shared
/// store) with the same SHA-256, and neither node's peak resident memory
/// (`VmHWM`) grows by half the file: the bytes stream through disk
/// and the store, never all in memory. A small file through the same nodes
/// first, so that first-use allocations (connection pools) are not counted.
async fn large_files_stream_through_in_bounded_memory(topology: Topology) {
    let limit = LARGE.to_string();
    let koi = Koi::start_with(
        topology,
        &[
            "--max-file-bytes",
            &limit,
            "--max-user-bytes",
            &(2 * LARGE).to_string(),
        ],
    )
    .await;
    let token = register_login(&koi, &unique("big")).await;
    let (writer, reader) = (koi.node(0), koi.node(koi.nodes().len() - 1));
    let (warm, _) = upload(writer, &token, "warm.bin", pattern(0, 100_000).into()).await;
    assert_eq!(download(reader, &token, &warm, None).await.status(), 200);

    let nodes = if topology == Topology::Embedded {
        vec![writer]
    } else {
        vec![writer, reader]
    };
    let before: Vec<u64> = nodes.iter().map(|n| n.memory_kib("VmHWM")).collect();

    const CHUNK: usize = 64 * 1024;
    let chunks = futures::stream::iter(
        (0..LARGE / CHUNK).map(|i| Ok::<_, std::io::Error>(Bytes::from(pattern(i * CHUNK, CHUNK)))),
    );
    let (id, sha256) = upload(
        writer,
        &token,
        "large.bin",
        reqwest::Body::wrap_stream(chunks),
    )
    .await;
    assert_eq!(sha256, hex(&Sha256::digest(pattern(0, LARGE))));

    let res = download(reader, &token, &id, None).await;
    assert_eq!(res.status(), 200);
    let mut received = 0;
    let mut hasher = Sha256::new();
    let mut body = res.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("download chunk");
        received += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(received, LARGE);
    assert_eq!(hex(&hasher.finalize()), sha256, "the same bytes out");

    for (node, before) in nodes.iter().zip(before) {
        let after = node.memory_kib("VmHWM");
        let grown = after.saturating_sub(before);
        assert!(
            grown < GROWTH_BOUND_KIB,
            "peak memory (VmHWM) of the node on {} grew by {grown} KiB for a {} KiB file \
             ({before} -> {after} KiB)",
            node.base(),
            LARGE / 1024
        );
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
