//! Admin provisioning (a Koi extension): `POST /v1/admin/users` creates
//! accounts in bulk and `POST /v1/admin/tokens` issues login tokens for
//! existing ones without a password check.
//!
//! For operators (bulk imports, service accounts, bots) and for `koi bench`,
//! whose setup would otherwise pay an argon2 hash for every registration and
//! every login: a request hashes each distinct password once, however many
//! accounts share it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use futures::{StreamExt, TryStreamExt};
use koi_core::{KoiError, UserId};
use koi_store::{NewUser, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Gateway;
use super::bearer::AdminAuth;
use super::new_account::NewAccount;
use crate::http_error::HttpError;
use crate::passwords;

/// Accounts or tokens per request: bounds one call's work and its reply.
const MAX_PER_REQUEST: usize = 1000;
/// Distinct passwords hashed at once: fewer than the hashing queue holds.
const HASHES_AT_ONCE: usize = 4;
/// Account inserts in flight at once; the store commits concurrent writes
/// together, so this is also about how many share a commit.
const WRITES_IN_FLIGHT: usize = 256;

#[derive(Deserialize)]
pub(super) struct UsersBody {
    users: Vec<AccountBody>,
}

#[derive(Deserialize)]
struct AccountBody {
    username: String,
    password: String,
    display_name: Option<String>,
}

/// `POST /v1/admin/users {users: [{username, password, display_name?}]}` →
/// `{created, existing}`. Existing accounts are left as they are. Not atomic:
/// after a failure some accounts may exist, and repeating the request is safe.
pub(super) async fn create_users(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    body: Result<Json<UsersBody>, JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(body) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let accounts = check_accounts(body.users)?;
    let store = gateway.logic.store();
    let names: Vec<UserId> = accounts.iter().map(|a| a.name.clone()).collect();
    let exist = store.users_exist(&names).await?;
    let new: Vec<NewAccount> = accounts
        .into_iter()
        .zip(exist)
        .filter_map(|(account, exists)| (!exists).then_some(account))
        .collect();
    let mut existing = names.len() - new.len();

    // One hash (and so one salt) per distinct password in the request; a few
    // at a time, within the hashing pool's bounded queue.
    let distinct: Vec<&str> = new
        .iter()
        .map(|a| a.password.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let owned: Vec<String> = distinct.iter().map(|p| (*p).to_owned()).collect();
    let hashed: Vec<String> = futures::stream::iter(owned)
        .map(passwords::hash)
        .buffered(HASHES_AT_ONCE)
        .try_collect()
        .await?;
    let hashes: HashMap<&str, String> = distinct.into_iter().zip(hashed).collect();
    let users: Vec<NewUser> = new
        .iter()
        .map(|account| NewUser {
            name: account.name.clone(),
            password_hash: hashes[account.password.as_str()].clone(),
            display_name: account.display_name.clone(),
        })
        .collect();
    let mut results = futures::stream::iter(users)
        .map(|user| store.create_user(user))
        .buffer_unordered(WRITES_IN_FLIGHT);
    let mut created = 0;
    while let Some(result) = results.next().await {
        match result {
            Ok(()) => created += 1,
            // Created meanwhile by someone else.
            Err(StoreError::Conflict(_)) => existing += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(json!({"created": created, "existing": existing})))
}

/// The checks of `POST /v1/register`, for a whole request: any failure refuses
/// all of it, as `bad_request` naming the account.
fn check_accounts(accounts: Vec<AccountBody>) -> Result<Vec<NewAccount>, KoiError> {
    check_count(accounts.len(), "users")?;
    let mut seen = HashSet::new();
    accounts
        .into_iter()
        .map(|a| {
            let account = NewAccount::check(&a.username, a.password, a.display_name)
                .map_err(|e| KoiError::bad_request(format!("{}: {}", a.username, e.message)))?;
            if !seen.insert(account.name.clone()) {
                let name = &account.name;
                return Err(KoiError::bad_request(format!("{name} is listed twice")));
            }
            Ok(account)
        })
        .collect()
}

#[derive(Deserialize)]
pub(super) struct TokensBody {
    username: Option<String>,
    usernames: Option<Vec<String>>,
}

/// `POST /v1/admin/tokens {username}` or `{usernames: [...]}` →
/// `{tokens: {name: token}, expires_at}`: tokens as `POST /v1/login` issues
/// them; 404 when any name is not a user (and then no token is issued).
pub(super) async fn issue_tokens(
    State(gateway): State<Arc<Gateway>>,
    _admin: AdminAuth,
    body: Result<Json<TokensBody>, JsonRejection>,
) -> Result<Json<Value>, HttpError> {
    let Json(body) = body.map_err(|e| KoiError::bad_request(e.body_text()))?;
    let names = match (body.username, body.usernames) {
        (Some(name), None) => vec![name],
        (None, Some(names)) => names,
        _ => {
            return Err(
                KoiError::bad_request("give either `username` or `usernames`, not both").into(),
            );
        }
    };
    check_count(names.len(), "usernames")?;
    let names = names
        .iter()
        .map(|n| UserId::parse(n))
        .collect::<Result<Vec<_>, _>>()?;
    let exist = gateway.logic.store().users_exist(&names).await?;
    let unknown: Vec<&str> = names
        .iter()
        .zip(&exist)
        .filter_map(|(name, exists)| (!exists).then_some(name.as_str()))
        .collect();
    if !unknown.is_empty() {
        let shown = unknown.iter().take(10).copied().collect::<Vec<_>>();
        return Err(KoiError::not_found(format!(
            "{} unknown user(s): {}",
            unknown.len(),
            shown.join(", ")
        ))
        .into());
    }
    let mut tokens = BTreeMap::new();
    let mut expires_at = u64::MAX;
    for name in names {
        let issued = gateway.tokens.issue(&name, None);
        expires_at = expires_at.min(issued.expires_at);
        tokens.insert(name.into_string(), issued.token);
    }
    Ok(Json(json!({"tokens": tokens, "expires_at": expires_at})))
}

fn check_count(n: usize, field: &str) -> Result<(), KoiError> {
    if n == 0 || n > MAX_PER_REQUEST {
        return Err(KoiError::bad_request(format!(
            "`{field}` takes 1 to {MAX_PER_REQUEST} entries, not {n}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::new_account::MAX_PASSWORD_BYTES;
    use super::*;

    fn account(name: &str, password: &str) -> AccountBody {
        AccountBody {
            username: name.to_owned(),
            password: password.to_owned(),
            display_name: None,
        }
    }

    #[test]
    fn a_request_is_refused_whole_for_one_bad_account() {
        let ok = check_accounts(vec![account("a", "12345678"), account("b", "12345678")]);
        assert_eq!(ok.unwrap().len(), 2);
        for bad in [
            vec![account("a", "12345678"), account("Bad", "12345678")],
            vec![account("a", "short")],
            vec![account("system", "12345678")],
            vec![account("a", "12345678"), account("a", "87654321")],
            vec![account("a", &"x".repeat(MAX_PASSWORD_BYTES + 1))],
            vec![],
            (0..=MAX_PER_REQUEST)
                .map(|i| account(&format!("u{i}"), "12345678"))
                .collect(),
        ] {
            let e = check_accounts(bad).unwrap_err();
            assert_eq!(e.code, koi_core::ErrorCode::BadRequest, "{e:?}");
        }
    }
}
