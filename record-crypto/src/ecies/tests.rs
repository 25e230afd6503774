//! ECIES tests: a known answer computed independently (Python `cryptography` secp256k1 ECDH,
//! HMAC-based HKDF, HChaCha20 + ChaCha20-Poly1305), round trips, and one negative test per
//! failure mode.

use super::*;
use crate::hex;

const CONTEXT: &[u8] = b"context";

fn recipient() -> NodeKeyPair {
    NodeKeyPair::from_secret_bytes(&[0x44; 32]).unwrap()
}

fn patient_key() -> PatientKey {
    PatientKey::from_bytes(&[0x11; 32], 5)
}

fn wrapped() -> WrappedKey {
    wrap_patient_key(&patient_key(), recipient().public_key(), CONTEXT).unwrap()
}

#[test]
fn known_answer() {
    let recipient = recipient();
    assert_eq!(
        recipient.public_key().to_string(),
        "032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991"
    );
    let ephemeral = SecretKey::from_byte_array([0x55; 32]).unwrap();
    let wrapped = wrap_with(&patient_key(), recipient.public_key(), CONTEXT, &ephemeral, &[0x66; NONCE_LEN]).unwrap();
    assert_eq!(
        hex::encode(wrapped.as_bytes()),
        "01029ac20335eb38768d2052be1dbbc3c8f6178407458e51e6b4ad22f1d91758895b666666666666666666\
         66666666666666666666666666666640b6f78962b8826c261f064cc598f018b4635002febaee5ce8d9b980\
         53dab84d4d134776c59ab8c5fda4faed1dbae8fc4e49c6d4"
    );
    assert_eq!(unwrap_patient_key(&wrapped, &recipient, CONTEXT).unwrap(), patient_key());
}

#[test]
fn round_trip_through_bytes_keeps_key_and_epoch() {
    let wrapped = wrapped();
    assert_eq!(wrapped.as_bytes().len(), WRAPPED_KEY_LEN);
    let decoded = WrappedKey::from_bytes(&wrapped.to_bytes()).unwrap();
    let unwrapped = unwrap_patient_key(&decoded, &recipient(), CONTEXT).unwrap();
    assert_eq!(unwrapped, patient_key());
    assert_eq!(unwrapped.epoch(), 5);
}

#[test]
fn every_wrap_is_fresh() {
    assert_ne!(wrapped(), wrapped());
}

#[test]
fn wrong_private_key_fails() {
    let other = NodeKeyPair::generate().unwrap();
    assert_eq!(unwrap_patient_key(&wrapped(), &other, CONTEXT), Err(UnwrapError::Authentication));
}

#[test]
fn different_context_fails() {
    assert_eq!(unwrap_patient_key(&wrapped(), &recipient(), b"contexu"), Err(UnwrapError::Authentication));
    assert_eq!(unwrap_patient_key(&wrapped(), &recipient(), b""), Err(UnwrapError::Authentication));
}

#[test]
fn altered_bytes_fail() {
    let bytes = wrapped().to_bytes();
    for index in 1..WRAPPED_KEY_LEN {
        let mut altered = bytes;
        altered[index] ^= 0x01;
        // A flipped ephemeral key byte may leave the curve (rejected on decode) or give another
        // point (rejected on unwrap); either way the key does not come out.
        let result =
            WrappedKey::from_bytes(&altered).and_then(|wrapped| unwrap_patient_key(&wrapped, &recipient(), CONTEXT));
        assert!(
            matches!(result, Err(UnwrapError::Authentication | UnwrapError::InvalidEphemeralKey)),
            "byte {index}: {result:?}"
        );
    }
}

#[test]
fn malformed_encodings_are_rejected() {
    let bytes = wrapped().to_bytes();
    let mut altered = bytes;
    altered[0] = 0x02;
    assert_eq!(WrappedKey::from_bytes(&altered), Err(UnwrapError::UnknownVersion { version: 0x02 }));
    assert_eq!(
        WrappedKey::from_bytes(&bytes[..WRAPPED_KEY_LEN - 1]),
        Err(UnwrapError::InvalidLength { expected: WRAPPED_KEY_LEN, found: WRAPPED_KEY_LEN - 1 })
    );
    assert_eq!(WrappedKey::from_bytes(&[]), Err(UnwrapError::InvalidLength { expected: WRAPPED_KEY_LEN, found: 0 }));
    let mut altered = bytes;
    altered[1] = 0x04; // not a compressed point prefix
    assert_eq!(WrappedKey::from_bytes(&altered), Err(UnwrapError::InvalidEphemeralKey));
}
