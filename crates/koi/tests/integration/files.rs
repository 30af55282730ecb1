//! Files (§5, §8): upload, download, HTTP Range, authentication, the size
//! bound, and messages carrying a file reference.
//!
//! Every test runs on each topology, and on a cluster that keeps files in S3
//! (`cluster_s3::*`); in a cluster a file is uploaded through one node and
//! downloaded through others.

use bytes::Bytes;
use koi_client::{Api, Http};
use koi_proto::Send;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{
    Endpoint, Koi, TRANSPORTS, Topology, http, next_msg, on_each_topology, on_s3_cluster,
    register_login, unique, upload,
};

/// Each test on each topology and on a cluster with S3.
macro_rules! file_tests {
    ($($test:ident),+ $(,)?) => {
        on_each_topology!($($test),+);
        on_s3_cluster!($($test),+);
    };
}

file_tests!(
    upload_download_and_range,
    files_need_a_user_and_an_existing_id,
    uploads_over_max_file_bytes_are_refused,
    file_messages_round_trip,
    file_responses_never_run_as_pages,
    files_are_served_only_to_the_uploader_and_readers,
    user_quota_and_unreferenced_uploads_are_deleted,
    a_full_disk_answers_507_and_keeps_nothing,
    tokens_in_file_urls_are_refused,
    file_names_lose_control_characters,
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

/// A token for a fresh user.
async fn someone(koi: &Koi) -> String {
    register_login(koi, &unique("filer")).await
}

/// Upload answers 201 with `{file_id, name, size, mime, sha256}` — the SHA-256
/// of the bytes sent; download returns the same bytes with their
/// `Content-Type` to the uploader (another user who holds no message with it
/// gets 404); `Range: bytes=2-5` answers 206 with exactly those four bytes.
/// (In the cluster the downloads go through every node.)
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
    assert_eq!(res.status(), 404, "not the uploader's and in no message");
    let res = http().get(url()).bearer_auth(&token).send().await.unwrap();
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

    // A client that sends a whole over-long body before reading the answer
    // (as many HTTP libraries do) gets the 413, not a reset connection: the
    // body is larger than the socket buffers, so it only goes out if the
    // node reads it.
    let addr = koi.base().trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let large = payload(8 << 20);
    let head = format!(
        "POST /v1/files?name=e.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        large.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
        .write_all(&large)
        .await
        .expect("the node reads a refused body rather than reset the connection");
    let mut answer = vec![0u8; 12];
    socket.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");

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

/// `GET /v1/files/{id}` as `token`, through the next node.
async fn get(koi: &Koi, token: &str, file_id: &str) -> reqwest::Response {
    http()
        .get(format!("{}/v1/files/{file_id}", koi.base()))
        .bearer_auth(token)
        .send()
        .await
        .expect("download")
}

/// The status of `GET /v1/files/{id}` as `token`; a 404 must look exactly
/// like the one for a file that does not exist.
async fn status_of(koi: &Koi, token: &str, file_id: &str) -> u16 {
    let res = get(koi, token, file_id).await;
    let status = res.status().as_u16();
    if status == 404 {
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(
            body["error"]["message"].as_str(),
            Some(format!("no file {file_id}").as_str()),
            "no hint that the file exists"
        );
    }
    status
}

/// Uploads `bytes` as `token`; panics unless 201; returns the file id.
async fn put(koi: &Koi, token: &str, name: &str, mime: &str, bytes: Vec<u8>) -> String {
    let (status, body) = upload(koi, Some(token), name, mime, bytes.into()).await;
    assert_eq!(status, 201, "{body}");
    body["file_id"].as_str().expect("file_id").to_owned()
}

/// Defect 1 (issue 19): an uploaded HTML or SVG file must never run as a page
/// on the chat's origin. Every file response (also a range) carries
/// `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`;
/// only raster images, audio and video are `inline`, everything else an
/// `attachment` whose name is safely encoded (RFC 6266 `filename*`).
async fn file_responses_never_run_as_pages(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = someone(&koi).await;
    let cases = [
        ("page.html", "text/html", "attachment"),
        ("drawing.svg", "image/svg+xml", "attachment"),
        ("page.xhtml", "application/xhtml+xml", "attachment"),
        ("run.js", "text/javascript", "attachment"),
        ("doc.pdf", "application/pdf", "attachment"),
        ("pond.png", "image/png", "inline"),
        ("pond.jpg", "image/jpeg", "inline"),
        ("pond.gif", "image/gif", "inline"),
        ("pond.webp", "image/webp", "inline"),
        ("song.ogg", "audio/ogg", "inline"),
        ("clip.mp4", "video/mp4", "inline"),
    ];
    let body = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    for (name, mime, disposition) in cases {
        let id = put(&koi, &token, name, mime, body.clone()).await;
        for range in [None, Some("bytes=0-9")] {
            let mut req = http()
                .get(format!("{}/v1/files/{id}", koi.base()))
                .bearer_auth(&token);
            if let Some(range) = range {
                req = req.header(RANGE, range);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                if range.is_some() { 206 } else { 200 },
                "{name}"
            );
            let headers = res.headers();
            assert_eq!(headers["x-content-type-options"], "nosniff", "{name}");
            assert_eq!(headers["content-security-policy"], "sandbox", "{name}");
            assert_eq!(headers[CONTENT_TYPE], mime, "{name}");
            let value = headers["content-disposition"].to_str().unwrap();
            assert_eq!(
                value,
                format!("{disposition}; filename=\"{name}\"; filename*=UTF-8''{name}"),
                "{name}"
            );
        }
    }

    // A name with quotes, a backslash and non-ASCII letters stays one
    // parameter: the ASCII fallback replaces them, `filename*` keeps them.
    let id = put(&koi, &token, "a\"b\\c ü.html", "text/html", body.clone()).await;
    let res = get(&koi, &token, &id).await;
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"a_b_c _.html\"; filename*=UTF-8''a%22b%5Cc%20%C3%BC.html"
    );
    assert_eq!(res.bytes().await.unwrap(), body);
}

/// Defect 11 (issue 19): a file is served only to its uploader and to users who
/// can read a message carrying it; anyone else gets the same 404 as for a file
/// that does not exist. Recalling the message takes the readers' access away
/// (the uploader keeps it); a member kicked from a group loses it; and knowing
/// an id is not enough to pass the file on in a message of one's own.
async fn files_are_served_only_to_the_uploader_and_readers(topology: Topology) {
    let koi = Koi::start(topology).await;
    let transport = TRANSPORTS[0];
    let (alice, a) = koi.user("alice", transport).await;
    let (bob, b) = koi.user("bob", transport).await;
    let (carol, c) = koi.user("carol", transport).await;
    let (dave, _d) = koi.user("dave", transport).await;
    let [ta, tb, tc, td] = [
        crate::harness::login(&koi, &alice).await,
        crate::harness::login(&koi, &bob).await,
        crate::harness::login(&koi, &carol).await,
        crate::harness::login(&koi, &dave).await,
    ];
    let client = Http::new(&koi.base()).unwrap().with_token(&ta);
    let info = client
        .upload_file("secret.pdf", "application/pdf", payload(300))
        .await
        .unwrap();
    let id = info.file_id.clone();
    assert_eq!(status_of(&koi, &ta, &id).await, 200, "the uploader");
    for token in [&tb, &tc, &td] {
        assert_eq!(status_of(&koi, token, &id).await, 404, "before any message");
    }

    // A direct message to bob: bob reads it, nobody else.
    let send = |to: &str, cmid: &str| Send {
        kind: "file".into(),
        text: None,
        file: Some(info.to_file()),
        ..koi_client::text_send(to, cmid, "")
    };
    let direct = a.send(send(&bob, "acl-1")).await.unwrap();
    assert_eq!(
        status_of(&koi, &tb, &id).await,
        200,
        "bob reads the message"
    );
    assert_eq!(status_of(&koi, &tc, &id).await, 404, "carol does not");

    // Knowing the id, carol cannot pass the file on to gain access.
    let err = c.send(send(&alice, "acl-steal")).await.unwrap_err();
    assert_eq!(err.code(), Some("bad_request"), "{err}");
    assert_eq!(status_of(&koi, &tc, &id).await, 404);

    // In a group: every member reads it, until kicked.
    let group = a
        .group_create("acl", [carol.as_str()], false)
        .await
        .unwrap();
    a.send(send(&format!("g:{}", group.id), "acl-g"))
        .await
        .unwrap();
    assert_eq!(status_of(&koi, &tc, &id).await, 200, "a group member");
    a.group_kick(&group.id, &carol).await.unwrap();
    assert_eq!(
        status_of(&koi, &tc, &id).await,
        404,
        "kicked from the group"
    );

    // Recalled: bob's access goes with the message (and he can no longer pass
    // the file on); alice keeps hers.
    a.recall(&direct.conv, direct.seq).await.unwrap();
    assert_eq!(status_of(&koi, &tb, &id).await, 404, "recalled");
    assert_eq!(
        status_of(&koi, &ta, &id).await,
        200,
        "the uploader keeps it"
    );
    let err = b.send(send(&dave, "acl-late")).await.unwrap_err();
    assert_eq!(err.code(), Some("bad_request"), "{err}");

    // Sent again, bob may pass it on: dave reads it then.
    a.send(send(&bob, "acl-2")).await.unwrap();
    assert_eq!(status_of(&koi, &td, &id).await, 404);
    b.send(send(&dave, "acl-fwd")).await.unwrap();
    assert_eq!(status_of(&koi, &td, &id).await, 200, "forwarded to dave");
}

/// Defect 5 (issue 19): one user cannot fill the disk. Uploads beyond
/// `max_user_bytes` answer 413 `too_large` (declared or found while
/// streaming); an upload no message references within
/// `unreferenced_file_ttl_s` is deleted (bytes and record, on every node), a
/// referenced one stays, and the deleted bytes stop counting towards the
/// quota.
async fn user_quota_and_unreferenced_uploads_are_deleted(topology: Topology) {
    let koi = Koi::start_with(
        topology,
        &["--max-user-bytes", "3000", "--unreferenced-file-ttl-s", "5"],
    )
    .await;
    let transport = TRANSPORTS[0];
    let (alice, a) = koi.user("alice", transport).await;
    let (bob, _b) = koi.user("bob", transport).await;
    let ta = crate::harness::login(&koi, &alice).await;
    let tb = crate::harness::login(&koi, &bob).await;

    // A referenced file, sent at once (well within the 5 s).
    let client = Http::new(&koi.base()).unwrap().with_token(&ta);
    let kept = client
        .upload_file("kept.bin", "application/octet-stream", payload(500))
        .await
        .unwrap();
    a.send(Send {
        kind: "file".into(),
        text: None,
        file: Some(kept.to_file()),
        ..koi_client::text_send(&bob, "quota-1", "")
    })
    .await
    .unwrap();
    let loose = put(
        &koi,
        &ta,
        "loose.bin",
        "application/octet-stream",
        payload(2000),
    )
    .await;

    // 2,500 of 3,000 bytes are used: 1,000 more are refused, declared or not.
    let (status, body) = upload(
        &koi,
        Some(&ta),
        "more.bin",
        "application/octet-stream",
        payload(1000).into(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(payload(400).into()), Ok(payload(400).into())];
    let (status, body) = upload(
        &koi,
        Some(&ta),
        "more.bin",
        "application/octet-stream",
        reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    // Another user has a quota of their own.
    put(
        &koi,
        &tb,
        "bobs.bin",
        "application/octet-stream",
        payload(2900),
    )
    .await;

    // The unreferenced upload goes (on every node: a 404 through each).
    let started = std::time::Instant::now();
    loop {
        let mut gone = true;
        for _ in koi.nodes() {
            gone &= status_of(&koi, &ta, &loose).await == 404;
        }
        if gone {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the unreferenced upload was not deleted within 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for token in [&ta, &tb] {
        let res = get(&koi, token, &kept.file_id).await;
        assert_eq!(res.status(), 200, "a referenced file stays");
        assert_eq!(res.bytes().await.unwrap(), payload(500));
    }
    if topology == Topology::ClusterS3 {
        let s3 = koi.s3();
        assert!(
            !s3.has_file(&loose).await.unwrap(),
            "the swept file's object is deleted from the bucket"
        );
        assert!(s3.has_file(&kept.file_id).await.unwrap());
    }
    // Its 2,000 bytes no longer count.
    put(
        &koi,
        &ta,
        "more.bin",
        "application/octet-stream",
        payload(2000),
    )
    .await;
}

/// Defect 4 (issue 19): an upload that meets a full disk is never acknowledged
/// short. Each node runs with a 512 KiB tmpfs as its files dir (its own mount
/// namespace, through `unshare`): a 600 KiB upload answers 507 with code
/// `unavailable`, and leaves nothing behind: neither the partial bytes (a
/// 300 KiB upload then fits) nor a record (it would count towards the
/// 800 KiB quota and refuse the 300 KiB).
async fn a_full_disk_answers_507_and_keeps_nothing(topology: Topology) {
    let koi = Koi::start_env(
        topology,
        &["--max-user-bytes", "819200"],
        &[(crate::harness::FILES_TMPFS, "524288")],
    )
    .await;
    let token = someone(&koi).await;
    for _ in koi.nodes() {
        let (status, body) = upload(
            &koi,
            Some(&token),
            "big.bin",
            "application/octet-stream",
            payload(600 * 1024).into(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (507, Some("unavailable")),
            "{body}"
        );
    }
    let small = payload(300 * 1024);
    let (status, body) = upload(
        &koi,
        Some(&token),
        "small.bin",
        "application/octet-stream",
        small.clone().into(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["size"], 300 * 1024);
    let id = body["file_id"].as_str().unwrap();
    let res = get(&koi, &token, id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), small);
}

/// Tokens never go in URLs: `?access_token=` is not a credential (401), for
/// files and every other endpoint.
async fn tokens_in_file_urls_are_refused(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = someone(&koi).await;
    let id = put(&koi, &token, "a.txt", "text/plain", b"hello".to_vec()).await;
    let res = http()
        .get(format!("{}/v1/files/{id}", koi.base()))
        .query(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = http()
        .get(format!("{}/v1/dispatch", koi.base()))
        .query(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// The `name` of an upload loses control and direction-override characters
/// (so a header or a listing cannot be split or disguised) and stays within
/// 255 bytes (longer: 400).
async fn file_names_lose_control_characters(topology: Topology) {
    let koi = Koi::start(topology).await;
    let token = someone(&koi).await;
    let (status, body) = upload(
        &koi,
        Some(&token),
        "in\r\nvoice\u{202E}fdp.exe\u{0}",
        "application/octet-stream",
        "x".into(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "invoicefdp.exe");
    let (status, body) = upload(
        &koi,
        Some(&token),
        &"n".repeat(256),
        "text/plain",
        "x".into(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
}
