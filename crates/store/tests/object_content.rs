//! Files' bytes in S3 ([`ObjectContent`]), against a real S3 API: an
//! ephemeral moto server (`scripts/install-moto`; without it these tests fail).

use std::path::Path;

use koi_store::testing::MotoServer;
use koi_store::{FileContent, ObjectContent};

async fn moto() -> MotoServer {
    MotoServer::start()
        .await
        .expect("moto_server (install it with scripts/install-moto)")
}

/// Bytes whose misplaced parts would show.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|name| name.contains("fetch-"))
        .collect()
}

/// A file kept through one node's content is fetched, byte for byte, by
/// another's: several multipart parts (the last one short), exactly one
/// part, less than a part, and an empty file; an unknown id is not found
/// and leaves nothing behind.
#[tokio::test]
async fn kept_files_reach_another_node() {
    let moto = moto().await;
    let (a, b): (ObjectContent, ObjectContent) = (
        moto.content().expect("content"),
        moto.content().expect("content"),
    );
    let part = koi_store::OBJECT_PART;
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes = [
        ("parts", 2 * part + part / 2),
        ("one", part),
        ("small", 1000),
        ("empty", 0),
    ];
    for (id, size) in sizes {
        let bytes = pattern(size);
        let upload = dir.path().join(format!("{id}-upload"));
        std::fs::write(&upload, &bytes).expect("write upload");
        a.keep(id, &upload).await.expect("keep");

        let copy = dir.path().join(format!("{id}-copy"));
        assert!(b.fetch(id, &copy).await.expect("fetch"), "{id} found");
        assert!(
            std::fs::read(&copy).expect("read copy") == bytes,
            "{id}: same bytes"
        );
    }
    let missing = dir.path().join("missing");
    assert!(!b.fetch("nosuchfile", &missing).await.expect("fetch"));
    assert!(!missing.exists(), "nothing placed for an unknown file");
    assert!(part_files(dir.path()).is_empty(), "no part files left");
}

/// `forget` deletes the object (no node can fetch it afterwards) and is
/// content with an object that is already gone.
#[tokio::test]
async fn forgotten_files_are_gone() {
    let moto = moto().await;
    let content = moto.content().expect("content");
    let dir = tempfile::tempdir().expect("temp dir");
    let upload = dir.path().join("upload");
    std::fs::write(&upload, pattern(4096)).expect("write upload");
    content.keep("gone", &upload).await.expect("keep");
    content.forget("gone").await.expect("forget");
    content.forget("gone").await.expect("forget again");
    assert!(
        !content
            .fetch("gone", &dir.path().join("copy"))
            .await
            .expect("fetch"),
        "deleted from the bucket"
    );
}

/// `check` passes on the bucket and fails on one that does not exist, so
/// that a node with a wrong bucket stops at start.
#[tokio::test]
async fn check_finds_a_missing_bucket() {
    let moto = moto().await;
    moto.content()
        .expect("content")
        .check()
        .await
        .expect("the bucket exists");
    let wrong = moto.content_in("no-such-bucket").expect("content");
    assert!(wrong.check().await.is_err(), "a missing bucket is reported");
}
