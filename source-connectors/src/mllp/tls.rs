//! MLLP over TLS with client certificates (mutual TLS): rustls with the `ring` provider, as the
//! rest of the bridge's TLS uses. A client must present a certificate signed by one of the
//! configured CAs, or the handshake fails and nothing of its is read; the certificate's names
//! (subjectAltName DNS names) and fingerprint are what the facility binding and the per-sender
//! limit know the sender by.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};

use super::MllpTlsConfig;

/// Why the TLS configuration of the MLLP listener cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MllpTlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong (from the PEM reader; it names no key material).
        reason: String,
    },
    /// rustls refused the certificates or key.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client CA bundle cannot verify client certificates.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn file_error(path: &Path, reason: impl ToString) -> MllpTlsError {
    MllpTlsError::File { path: path.to_owned(), reason: reason.to_string() }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, MllpTlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certificates.is_empty() {
        return Err(file_error(path, "no certificate in the file"));
    }
    Ok(certificates)
}

/// The rustls server configuration: the listener's certificate and key, and client
/// certificates required, verified against `client_ca_file`.
pub(super) fn server_config(config: &MllpTlsConfig) -> Result<Arc<ServerConfig>, MllpTlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&config.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&config.key_file).map_err(|e| file_error(&config.key_file, e))?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(&config.client_ca_file)? {
        roots.add(ca)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(server))
}

/// Who a verified client certificate says the sender is.
#[derive(Debug, Clone, Default)]
pub(super) struct ClientIdentity {
    /// Its subjectAltName DNS names.
    pub names: Vec<String>,
    /// SHA-256 of the certificate, hex: the per-sender limit's key.
    pub fingerprint: String,
}

/// The identity in the end-entity certificate of a finished handshake.
pub(super) fn client_identity(connection: &rustls::ServerConnection) -> Option<ClientIdentity> {
    let certificate = connection.peer_certificates()?.first()?;
    let names = webpki::EndEntityCert::try_from(certificate)
        .map(|parsed| parsed.valid_dns_names().map(str::to_owned).collect())
        .unwrap_or_default();
    let fingerprint = data_encoding::HEXLOWER.encode(&Sha256::digest(certificate.as_ref()));
    Some(ClientIdentity { names, fingerprint })
}
