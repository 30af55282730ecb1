//! What an account must be to be created, by `POST /v1/register` or in bulk by
//! `POST /v1/admin/users`: one set of rules for both.

use koi_core::{ErrorCode, KoiError, UserId};

use crate::passwords::MIN_PASSWORD_LEN;

/// The most bytes of a password and of a display name.
pub(super) const MAX_PASSWORD_BYTES: usize = 1024;
pub(super) const MAX_DISPLAY_NAME_BYTES: usize = 256;

/// An account that passed the checks, not yet stored.
#[derive(Debug)]
pub(super) struct NewAccount {
    pub(super) name: UserId,
    pub(super) password: String,
    pub(super) display_name: Option<String>,
}

impl NewAccount {
    /// Checks the name (valid, not the reserved `system`: `conflict`), the
    /// password (at least [`MIN_PASSWORD_LEN`] characters) and the lengths
    /// (`bad_request`). Whether the name is taken is the store's to say.
    pub(super) fn check(
        username: &str,
        password: String,
        display_name: Option<String>,
    ) -> Result<Self, KoiError> {
        let name = UserId::parse(username)?;
        if name.as_str() == "system" {
            return Err(KoiError::new(
                ErrorCode::Conflict,
                "the name system is reserved",
            ));
        }
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(KoiError::bad_request(format!(
                "the password must have at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        if password.len() > MAX_PASSWORD_BYTES
            || display_name
                .as_ref()
                .is_some_and(|d| d.len() > MAX_DISPLAY_NAME_BYTES)
        {
            return Err(KoiError::bad_request("password or display_name too long"));
        }
        Ok(Self {
            name,
            password,
            display_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_register_refuses() {
        let ok = NewAccount::check("alice", "12345678".into(), Some("Alice".into())).unwrap();
        assert_eq!(ok.name.as_str(), "alice");
        let code = |name: &str, password: &str, display: Option<String>| {
            NewAccount::check(name, password.into(), display)
                .unwrap_err()
                .code
        };
        assert_eq!(code("system", "12345678", None), ErrorCode::Conflict);
        assert_eq!(code("Bad Name", "12345678", None), ErrorCode::BadRequest);
        assert_eq!(code("bob", "short", None), ErrorCode::BadRequest);
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(code("bob", &long, None), ErrorCode::BadRequest);
        let display = Some("d".repeat(MAX_DISPLAY_NAME_BYTES + 1));
        assert_eq!(code("bob", "12345678", display), ErrorCode::BadRequest);
    }
}
