//! Known-answer and strictness tests of the public CID API. The expected strings were computed
//! independently: `"b" + base32(0x01 0x55 0x12 0x20 + sha256(data)).lower().rstrip("=")` in Python.

use record_crypto::{Cid, CidError};

fn check(data: &[u8], expected: &str) {
    let cid = Cid::of(data);
    assert_eq!(cid.to_string(), expected);
    assert_eq!(expected.parse::<Cid>(), Ok(cid));
}

#[test]
fn cid_of_the_empty_string() {
    check(b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

#[test]
fn cid_of_hello_world() {
    check(b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
    check(b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
}

#[test]
fn cid_digest_is_sha256_and_bytes_carry_the_prefix() {
    let cid: Cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
    // SHA-256 of the empty string.
    assert_eq!(cid.digest()[..4], [0xe3, 0xb0, 0xc4, 0x42], "e3b0c442…b855");
    assert_eq!(cid.to_bytes()[..4], [0x01, 0x55, 0x12, 0x20]);
    assert_eq!(Cid::from_digest(cid.digest()), cid);
}

#[test]
fn cid_parsing_is_strict() {
    let good = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    // Upper-case multibase `B` and upper-case body.
    assert_eq!(good.to_uppercase().parse::<Cid>(), Err(CidError::UnsupportedMultibase));
    assert_eq!(format!("b{}", good[1..].to_uppercase()).parse::<Cid>(), Err(CidError::InvalidBase32));
    // Base58btc CIDv0 and other multibases.
    assert_eq!("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH".parse::<Cid>(), Err(CidError::UnsupportedMultibase));
    assert_eq!(format!("z{}", &good[1..]).parse::<Cid>(), Err(CidError::UnsupportedMultibase));
    assert_eq!("".parse::<Cid>(), Err(CidError::UnsupportedMultibase));
    // Padding, a non-alphabet character, a non-canonical last character, a truncated body.
    assert_eq!(format!("{good}======").parse::<Cid>(), Err(CidError::InvalidBase32));
    assert_eq!(format!("{}1{}", &good[..20], &good[21..]).parse::<Cid>(), Err(CidError::InvalidBase32));
    assert_eq!(
        format!("{}v", &good[..good.len() - 1]).parse::<Cid>(),
        Err(CidError::InvalidBase32),
        "trailing bits must be zero"
    );
    assert_eq!(good[..good.len() - 8].parse::<Cid>(), Err(CidError::InvalidLength { found: 31 }));
    // dag-pb codec (0x70) with the same digest: bafybei…
    let dag_pb = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    assert_eq!(dag_pb.parse::<Cid>(), Err(CidError::UnsupportedCodec { codec: 0x70 }));
}
