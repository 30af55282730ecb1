//! A user's privacy settings (§13): who may start a direct conversation with
//! them, who sees their presence and last seen, who may add them to a group.

/// Who a setting lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Every user (but one the owner blocked).
    Everyone,
    /// The owner's contacts (see [`Privacy`] for which kind each setting means).
    Contacts,
    /// Nobody but the owner.
    Nobody,
}

impl Audience {
    /// The value as the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Everyone => "everyone",
            Audience::Contacts => "contacts",
            Audience::Nobody => "nobody",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(Audience::Everyone),
            "contacts" => Some(Audience::Contacts),
            "nobody" => Some(Audience::Nobody),
            _ => None,
        }
    }
}

/// The three settings, with the protocol's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Privacy {
    /// Who may start a direct conversation: `everyone` or `contacts` (the
    /// users the owner added).
    pub dm: Audience,
    /// Who sees online state and `last_seen`: `contacts` (mutual contacts and
    /// co-members of small groups) or `nobody`.
    pub presence: Audience,
    /// Who may add the owner to a group: `everyone` or `contacts` (the users
    /// the owner added).
    pub group_add: Audience,
}

impl Default for Privacy {
    fn default() -> Self {
        Self {
            dm: Audience::Everyone,
            presence: Audience::Contacts,
            group_add: Audience::Everyone,
        }
    }
}

impl Privacy {
    /// The values each setting accepts.
    pub const DM: [Audience; 2] = [Audience::Everyone, Audience::Contacts];
    pub const PRESENCE: [Audience; 2] = [Audience::Contacts, Audience::Nobody];
    pub const GROUP_ADD: [Audience; 2] = [Audience::Everyone, Audience::Contacts];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_defaults_match_the_protocol() {
        for a in [Audience::Everyone, Audience::Contacts, Audience::Nobody] {
            assert_eq!(Audience::parse(a.as_str()), Some(a));
        }
        assert_eq!(Audience::parse("friends"), None);
        let d = Privacy::default();
        assert_eq!(
            (d.dm.as_str(), d.presence.as_str(), d.group_add.as_str()),
            ("everyone", "contacts", "everyone")
        );
    }
}
