//! The connections of this node with the token each authenticated with, so
//! that a revocation or an expiry finds the connections it ends.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use koi_cluster::{ConnHandle, ConnId};

use crate::tokens::Verified;

#[derive(Default)]
pub(super) struct LiveTokens {
    conns: HashMap<ConnId, (Arc<ConnHandle>, Verified)>,
    /// `(expiry in s, connection)`, soonest first.
    expiries: BTreeSet<(u64, ConnId)>,
}

impl LiveTokens {
    pub(super) fn insert(&mut self, conn: &Arc<ConnHandle>, token: Verified) {
        self.expiries.insert((token.expires_s, conn.id()));
        self.conns.insert(conn.id(), (conn.clone(), token));
    }

    pub(super) fn remove(&mut self, id: ConnId) {
        if let Some((_, token)) = self.conns.remove(&id) {
            self.expiries.remove(&(token.expires_s, id));
        }
    }

    /// The connections whose token `refuses` (a scan: revocations are rare).
    pub(super) fn matching(&self, refuses: impl Fn(&Verified) -> bool) -> Vec<Arc<ConnHandle>> {
        self.conns
            .values()
            .filter(|(_, token)| refuses(token))
            .map(|(conn, _)| conn.clone())
            .collect()
    }

    /// The connections whose token expired at `now_s` (they stay tracked
    /// until they close).
    pub(super) fn expired(&mut self, now_s: u64) -> Vec<Arc<ConnHandle>> {
        let mut out = Vec::new();
        while let Some(&(exp, id)) = self.expiries.first() {
            if exp > now_s {
                break;
            }
            self.expiries.pop_first();
            if let Some((conn, _)) = self.conns.get(&id) {
                out.push(conn.clone());
            }
        }
        out
    }
}
