//! Tests of node key pairs: known public key, round trips, rejection of invalid keys, redaction.

use super::*;

/// Secret key 1: its public key is the generator G.
const GENERATOR_COMPRESSED: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

fn secret_one() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[31] = 1;
    bytes
}

#[test]
fn secret_one_gives_the_generator_and_its_key_id() {
    let pair = NodeKeyPair::from_secret_bytes(&secret_one()).unwrap();
    assert_eq!(pair.public_key().to_string(), GENERATOR_COMPRESSED);
    let expected: [u8; 32] = Sha256::digest(pair.public_key().to_bytes()).into();
    assert_eq!(pair.key_id().as_bytes(), &expected);
}

#[test]
fn round_trips_secret_and_public_forms() {
    let pair = NodeKeyPair::generate().unwrap();
    let again = NodeKeyPair::from_secret_bytes(&pair.secret_bytes()).unwrap();
    assert_eq!(again.public_key(), pair.public_key());
    let from_hex = NodeKeyPair::from_secret_hex(&pair.secret_hex()).unwrap();
    assert_eq!(from_hex.key_id(), pair.key_id());
    let public = pair.public_key();
    assert_eq!(NodePublicKey::from_bytes(&public.to_bytes()).unwrap(), *public);
    assert_eq!(public.to_string().parse::<NodePublicKey>().unwrap(), *public);
    let uncompressed = hex::encode(&public.inner().serialize_uncompressed());
    assert_eq!(uncompressed.parse::<NodePublicKey>().unwrap(), *public);
    assert_eq!(pair.key_id().to_string().parse::<KeyId>().unwrap(), pair.key_id());
    assert_ne!(NodeKeyPair::generate().unwrap().key_id(), pair.key_id());
}

#[test]
fn rejects_invalid_keys() {
    assert!(matches!(NodeKeyPair::from_secret_bytes(&[0; 32]), Err(KeyError::InvalidSecretKey)));
    // The group order n is not a valid scalar.
    let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    assert!(matches!(NodeKeyPair::from_secret_hex(order), Err(KeyError::InvalidSecretKey)));
    assert!(matches!(NodeKeyPair::from_secret_hex("00"), Err(KeyError::Hex(_))));
    // An x coordinate above the field prime is not a point.
    let mut not_on_curve = [0xffu8; 33];
    not_on_curve[0] = 0x02;
    assert!(matches!(NodePublicKey::from_bytes(&not_on_curve), Err(KeyError::InvalidPublicKey)));
    assert!(matches!(NodePublicKey::from_bytes(&[0x02; 12]), Err(KeyError::InvalidPublicKey)));
    assert!("02zz".parse::<NodePublicKey>().is_err());
}

#[test]
fn debug_does_not_show_the_secret() {
    let pair = NodeKeyPair::from_secret_bytes(&[0x5a; 32]).unwrap();
    let debug = format!("{pair:?}");
    assert!(!debug.contains(&*pair.secret_hex()));
    assert!(debug.contains("<redacted>"));
}
