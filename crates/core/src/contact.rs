/// How a contact stands, seen from one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactState {
    /// Both have added each other.
    Mutual,
    /// I added them; they have not added me.
    Requested,
    /// They added me; I have not added them.
    Incoming,
    /// I blocked them.
    Blocked,
}

impl ContactState {
    /// The state from my side, given what each side has done.
    ///
    /// `None` when there is no relation to show.
    pub fn from_edges(i_added: bool, i_blocked: bool, they_added: bool) -> Option<Self> {
        match (i_blocked, i_added, they_added) {
            (true, _, _) => Some(ContactState::Blocked),
            (false, true, true) => Some(ContactState::Mutual),
            (false, true, false) => Some(ContactState::Requested),
            (false, false, true) => Some(ContactState::Incoming),
            (false, false, false) => None,
        }
    }

    /// The state as the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactState::Mutual => "mutual",
            ContactState::Requested => "requested",
            ContactState::Incoming => "incoming",
            ContactState::Blocked => "blocked",
        }
    }
}
