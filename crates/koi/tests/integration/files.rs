//! Files (§5, §8): upload, download, HTTP Range, authentication, the size
//! bound, and messages carrying a file reference.
//!
//! Every test runs on each topology; in the cluster a file is uploaded through
//! one node and downloaded through others.

use bytes::Bytes;
use koi_client::{Api, Http};
use koi_proto::Send;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, http, next_msg, on_each_topology, register_login, unique,
};

on_each_topology!(
    upload_download_and_range,
    files_need_a_user_and_an_existing_id,
    uploads_over_max_file_bytes_are_refused,
    file_messages_round_trip,
);

/// Bytes that are not all alike, so ranges and hashes mean something.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 256) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST /v1/files?name=` with `body` as `mime`, as `token` (none: no header).
async fn upload(
    koi: &Koi,
    token: Option<&str>,
    name: &str,
    mime: &str,
    body: reqwest::Body,
) -> (u16, Value) {
    let mut req = http()
        .post(format!("{}/v1/files", koi.base()))
        .query(&[("name", name)])
        .header(CONTENT_TYPE, mime)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("upload");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A token for a fresh user.
async fn someone(koi: &Koi) -> String {
    register_login(koi, &unique("filer")).await
}

/// Upload answers 201 with `{file_id, name, size, mime, sha256}` — the SHA-256
/// of the bytes sent; download returns the same bytes with their
/// `Content-Type`, to any user; `Range: bytes=2-5` answers 206 with exactly
/// those four bytes. (In the cluster the downloads go through every node.)
async fn upload_download_and_range(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = someone(&koi).await;
    let bytes = payload(10_000);
    let (status, body) = upload(
        &koi,
        Some(&token),
        "koi pond.png",
        "image/png",
        bytes.clone().into(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let file_id = body["file_id"].as_str().expect("file_id").to_owned();
    assert!(!file_id.is_empty());
    assert_eq!(body["name"], "koi pond.png");
    assert_eq!(body["size"], 10_000);
    assert_eq!(body["mime"], "image/png");
    assert_eq!(body["sha256"].as_str(), Some(sha256_hex(&bytes).as_str()));

    let other = someone(&koi).await;
    // Each request through the next node.
    let url = || format!("{}/v1/files/{file_id}", koi.base());
    let res = http().get(url()).bearer_auth(&other).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(res.bytes().await.unwrap(), bytes);

    let res = http()
        .get(url())
        .bearer_auth(&token)
        .header(RANGE, "bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()[CONTENT_RANGE], "bytes 2-5/10000");
    assert_eq!(res.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(res.bytes().await.unwrap(), bytes[2..=5]);

    let res = http()
        .get(url())
        .bearer_auth(&token)
        .header(RANGE, "bytes=9990-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), bytes[9990..]);

    // The same through the client library, with an empty file (uploaded and
    // downloaded through different nodes).
    let client = || Http::new(&koi.base()).unwrap().with_token(&token);
    let empty = client()
        .upload_file("empty.txt", "text/plain", Bytes::new())
        .await
        .unwrap();
    assert_eq!((empty.size, empty.mime.as_str()), (0, "text/plain"));
    assert_eq!(empty.sha256, sha256_hex(b""));
    let download = client().download_file(&empty.file_id).await.unwrap();
    assert!(download.bytes.is_empty());
    assert_eq!(download.mime.as_deref(), Some("text/plain"));
}

/// Upload and download without a valid token answer 401; an unknown file id
/// answers 404; all with a JSON error body.
async fn files_need_a_user_and_an_existing_id(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = someone(&koi).await;
    let (status, body) = upload(&koi, None, "a.txt", "text/plain", "hello".into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = upload(&koi, Some("not-a-token"), "a.txt", "text/plain", "x".into()).await;
    assert_eq!(status, 401);

    let (status, body) = upload(&koi, Some(&token), "a.txt", "text/plain", "hello".into()).await;
    assert_eq!(status, 201);
    let url = format!(
        "{}/v1/files/{}",
        koi.base(),
        body["file_id"].as_str().unwrap()
    );
    let res = http().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401, "download without a token");
    let res = http()
        .get(&url)
        .header(AUTHORIZATION, "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "download with a bad token");

    for id in ["nosuchfile", "0000000000000000"] {
        let res = http()
            .get(format!("{}/v1/files/{id}", koi.base()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}

/// An upload over `max_file_bytes` answers 413 `too_large`, whether its size is
/// declared (`Content-Length`) or only found while streaming a chunked body;
/// exactly the limit, and a chunked body under it, are accepted whole.
async fn uploads_over_max_file_bytes_are_refused(topology: Topology) {
    let koi = Koi::start_with(topology, &["--max-file-bytes", "1024"]).await;
    let token = someone(&koi).await;

    let exact = payload(1024);
    let (status, body) = upload(
        &koi,
        Some(&token),
        "a.bin",
        "application/octet-stream",
        exact.clone().into(),
    )
    .await;
    assert_eq!((status, body["size"].as_u64()), (201, Some(1024)));
    assert_eq!(body["sha256"].as_str(), Some(sha256_hex(&exact).as_str()));

    let (status, body) = upload(
        &koi,
        Some(&token),
        "b.bin",
        "application/octet-stream",
        payload(1025).into(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );

    // Chunked: no Content-Length, so the bound is found while reading.
    let chunked = |sizes: &[usize]| {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            sizes.iter().map(|&n| Ok(Bytes::from(payload(n)))).collect();
        reqwest::Body::wrap_stream(futures::stream::iter(chunks))
    };
    let req = http()
        .post(format!("{}/v1/files?name=c.bin", koi.base()))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(chunked(&[600, 600, 600]))
        .build()
        .unwrap();
    assert!(
        !req.headers().contains_key(CONTENT_LENGTH),
        "a chunked body"
    );
    let res = http().execute(req).await.unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");

    let (status, body) = upload(
        &koi,
        Some(&token),
        "d.bin",
        "application/octet-stream",
        chunked(&[300, 300]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["size"], 600);
    let mut whole = payload(300);
    whole.extend(payload(300));
    assert_eq!(body["sha256"].as_str(), Some(sha256_hex(&whole).as_str()));
}

/// Messages of kind `image`, `file` and `gif` carry the uploaded file's
/// reference `{file_id, name, size, mime}` in the push and in history, and the
/// referenced bytes download unchanged.
async fn file_messages_round_trip(topology: Topology) {
    let koi = Koi::start(topology).await;
    for transport in TRANSPORTS {
        let (alice, a) = koi.user("alice", transport).await;
        let (bob, b) = koi.user("bob", transport).await;
        let token = crate::harness::login(&koi, &alice).await;
        let client = Http::new(&koi.base()).unwrap().with_token(&token);
        let mut sent = Vec::new();
        for (kind, name, mime, len) in [
            ("image", "photo.jpg", "image/jpeg", 2048),
            ("file", "report.pdf", "application/pdf", 4096),
            ("gif", "dance.gif", "image/gif", 512),
        ] {
            let bytes = payload(len);
            let info = client.upload_file(name, mime, bytes.clone()).await.unwrap();
            assert_eq!(info.sha256, sha256_hex(&bytes));
            let send = Send {
                kind: kind.into(),
                text: None,
                file: Some(info.to_file()),
                ..koi_client::text_send(&bob, &format!("f-{kind}"), "")
            };
            let ok = a.send(send).await.unwrap();
            sent.push((ok, kind, info, bytes));
        }

        let history = b.history(&sent[0].0.conv, None, None, None).await.unwrap();
        assert_eq!(history.len(), 3);
        for ((ok, kind, info, bytes), stored) in sent.iter().zip(&history) {
            let pushed = next_msg(&b).await;
            for msg in [&pushed, stored] {
                assert_eq!(
                    (msg.seq, msg.kind.as_str()),
                    (ok.seq, *kind),
                    "{transport:?}"
                );
                assert_eq!(msg.from, alice);
                assert_eq!(msg.text, None);
                let file = msg.file.as_ref().expect("the file reference");
                assert_eq!(file, &info.to_file(), "{kind}");
            }
            let download = Http::new(&koi.base())
                .unwrap()
                .with_token(crate::harness::login(&koi, &bob).await)
                .download_file(&pushed.file.unwrap().file_id)
                .await
                .unwrap();
            assert_eq!(download.bytes, bytes[..]);
            assert_eq!(download.mime.as_deref(), Some(info.mime.as_str()));
        }

        // A caption may ride along with the file.
        let info = &sent[0].2;
        let captioned = Send {
            kind: "image".into(),
            text: Some("look!".into()),
            file: Some(info.to_file()),
            ..koi_client::text_send(&bob, "f-caption", "")
        };
        a.send(captioned).await.unwrap();
        let msg = next_msg(&b).await;
        assert_eq!(msg.text.as_deref(), Some("look!"));
        assert_eq!(msg.file.as_ref(), Some(&info.to_file()));
    }
}
