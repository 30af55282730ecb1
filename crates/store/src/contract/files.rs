//! Checks of file references: which conversations carry a file, the per-user
//! total, and the deletion of unreferenced uploads.

use std::sync::Arc;

use koi_core::ConvId;

use super::{create_users, group_id, text, unique};
use crate::{FileRecord, NewGroup, Store};

/// A record of `owner`'s created at `created_ms`, `size` bytes.
fn upload(owner: &str, base: &str, size: u64, created_ms: u64) -> FileRecord {
    FileRecord {
        id: unique(base).replace('.', "x"),
        owner: owner.to_owned(),
        name: format!("{base}.bin"),
        size,
        mime: "application/octet-stream".into(),
        sha256: "cd".repeat(32),
        created_ms,
    }
}

fn as_file(record: &FileRecord) -> koi_proto::File {
    koi_proto::File {
        file_id: record.id.clone(),
        name: record.name.clone(),
        size: record.size,
        mime: record.mime.clone(),
    }
}

/// A message carrying a file is its reference, in the conversation it was sent
/// to (each conversation listed once, whatever the number of messages); a
/// recall takes the message's reference away; user_file_bytes sums the
/// owner's kept files.
pub async fn file_references(store: &Arc<dyn Store>) {
    let [a, b, c] = create_users(store, ["frefs.a", "frefs.b", "frefs.c"]).await;
    let f = upload(a.as_str(), "fref-f", 1_000, 10);
    let g = upload(a.as_str(), "fref-g", 234, 11);
    store.put_file(f.clone()).await.expect("put_file");
    store.put_file(g.clone()).await.expect("put_file");
    assert_eq!(store.user_file_bytes(&a).await.expect("bytes"), 1_234);
    assert_eq!(store.user_file_bytes(&c).await.expect("bytes"), 0);
    assert!(store.file_convs(&f.id).await.expect("refs").is_empty());

    let direct = ConvId::direct(&a, &b);
    let mut first = text(&direct, &a, "", "fr-1");
    first.kind = "file".into();
    first.file = Some(as_file(&f));
    let first = store.append(first).await.expect("append").message;
    let mut second = text(&direct, &b, "", "fr-2");
    second.file = Some(as_file(&f));
    let second = store.append(second).await.expect("append").message;
    let group = store
        .create_group(NewGroup {
            id: group_id("frefs"),
            name: "refs".into(),
            owner: a.clone(),
            public: false,
            members: vec![c.clone()],
            max_members: 10,
        })
        .await
        .expect("group");
    let in_group = ConvId::Group(group.id.clone());
    let mut third = text(&in_group, &a, "", "fr-3");
    third.file = Some(as_file(&f));
    let third = store.append(third).await.expect("append").message;

    let mut convs = store.file_convs(&f.id).await.expect("refs");
    convs.sort_by_key(|c| c.to_string());
    let mut expected = vec![direct.clone(), in_group.clone()];
    expected.sort_by_key(|c| c.to_string());
    assert_eq!(convs, expected, "each conversation once");
    assert!(store.file_convs(&g.id).await.expect("refs").is_empty());

    // Recalling one of two messages in a conversation keeps it listed.
    store.recall(&direct, first.seq).await.expect("recall");
    let mut convs = store.file_convs(&f.id).await.expect("refs");
    convs.sort_by_key(|c| c.to_string());
    assert_eq!(convs, expected);
    store.recall(&direct, second.seq).await.expect("recall");
    store.recall(&in_group, third.seq).await.expect("recall");
    assert!(
        store.file_convs(&f.id).await.expect("refs").is_empty(),
        "recalled messages reference nothing"
    );
}

/// unreferenced_files lists old files no message carries, oldest first;
/// delete_unreferenced_file deletes only those (a referenced or too new file
/// stays), once, and the owner's total drops with it.
pub async fn unreferenced_file_sweep(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["fsweep.a", "fsweep.b"]).await;
    let kept = upload(a.as_str(), "fsweep-kept", 100, 1);
    let loose = upload(a.as_str(), "fsweep-loose", 20, 2);
    let recent = upload(a.as_str(), "fsweep-new", 3, 5_000);
    for record in [&kept, &loose, &recent] {
        store.put_file(record.clone()).await.expect("put_file");
    }
    let conv = ConvId::direct(&a, &b);
    let mut message = text(&conv, &a, "", "fs-1");
    message.file = Some(as_file(&kept));
    store.append(message).await.expect("append");

    let ours = |found: Vec<FileRecord>| -> Vec<String> {
        found
            .into_iter()
            .map(|r| r.id)
            .filter(|id| [&kept.id, &loose.id, &recent.id].contains(&id))
            .collect()
    };
    let old = store.unreferenced_files(1_000, 1_000).await.expect("sweep");
    assert_eq!(ours(old), vec![loose.id.clone()]);
    let all = store
        .unreferenced_files(10_000, 1_000)
        .await
        .expect("sweep");
    assert_eq!(ours(all), vec![loose.id.clone(), recent.id.clone()]);

    assert!(
        !store
            .delete_unreferenced_file(&kept.id, 1_000)
            .await
            .expect("delete"),
        "a referenced file stays"
    );
    assert!(
        !store
            .delete_unreferenced_file(&recent.id, 1_000)
            .await
            .expect("delete"),
        "a new file stays"
    );
    assert!(
        store
            .delete_unreferenced_file(&loose.id, 1_000)
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_unreferenced_file(&loose.id, 1_000)
            .await
            .expect("delete"),
        "deleted once"
    );
    assert_eq!(store.file(&loose.id).await.expect("file"), None);
    assert!(store.file(&kept.id).await.expect("file").is_some());
    assert_eq!(store.user_file_bytes(&a).await.expect("bytes"), 103);
}
