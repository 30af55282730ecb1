//! State changed at run time on one node and applied by all: the node that
//! takes the change publishes it on `koi.ctl.<name>`, every other node
//! subscribes and applies what arrives. Payloads are the caller's own encoding;
//! this file only carries them.
//!
//! - The word filter (`koi.ctl.filter`): a change is published with a reply
//!   subject and waits (bounded) until every other live node has applied it,
//!   so that the next send sees it on any node. A node that was down while a
//!   change was published does not see it; it starts from its configuration file.
//! - Failed logins (`koi.ctl.login`), so that the login throttle counts a
//!   name's failures on every node: a failure is published with a reply
//!   subject and waits (bounded) until every other live node has counted it.
//! - Registrations and logins admitted per client address (`koi.ctl.addr`), so
//!   that the per-address limits hold for the cluster: published with a reply
//!   subject; the publisher waits (bounded) until every other live node has
//!   spent it from its own bucket.
//! - Users' frame rates (`koi.ctl.rate`): a node tells the others when a user
//!   gets a first or loses a last connection there, so that the nodes holding
//!   a user split the user's rate; plain publishes, nobody waits for them.
//! - Token revocations (`koi.ctl.revoke`): published with a reply subject; the
//!   publisher waits (bounded) until every other live node has applied it, so
//!   that a logout answered is a logout in force everywhere. A node that was
//!   down reads the revocations back from the store when it starts.

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{DEFAULT_TIMEOUT, publish_acknowledged, unavailable};
use crate::ClusterError;

/// The subject of the word filter's changes.
const FILTER_SUBJECT: &str = "koi.ctl.filter";

/// The subject of login outcomes.
const LOGIN_SUBJECT: &str = "koi.ctl.login";

/// The subject of registrations and logins admitted per address.
const ADDR_SUBJECT: &str = "koi.ctl.addr";

/// The subject of users' frame rates.
const RATE_SUBJECT: &str = "koi.ctl.rate";

/// The subject of token revocations.
const REVOKE_SUBJECT: &str = "koi.ctl.revoke";

/// A change another node published (a login outcome, a filter), to apply and
/// then acknowledge.
#[derive(Debug)]
pub struct Notice {
    pub payload: Bytes,
    reply: Option<async_nats::Subject>,
    client: async_nats::Client,
}

impl Notice {
    /// Tells the publisher this node has applied the notice.
    pub async fn acknowledge(self) {
        if let Some(reply) = self.reply
            && let Err(e) = self.client.publish(reply, Bytes::new()).await
        {
            tracing::debug!(error = %e, "acknowledging a login notice failed");
        }
    }
}

/// Publishes and receives settings changes over one NATS client.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    client: async_nats::Client,
}

impl SharedSettings {
    /// Settings over `client` (made with [`connect`](super::connect), which
    /// does not echo a node's own publishes back to it).
    pub fn new(client: async_nats::Client) -> Self {
        Self { client }
    }

    /// Tells every other node the word filter changed to `payload`, and waits
    /// (at most [`DEFAULT_TIMEOUT`]) until `wait_for` of them applied it.
    pub async fn publish_filter(
        &self,
        payload: Bytes,
        wait_for: usize,
    ) -> Result<(), ClusterError> {
        self.acknowledged(FILTER_SUBJECT, payload, wait_for).await
    }

    /// Tells every other node about a login outcome; with `wait_for` > 0,
    /// waits (at most [`DEFAULT_TIMEOUT`]) until that many nodes acknowledged it.
    pub async fn publish_login(&self, payload: Bytes, wait_for: usize) -> Result<(), ClusterError> {
        self.acknowledged(LOGIN_SUBJECT, payload, wait_for).await
    }

    /// The login outcomes other nodes publish from now on.
    pub async fn logins(&self) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        self.notices(LOGIN_SUBJECT, "login outcomes").await
    }

    /// Tells every other node that a registration or login from an address
    /// was admitted, and waits (at most [`DEFAULT_TIMEOUT`]) until `wait_for`
    /// of them spent it.
    pub async fn publish_addr_use(
        &self,
        payload: Bytes,
        wait_for: usize,
    ) -> Result<(), ClusterError> {
        self.acknowledged(ADDR_SUBJECT, payload, wait_for).await
    }

    /// The address uses other nodes publish from now on.
    pub async fn addr_uses(&self) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        self.notices(ADDR_SUBJECT, "address uses").await
    }

    /// Tells every other node about a user's frame rate, without waiting.
    pub async fn publish_rate(&self, payload: Bytes) -> Result<(), ClusterError> {
        self.client
            .publish(RATE_SUBJECT, payload)
            .await
            .map_err(|e| unavailable(format!("publishing a frame rate notice: {e}")))
    }

    /// The frame rate notices other nodes publish from now on.
    pub async fn rate_notices(&self) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        self.notices(RATE_SUBJECT, "frame rate notices").await
    }

    /// The filter changes other nodes publish from now on.
    pub async fn filter_changes(&self) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        self.notices(FILTER_SUBJECT, "filter changes").await
    }

    /// Tells every other node about a token revocation, and waits (at most
    /// [`DEFAULT_TIMEOUT`]) until `wait_for` of them applied it.
    pub async fn publish_revocation(
        &self,
        payload: Bytes,
        wait_for: usize,
    ) -> Result<(), ClusterError> {
        self.acknowledged(REVOKE_SUBJECT, payload, wait_for).await
    }

    /// The revocations other nodes publish from now on.
    pub async fn revocations(&self) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        self.notices(REVOKE_SUBJECT, "revocations").await
    }

    /// Publishes `payload` on `subject` and waits (at most [`DEFAULT_TIMEOUT`])
    /// until `wait_for` other nodes acknowledged it.
    async fn acknowledged(
        &self,
        subject: &str,
        payload: Bytes,
        wait_for: usize,
    ) -> Result<(), ClusterError> {
        publish_acknowledged(
            &self.client,
            subject.to_owned(),
            payload,
            wait_for,
            DEFAULT_TIMEOUT,
        )
        .await
    }

    /// What other nodes publish on `subject` from now on, each with its reply
    /// address; `what` names it in the error.
    async fn notices(
        &self,
        subject: &'static str,
        what: &str,
    ) -> Result<impl Stream<Item = Notice> + use<>, ClusterError> {
        let subscriber = self
            .client
            .subscribe(subject)
            .await
            .map_err(|e| unavailable(format!("subscribing to {what}: {e}")))?;
        let client = self.client.clone();
        Ok(subscriber.map(move |message| Notice {
            payload: message.payload,
            reply: message.reply,
            client: client.clone(),
        }))
    }
}
