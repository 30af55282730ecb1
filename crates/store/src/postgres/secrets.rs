//! Secrets every node of a cluster must share, kept in the `cluster_secrets`
//! table: the first node to ask makes one, every later node (and every node
//! asking at the same moment) reads that one back.

use super::PostgresStore;
use crate::StoreError;

impl PostgresStore {
    /// The secret called `name`, made now from `len` random bytes if the
    /// cluster has none yet. Insert-if-absent then read back, so nodes starting
    /// together agree on one value.
    pub async fn shared_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let fresh: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        let client = self.reader().await?;
        client
            .execute(
                "INSERT INTO cluster_secrets (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &fresh],
            )
            .await?;
        let row = client
            .query_one(
                "SELECT value FROM cluster_secrets WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(row.try_get(0)?)
    }
}
