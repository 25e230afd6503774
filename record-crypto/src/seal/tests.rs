//! Sealing tests: a known answer computed independently (Python: HMAC-based HKDF, HChaCha20 and
//! `cryptography`'s ChaCha20-Poly1305), round trips, and one negative test per failure mode.

use super::*;
use crate::hex;
use crate::keys::PatientKey;

const AD: &[u8] = b"ledger-metadata";
const PLAINTEXT: &[u8] = b"{\"resourceType\":\"Patient\"}";
const SALT: [u8; 32] = [0x22; 32];

fn record_key() -> RecordKey {
    PatientKey::from_bytes(&[0x11; 32], 0).record_key(b"record-identity")
}

fn sealed() -> Vec<u8> {
    seal(&record_key(), AD, PLAINTEXT, &SALT).unwrap()
}

#[test]
fn known_answer() {
    let sealed = seal_with_nonce(&record_key(), AD, PLAINTEXT, &SALT, &[0x33; NONCE_LEN]).unwrap();
    assert_eq!(
        hex::encode(&sealed),
        "01333333333333333333333333333333333333333333333333768f0b8d254e4a622973a536de2052ea8f\
         0090ca62fbd7f979080a8562c987053a1d228838d86f493d32c673a847a467eb3748ff81d72df50acc05\
         e1441c76a5961fbf3ed281021e8037"
    );
    let opened = open(&record_key(), AD, &sealed).unwrap();
    assert_eq!(opened.plaintext, PLAINTEXT);
}

#[test]
fn round_trip_returns_plaintext_and_salt() {
    let sealed = sealed();
    assert_eq!(sealed.len(), PLAINTEXT.len() + SEALED_OVERHEAD);
    assert_eq!(sealed[0], SEALED_VERSION);
    let opened = open(&record_key(), AD, &sealed).unwrap();
    assert_eq!(opened.plaintext, PLAINTEXT);
    assert_eq!(opened.salt, SALT);
}

#[test]
fn empty_plaintext_and_empty_associated_data_round_trip() {
    let sealed = seal(&record_key(), b"", b"", &SALT).unwrap();
    assert_eq!(sealed.len(), SEALED_OVERHEAD);
    assert_eq!(open(&record_key(), b"", &sealed).unwrap().plaintext, b"");
}

#[test]
fn nonces_are_fresh() {
    assert_ne!(sealed(), sealed());
}

#[test]
fn wrong_key_fails() {
    let other = PatientKey::from_bytes(&[0x11; 32], 0).record_key(b"other-identity");
    assert_eq!(open(&other, AD, &sealed()), Err(OpenError::Authentication));
}

#[test]
fn altered_ciphertext_fails_anywhere() {
    let sealed = sealed();
    // Every byte after the version: nonce, salt, plaintext and tag.
    for index in 1..sealed.len() {
        let mut altered = sealed.clone();
        altered[index] ^= 0x01;
        assert_eq!(open(&record_key(), AD, &altered), Err(OpenError::Authentication), "byte {index}");
    }
}

#[test]
fn altered_associated_data_fails() {
    assert_eq!(open(&record_key(), b"ledger-metadatb", &sealed()), Err(OpenError::Authentication));
    assert_eq!(open(&record_key(), b"", &sealed()), Err(OpenError::Authentication));
}

#[test]
fn unknown_version_fails() {
    let mut altered = sealed();
    altered[0] = 0x02;
    assert_eq!(open(&record_key(), AD, &altered), Err(OpenError::UnknownVersion { version: 0x02 }));
}

#[test]
fn truncated_input_fails() {
    let sealed = sealed();
    assert_eq!(open(&record_key(), AD, &[]), Err(OpenError::Truncated { minimum: SEALED_OVERHEAD, found: 0 }));
    assert_eq!(
        open(&record_key(), AD, &sealed[..SEALED_OVERHEAD - 1]),
        Err(OpenError::Truncated { minimum: SEALED_OVERHEAD, found: SEALED_OVERHEAD - 1 })
    );
    // Long enough to parse, but cut: the tag no longer matches.
    assert_eq!(open(&record_key(), AD, &sealed[..sealed.len() - 1]), Err(OpenError::Authentication));
}

#[test]
fn debug_does_not_show_plaintext() {
    let opened = open(&record_key(), AD, &sealed()).unwrap();
    let debug = format!("{opened:?}");
    assert!(!debug.contains("Patient") && !debug.contains("123"));
}
