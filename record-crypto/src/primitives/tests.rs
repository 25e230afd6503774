//! Known-answer tests for the raw primitives (RFC 4231, RFC 5869) and a cross-check of the
//! single-block HKDF against the `hkdf` crate.

use super::*;
use crate::hex;

fn unhex(text: &str) -> Vec<u8> {
    let mut out = vec![0u8; text.len() / 2];
    hex::decode_into(text, &mut out).unwrap();
    out
}

#[test]
fn hmac_sha256_rfc4231_test_case_2() {
    let mac = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
    assert_eq!(hex::encode(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

#[test]
fn hmac_sha256_rfc4231_test_case_6_key_longer_than_block() {
    let key = [0xaa; 131];
    let mac = hmac_sha256(&key, &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
    assert_eq!(hex::encode(&mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

#[test]
fn hkdf_sha256_rfc5869_test_case_1() {
    let ikm = [0x0b; 22];
    let salt = unhex("000102030405060708090a0b0c");
    let info = unhex("f0f1f2f3f4f5f6f7f8f9");
    // PRK = 077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5; OKM (L = 42) is
    // 3cb25f25…5865. A single block is its first 32 bytes.
    assert_eq!(
        hex::encode(&hmac_sha256(&salt, &[&ikm])),
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    );
    let okm = hkdf_sha256_32(&salt, &ikm, &[&info[..4], &info[4..]]);
    assert_eq!(hex::encode(&*okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
}

#[test]
fn hkdf_sha256_rfc5869_test_case_3_empty_salt_and_info() {
    let okm = hkdf_sha256_32(&[], &[0x0b; 22], &[]);
    assert_eq!(hex::encode(&*okm), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
}

#[test]
fn hkdf_matches_the_hkdf_crate() {
    for length in [0usize, 1, 31, 32, 63, 64, 65, 200] {
        let salt: Vec<u8> = (0..length).map(|index| index as u8).collect();
        let ikm: Vec<u8> = (0..length).map(|index| (index * 7) as u8).collect();
        let info = b"fhir-ledger-bridge/test\0";
        let mut expected = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(info, &mut expected).unwrap();
        assert_eq!(*hkdf_sha256_32(&salt, &ikm, &[info]), expected);
    }
}

#[test]
fn aead_round_trip_and_rejection() {
    let key = [7u8; 32];
    let nonce = [9u8; NONCE_LEN];
    let mut buffer = b"payload".to_vec();
    let tag = aead_encrypt(&key, &nonce, b"aad", &mut buffer).unwrap();
    assert_ne!(buffer, b"payload");
    let ciphertext = buffer.clone();
    assert!(!aead_decrypt(&key, &nonce, b"aaX", &mut buffer, &tag));
    assert_eq!(buffer, ciphertext, "buffer must stay ciphertext on failure");
    assert!(aead_decrypt(&key, &nonce, b"aad", &mut buffer, &tag));
    assert_eq!(buffer, b"payload");
}

#[test]
fn random_bytes_differ() {
    assert_ne!(random_32().unwrap(), random_32().unwrap());
}
