//! Fixtures for tests of authentication, here and in the crates that adapt it (`http-api`): a
//! clock the test moves by hand, two registered clients with fixed keys (a hospital on P-384,
//! a peer node on secp256k1), and assertions they sign. Built for this crate's tests and with
//! the `test-support` feature; never in a service build.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use p384::pkcs8::{EncodePublicKey, LineEnding};

use crate::{client_assertion_es256k, client_assertion_es384, AuthConfig, Authenticator, ClientConfig, Clock};

/// The fixed "now" of the tests.
pub const T0: u64 = 1_700_000_000;
/// The token endpoint the fixtures' assertions are for.
pub const TOKEN_URL: &str = "https://bridge.example/auth/token";
/// The client id of the hospital (P-384 key, `system/*.rs`).
pub const HOSPITAL: &str = "hospital-b";
/// The client id of the peer node (secp256k1 node key, `system/*.cruds`).
pub const PEER: &str = "peer-node";
/// The peer node's secret key.
pub const PEER_SECRET: [u8; 32] = [0x22; 32];

/// A clock the test moves by hand.
pub struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now_s(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    /// Moves the clock on by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// The hospital's signing key.
pub fn p384_key() -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_slice(&[0x11; 48]).unwrap()
}

/// The peer node's public key.
pub fn peer_public_key() -> secp256k1::PublicKey {
    let secret = secp256k1::SecretKey::from_byte_array(PEER_SECRET).unwrap();
    secp256k1::PublicKey::from_secret_key(&secp256k1::Secp256k1::signing_only(), &secret)
}

/// `[auth]` with the two clients.
pub fn config() -> AuthConfig {
    let pem = p384_key().verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
    AuthConfig {
        token_url: Some(TOKEN_URL.into()),
        clients: vec![
            ClientConfig {
                client_id: HOSPITAL.into(),
                public_key: pem,
                scopes: vec!["system/*.rs".into()],
                organization: Some("Organization/hospital-b".into()),
                node_key_id: None,
            },
            ClientConfig {
                client_id: PEER.into(),
                public_key: data_encoding::HEXLOWER.encode(&peer_public_key().serialize()),
                scopes: vec!["system/*.cruds".into()],
                organization: Some("Organization/hospital-a".into()),
                node_key_id: Some(crate::keys::node_key_id(&peer_public_key())),
            },
        ],
        ..AuthConfig::default()
    }
}

/// An authenticator over `config` with a clock at [`T0`].
pub fn authenticator_with(config: &AuthConfig) -> (Authenticator, Arc<TestClock>) {
    let clock = Arc::new(TestClock(AtomicU64::new(T0)));
    let authenticator =
        Authenticator::from_config(config, "http://unused/auth/token").unwrap().with_clock(clock.clone());
    (authenticator, clock)
}

/// An authenticator over [`config`] with a clock at [`T0`].
pub fn authenticator() -> (Authenticator, Arc<TestClock>) {
    authenticator_with(&config())
}

/// A valid assertion of the hospital.
pub fn es384_assertion() -> String {
    client_assertion_es384(HOSPITAL, TOKEN_URL, &p384_key(), 300, T0).unwrap()
}

/// A valid assertion of the peer node.
pub fn es256k_assertion() -> String {
    client_assertion_es256k(PEER, TOKEN_URL, &PEER_SECRET, 300, T0).unwrap()
}
