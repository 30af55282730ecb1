//! Checks of login sessions and account standing (token revocation).

use std::sync::Arc;

use super::{create_users, user_id};
use crate::{NewSession, Store};

fn session(id: &str, user: &koi_core::UserId, created_at: u64, expires_at: u64) -> NewSession {
    NewSession {
        id: format!("{id}-{}", super::tag()),
        user: user.clone(),
        created_at,
        expires_at,
        user_agent: format!("agent {id}"),
    }
}

/// Sessions are listed live and oldest first; revoking one is the owner's
/// act only and happens once; touching moves last use forward only; revoking
/// them all marks each and moves `tokens_before`; `revocations` reports
/// the revoked unexpired sessions and the accounts that revoked tokens.
pub async fn sessions(store: &Arc<dyn Store>) {
    let [a, b] = create_users(store, ["sess.a", "sess.b"]).await;
    let now = 1_000_000;
    let one = session("one", &a, now, now + 60_000);
    let two = session("two", &a, now + 1, now + 60_000);
    let old = session("old", &a, now - 100_000, now - 1);
    for s in [&one, &two, &old] {
        store
            .create_session(s.clone())
            .await
            .expect("create_session");
    }
    let listed = store.sessions(&a, now + 10).await.expect("sessions");
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [one.id.as_str(), two.id.as_str()],
        "live ones, oldest first"
    );
    assert_eq!(listed[0].user_agent, "agent one");
    assert_eq!(listed[0].last_used_at, now);
    assert!(!listed[0].revoked);

    store
        .touch_session(&one.id, now + 500)
        .await
        .expect("touch");
    store
        .touch_session(&one.id, now + 100)
        .await
        .expect("touch");
    let listed = store.sessions(&a, now + 10).await.expect("sessions");
    assert_eq!(
        listed[0].last_used_at,
        now + 500,
        "last use only moves forward"
    );

    assert_eq!(
        store.revoke_session(&b, &one.id).await.expect("revoke"),
        None,
        "not b's session"
    );
    let revoked = store.revoke_session(&a, &one.id).await.expect("revoke");
    assert_eq!(revoked.map(|r| r.expires_at), Some(now + 60_000));
    assert_eq!(
        store.revoke_session(&a, &one.id).await.expect("revoke"),
        None,
        "already revoked"
    );
    let state = store.revocations(now + 10, now).await.expect("revocations");
    assert!(state.sessions.contains(&(one.id.clone(), now + 60_000)));
    assert!(!state.sessions.iter().any(|(id, _)| *id == two.id));

    store
        .revoke_all_sessions(&a, now + 20)
        .await
        .expect("revoke all");
    assert!(
        store
            .sessions(&a, now + 30)
            .await
            .expect("sessions")
            .is_empty()
    );
    let standing = store.account_state(&a).await.expect("state").expect("a");
    assert_eq!(standing.tokens_before, now + 20);
    store
        .revoke_all_sessions(&a, now + 5)
        .await
        .expect("revoke all");
    let standing = store.account_state(&a).await.expect("state").expect("a");
    assert_eq!(standing.tokens_before, now + 20, "only moves forward");
    let state = store.revocations(now + 30, now).await.expect("revocations");
    assert!(state.sessions.iter().any(|(id, _)| *id == two.id));
    assert!(
        state
            .accounts
            .iter()
            .any(|(name, s)| name == a.as_str() && s.tokens_before == now + 20)
    );
    assert!(!state.accounts.iter().any(|(name, _)| name == b.as_str()));
}

/// Disabling, enabling, password change and deletion: unknown users are
/// `false`; a deleted account keeps its name taken, loses its password and
/// display name, and is reported by `revocations`.
pub async fn account_standing(store: &Arc<dyn Store>) {
    let [a] = create_users(store, ["standing.a"]).await;
    let ghost = user_id("standing.ghost");
    assert!(!store.set_disabled(&ghost, true).await.expect("disable"));
    assert_eq!(store.account_state(&ghost).await.expect("state"), None);
    assert!(store.set_disabled(&a, true).await.expect("disable"));
    assert!(
        store
            .account_state(&a)
            .await
            .expect("state")
            .expect("a")
            .disabled
    );
    let state = store
        .revocations(0, u64::MAX / 2)
        .await
        .expect("revocations");
    assert!(
        state
            .accounts
            .iter()
            .any(|(name, s)| name == a.as_str() && s.disabled)
    );
    assert!(store.set_disabled(&a, false).await.expect("enable"));
    assert!(
        !store
            .account_state(&a)
            .await
            .expect("state")
            .expect("a")
            .disabled
    );

    assert!(
        store
            .set_password(&a, "new hash".into())
            .await
            .expect("set_password")
    );
    assert_eq!(
        store.password_hash(&a).await.expect("hash").as_deref(),
        Some("new hash")
    );
    assert!(
        !store
            .set_password(&ghost, "x".into())
            .await
            .expect("set_password")
    );

    store
        .create_session(session("del", &a, 10, u64::MAX / 4))
        .await
        .expect("create_session");
    assert!(store.delete_account(&a, 77).await.expect("delete"));
    let standing = store.account_state(&a).await.expect("state").expect("a");
    assert!(standing.deleted);
    assert_eq!(standing.tokens_before, 77);
    assert_eq!(
        store.password_hash(&a).await.expect("hash").as_deref(),
        Some("")
    );
    assert_eq!(
        store
            .users_exist(std::slice::from_ref(&a))
            .await
            .expect("exist"),
        [true]
    );
    assert!(store.sessions(&a, 20).await.expect("sessions").is_empty());
    assert!(
        !store
            .set_password(&a, "again".into())
            .await
            .expect("set_password")
    );
    assert!(!store.delete_account(&ghost, 1).await.expect("delete"));
}
