use std::fmt;

use crate::{ErrorCode, KoiError, UserId};

/// A conversation: `d:<a>:<b>` (a < b), `g:<id>` or `s:<user>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConvId {
    /// The direct conversation between two users, stored in byte order.
    Direct(UserId, UserId),
    /// A group, by its bare server-generated id.
    Group(String),
    /// A user's system conversation (server pushes, read-only for the user).
    System(UserId),
}

impl ConvId {
    /// The direct conversation between `x` and `y`, whichever order they come in.
    pub fn direct(x: &UserId, y: &UserId) -> Self {
        if x <= y {
            ConvId::Direct(x.clone(), y.clone())
        } else {
            ConvId::Direct(y.clone(), x.clone())
        }
    }

    /// Parses a conversation name; a direct one must be in byte order with two
    /// distinct users.
    pub fn parse(name: &str) -> Result<Self, KoiError> {
        let bad = || {
            KoiError::new(
                ErrorCode::BadRequest,
                format!("invalid conversation {name:?}"),
            )
        };
        let (prefix, rest) = name.split_once(':').ok_or_else(bad)?;
        match prefix {
            "d" => {
                let (a, b) = rest.split_once(':').ok_or_else(bad)?;
                let (a, b) = (
                    UserId::parse(a).map_err(|_| bad())?,
                    UserId::parse(b).map_err(|_| bad())?,
                );
                if a < b {
                    Ok(ConvId::Direct(a, b))
                } else {
                    Err(bad())
                }
            }
            "g" if is_group_id(rest) => Ok(ConvId::Group(rest.to_owned())),
            "s" => Ok(ConvId::System(UserId::parse(rest).map_err(|_| bad())?)),
            _ => Err(bad()),
        }
    }

    /// The kind as `sync` reports it: `direct`, `group` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConvId::Direct(..) => "direct",
            ConvId::Group(_) => "group",
            ConvId::System(_) => "system",
        }
    }

    /// The users the name says the conversation is theirs: both members of a
    /// direct one, the owner of a system one; none for a group (its members
    /// are kept with the group).
    pub fn named_users(&self) -> Vec<&UserId> {
        match self {
            ConvId::Direct(a, b) => vec![a, b],
            ConvId::System(user) => vec![user],
            ConvId::Group(_) => Vec::new(),
        }
    }

    /// For a direct conversation that `me` is part of, the other user.
    pub fn peer_of(&self, me: &UserId) -> Option<&UserId> {
        match self {
            ConvId::Direct(a, b) if a == me => Some(b),
            ConvId::Direct(a, b) if b == me => Some(a),
            _ => None,
        }
    }
}

/// Group ids are server-generated; accept the same safe alphabet as user names,
/// so they never contain a separator.
fn is_group_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

impl fmt::Display for ConvId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvId::Direct(a, b) => write!(f, "d:{a}:{b}"),
            ConvId::Group(id) => write!(f, "g:{id}"),
            ConvId::System(user) => write!(f, "s:{user}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    #[test]
    fn direct_is_ordered_by_bytes() {
        let conv = ConvId::direct(&user("bob"), &user("alice"));
        assert_eq!(conv.to_string(), "d:alice:bob");
        assert_eq!(ConvId::parse("d:alice:bob").unwrap(), conv);
        assert_eq!(conv.peer_of(&user("alice")), Some(&user("bob")));
        assert_eq!(conv.peer_of(&user("carol")), None);
        assert_eq!(conv.named_users(), [&user("alice"), &user("bob")]);
        assert_eq!(ConvId::System(user("bob")).named_users(), [&user("bob")]);
        assert!(ConvId::Group("01HX".into()).named_users().is_empty());
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "",
            "d:bob:alice",
            "d:alice:alice",
            "d:alice",
            "x:1",
            "g:",
            "g:a:b",
            "s:",
            "s:Bob",
        ] {
            assert!(ConvId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ConvId::parse("g:01HX").unwrap(),
            ConvId::Group("01HX".into())
        );
        assert_eq!(ConvId::parse("s:bob").unwrap().kind(), "system");
    }
}
