//! Which servers the client believes: the certificate authorities it checks a
//! node's certificate against, for `https://`, `wss://` and TLS over TCP (§15).
//!
//! By default the system's roots (as a browser would), so a node with a
//! certificate from a public CA needs nothing. A node with a private CA or a
//! self-signed certificate is trusted by adding that certificate's PEM file
//! ([`Trust::with_ca_file`]); there is no switch that turns checking off.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{ClientError, Result};

/// The certificate authorities a client accepts. Cheap to clone.
#[derive(Clone)]
pub struct Trust {
    /// For WebSocket and TCP connections.
    tls: Arc<ClientConfig>,
    /// The certificates added to the system's, for the HTTP client.
    extra: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// The system's root certificates (those it could read; none on a system
    /// without a store, so that only added certificates are trusted). Read
    /// once per process.
    pub fn system() -> Self {
        static SYSTEM: LazyLock<Trust> =
            LazyLock::new(|| Trust::build(RootCertStore::empty(), Vec::new()));
        SYSTEM.clone()
    }

    /// The system's roots and every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self> {
        let bad = |why: String| ClientError::Trust(format!("{}: {why}", path.display()));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in the file".into()));
        }
        // Unlike the system's, a certificate the user named must be usable.
        let mut added = RootCertStore::empty();
        for cert in &certs {
            added
                .add(cert.clone())
                .map_err(|e| bad(format!("not a usable certificate: {e}")))?;
        }
        Ok(Self::build(added, certs))
    }

    /// The system's roots plus `added` (the certificates of `extra`).
    fn build(added: RootCertStore, extra: Vec<CertificateDer<'static>>) -> Self {
        let mut roots = added;
        // A store that cannot be read (or a certificate in it that does not
        // parse) leaves fewer roots, never a connection that is not checked.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        let tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        Trust {
            tls: Arc::new(tls),
            extra,
        }
    }

    /// The configuration of a TLS connection to a node.
    pub(crate) fn tls(&self) -> Arc<ClientConfig> {
        self.tls.clone()
    }

    /// An HTTP client that trusts the same authorities.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder().no_proxy();
        for cert in &self.extra {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(cert)?);
        }
        Ok(builder.build()?)
    }
}

impl Default for Trust {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("added_certificates", &self.extra.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_usable_certificate_is_refused() {
        let dir = std::env::temp_dir().join(format!("koi-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let garbled = dir.join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for (path, why) in [
            (&missing, "missing.pem"),
            (&empty, "no certificate"),
            (&garbled, "not a usable certificate"),
        ] {
            let err = Trust::with_ca_file(path).unwrap_err();
            assert!(matches!(err, ClientError::Trust(_)), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
