//! Records of profiles, privacy settings, per-user conversation settings and
//! group settings (§13).

use koi_core::Privacy;

/// A profile change: each `Some` field is set (`""` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    /// A file id, checked by the caller.
    pub avatar: Option<String>,
    pub status: Option<String>,
}

/// A stored profile; empty strings for what was never set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user: String,
    pub display_name: String,
    pub avatar: String,
    pub status: String,
    /// When the user's last connection closed, in ms.
    pub last_seen: Option<u64>,
    /// The account was deleted (its profile is then empty).
    pub deleted: bool,
    pub privacy: Privacy,
}

/// A privacy change: each `Some` setting is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrivacyUpdate {
    pub dm: Option<koi_core::Audience>,
    pub presence: Option<koi_core::Audience>,
    pub group_add: Option<koi_core::Audience>,
}

/// One user's settings of one conversation; the default is none set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvSettings {
    /// Muted until this time in ms; 0 when not muted.
    pub muted_until: u64,
    pub pinned: bool,
    pub archived: bool,
}

/// A change of one user's settings of one conversation: each `Some` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvSettingsUpdate {
    pub muted_until: Option<u64>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
}

impl ConvSettings {
    /// These settings with `update` applied.
    pub fn updated(self, update: ConvSettingsUpdate) -> Self {
        Self {
            muted_until: update.muted_until.unwrap_or(self.muted_until),
            pinned: update.pinned.unwrap_or(self.pinned),
            archived: update.archived.unwrap_or(self.archived),
        }
    }
}

/// A group settings change: each `Some` field is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUpdate {
    /// Already checked by the caller.
    pub name: Option<String>,
    pub description: Option<String>,
    /// A file id (`""` clears it), checked by the caller.
    pub avatar: Option<String>,
    pub public: Option<bool>,
}
