//! TLS for both listeners (§15): the certificate and key come from PEM files
//! and are re-read on `SIGHUP`. The handshakes ask [`ReloadingCert`] for the
//! certificate, so a reload affects new connections only; open ones keep the
//! session they negotiated. A new pair that does not load (unreadable, not
//! PEM, key not matching the certificate) is refused and the old one stays.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Why a certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading the certificate {path}: {detail}")]
    Cert { path: String, detail: String },
    #[error("reading the private key {path}: {detail}")]
    Key { path: String, detail: String },
    #[error("the certificate {path} holds no certificate")]
    NoCert { path: String },
    #[error("the key does not fit the certificate: {0}")]
    Mismatch(rustls::Error),
    #[error("TLS settings: {0}")]
    Config(rustls::Error),
}

/// The current certificate, swapped whole by [`ReloadingCert::reload`].
pub struct ReloadingCert {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert", &self.files.cert)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Loads the pair once; fails when it does not load.
    pub fn load(files: &TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = read_pair(files, &provider)?;
        Ok(Arc::new(Self {
            files: files.clone(),
            provider,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads the files again; on success new handshakes use the new pair,
    /// on failure the old pair stays and the error is returned.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = read_pair(&self.files, &self.provider)?;
        *self.current.write() = Arc::new(fresh);
        Ok(())
    }

    /// An acceptor for the HTTP listener (HTTP/1.1 only: WebSocket upgrades
    /// are HTTP/1.1, and the API needs nothing more).
    pub fn http_acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        self.acceptor(vec![b"http/1.1".to_vec()])
    }

    /// An acceptor for the TCP listener (no ALPN: Koi frames only).
    pub fn tcp_acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        self.acceptor(Vec::new())
    }

    fn acceptor(self: &Arc<Self>, alpn: Vec<Vec<u8>>) -> Result<TlsAcceptor, TlsError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().clone())
    }
}

fn read_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let shown = |p: &Path| p.display().to_string();
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert {
            path: shown(&files.cert),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert {
            path: shown(&files.cert),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: shown(&files.key),
        detail: e.to_string(),
    })?;
    CertifiedKey::from_der(certs, key, provider).map_err(TlsError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> TlsFiles {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, made.cert.pem()).unwrap();
        std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
        files
    }

    #[test]
    fn a_bad_new_pair_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_pair(dir.path(), "a");
        let cert = ReloadingCert::load(&files).unwrap();
        let before = cert.current.read().cert[0].clone();
        std::fs::write(&files.cert, "not pem").unwrap();
        assert!(cert.reload().is_err());
        assert_eq!(cert.current.read().cert[0], before);
        // A key of another certificate does not fit.
        let other = write_pair(dir.path(), "b");
        let a = write_pair(dir.path(), "a");
        std::fs::copy(&other.key, &a.key).unwrap();
        assert!(matches!(cert.reload(), Err(TlsError::Mismatch(_))));
        // A good pair is taken.
        let a = write_pair(dir.path(), "a");
        cert.reload().unwrap();
        assert_ne!(cert.current.read().cert[0], before);
        let _ = a;
    }
}
