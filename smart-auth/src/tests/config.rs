//! The `[auth]` section: TOML shape, defaults, and refusal of bad entries at start-up.

use super::*;

fn build(config: &AuthConfig) -> Result<Authenticator, AuthConfigError> {
    Authenticator::from_config(config, "http://127.0.0.1:8080/auth/token")
}

#[test]
fn toml_shape_defaults_and_unknown_keys() {
    let text = format!(
        r#"
        token_url = "https://bridge.example/auth/token"
        [[clients]]
        client_id = "peer-node"
        public_key = "{}"
        scopes = ["system/*.rs"]
        organization = "Organization/hospital-a"
        "#,
        data_encoding::HEXLOWER.encode(&peer_public_key().serialize())
    );
    let config: AuthConfig = toml::from_str(&text).unwrap();
    assert_eq!((config.token_lifetime_s, config.assertion_max_lifetime_s, config.clock_skew_s), (300, 300, 60));
    assert!(config.dev_static_tokens.is_empty());
    assert_eq!(build(&config).unwrap().token_url(), TOKEN_URL);
    assert!(toml::from_str::<AuthConfig>("token_lifetime = 5").is_err());
    assert!(toml::from_str::<AuthConfig>("[[clients]]\nclient_id = \"a\"\npublic_key = \"b\"\nscopes = []\nrole = 1")
        .is_err());
    // Without token_url, the owner's default is the audience.
    assert_eq!(build(&AuthConfig::default()).unwrap().token_url(), "http://127.0.0.1:8080/auth/token");
}

#[test]
fn dev_tokens_are_hidden_from_debug_output() {
    let dev = DevStaticTokenConfig { token: "secret-dev-token-xyz".into(), client_id: "dev".into(), scopes: vec![] };
    assert!(!format!("{dev:?}").contains("secret-dev-token-xyz"));
}

#[test]
fn bad_entries_are_refused() {
    let with_client = |edit: &dyn Fn(&mut ClientConfig)| {
        let mut config = config();
        edit(&mut config.clients[1]);
        build(&config).err()
    };
    assert!(matches!(with_client(&|c| c.public_key = "04abcd".into()), Some(AuthConfigError::BadPublicKey(_))));
    assert!(matches!(
        with_client(&|c| c.public_key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into()),
        Some(AuthConfigError::BadPublicKey(_))
    ));
    assert!(matches!(with_client(&|c| c.node_key_id = Some("00".repeat(32))), Some(AuthConfigError::BadNodeKeyId(_))));
    assert!(matches!(with_client(&|c| c.client_id = HOSPITAL.into()), Some(AuthConfigError::BadClientId(_))));
    assert!(matches!(with_client(&|c| c.scopes = vec!["user/*.rs".into()]), Some(AuthConfigError::BadScope { .. })));
    assert!(matches!(
        with_client(&|c| c.organization = Some("Patient/1".into())),
        Some(AuthConfigError::BadOrganization(_))
    ));
    // Node key ids compare case-insensitively.
    assert!(with_client(&|c| c.node_key_id = c.node_key_id.as_ref().map(|id| id.to_uppercase())).is_none());
    // A node key id on a P-384 client is refused: node keys are secp256k1.
    let mut config = config();
    config.clients[0].node_key_id = config.clients[1].node_key_id.clone();
    assert!(matches!(build(&config), Err(AuthConfigError::BadNodeKeyId(_))));

    let short = DevStaticTokenConfig { token: "short".into(), client_id: "dev".into(), scopes: vec![] };
    assert!(matches!(
        build(&AuthConfig { dev_static_tokens: vec![short], ..AuthConfig::default() }),
        Err(AuthConfigError::BadDevToken)
    ));
    assert!(matches!(
        build(&AuthConfig { token_lifetime_s: 0, ..AuthConfig::default() }),
        Err(AuthConfigError::Zero(_))
    ));
    assert!(matches!(
        build(&AuthConfig { token_url: Some(" ".into()), ..AuthConfig::default() }),
        Err(AuthConfigError::EmptyTokenUrl)
    ));
}
