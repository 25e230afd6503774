//! The gas account: the Ethereum key that pays for anchor transactions, and the local signing of
//! those transactions (EIP-1559, or legacy EIP-155 where the chain has no base fee).
//!
//! The gas key is not the node key. The node key signs ledger headers (the contract checks that
//! signature); the gas key only pays. Losing the gas key costs its balance, not the ledger's trust,
//! and a peer may relay a node's headers with its own gas key.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, B256, U256};
use secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Why a gas key file could not be used. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GasKeyError {
    /// Reading the file failed.
    #[error("gas key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not hold 32 bytes of hex that are a valid secp256k1 secret.
    #[error("gas key file {path} does not hold a valid key (64 hex characters, 0x optional)")]
    Invalid {
        /// The file.
        path: String,
    },
    /// Others can read the file.
    #[error("gas key file {path} is readable by group or others (mode {mode:o}); run chmod 600 on it")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

/// What a transaction pays per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fees {
    /// EIP-1559 fees.
    Eip1559 {
        /// Most paid per gas, base fee included.
        max_fee: u128,
        /// Tip to the block producer per gas.
        priority_fee: u128,
    },
    /// A legacy gas price.
    Legacy {
        /// Price per gas.
        gas_price: u128,
    },
}

impl Fees {
    /// The fees raised by `percent` (at least by 1 wei each), as a replacement transaction needs:
    /// nodes accept a replacement only when both fees rise by their minimum (10% on geth and Besu).
    pub fn bumped(self, percent: u32) -> Fees {
        let raise = |value: u128| value.saturating_add((value.saturating_mul(u128::from(percent)) / 100).max(1));
        match self {
            Fees::Eip1559 { max_fee, priority_fee } => {
                Fees::Eip1559 { max_fee: raise(max_fee), priority_fee: raise(priority_fee) }
            }
            Fees::Legacy { gas_price } => Fees::Legacy { gas_price: raise(gas_price) },
        }
    }

    /// The most the transaction may pay per gas.
    pub fn max_per_gas(self) -> u128 {
        match self {
            Fees::Eip1559 { max_fee, .. } => max_fee,
            Fees::Legacy { gas_price } => gas_price,
        }
    }
}

/// A transaction to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// The chain it is for (EIP-155 replay protection).
    pub chain_id: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// The contract called; `None` creates a contract from `input`.
    pub to: Option<Address>,
    /// Call data, or creation code.
    pub input: Bytes,
    /// Fees.
    pub fees: Fees,
}

/// A signed transaction, encoded for `eth_sendRawTransaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash.
    pub hash: B256,
    /// Its EIP-2718 encoding.
    pub raw: Bytes,
}

/// The account that pays for anchors. `Debug` shows the address, never the key.
pub struct GasAccount {
    secret: SecretKey,
    address: Address,
}

impl std::fmt::Debug for GasAccount {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "GasAccount({})", self.address)
    }
}

impl GasAccount {
    /// The account of a 32-byte secret key; `None` when it is not a valid secp256k1 secret.
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Option<GasAccount> {
        let secret = SecretKey::from_byte_array(bytes).ok()?;
        let public = PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret);
        let address = Address::from_raw_public_key(&public.serialize_uncompressed()[1..]);
        Some(GasAccount { secret, address })
    }

    /// Reads the key from `path`: 64 hex characters (a `0x` prefix and surrounding white space
    /// are allowed), in a file only its owner may read.
    pub fn load(path: &Path) -> Result<GasAccount, GasKeyError> {
        let name = || path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| GasKeyError::Io { path: name(), source })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(GasKeyError::TooOpen { path: name(), mode });
        }
        let text = std::fs::read_to_string(path).map_err(|source| GasKeyError::Io { path: name(), source })?;
        GasAccount::from_hex(text.trim()).ok_or(GasKeyError::Invalid { path: name() })
    }

    /// The account of a key given as 64 hex characters (`0x` optional); `None` when it is not
    /// one (any other length or character) or not a valid secp256k1 secret.
    pub fn from_hex(text: &str) -> Option<GasAccount> {
        GasAccount::from_secret_bytes(text.parse::<B256>().ok()?.0)
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs `request`.
    pub fn sign(&self, request: &TxRequest) -> SignedTx {
        let to = match request.to {
            Some(address) => TxKind::Call(address),
            None => TxKind::Create,
        };
        let envelope = match request.fees {
            Fees::Eip1559 { max_fee, priority_fee } => {
                let tx = TxEip1559 {
                    chain_id: request.chain_id,
                    nonce: request.nonce,
                    gas_limit: request.gas_limit,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: priority_fee,
                    to,
                    value: U256::ZERO,
                    access_list: Default::default(),
                    input: request.input.clone(),
                };
                let signature = self.signature(tx.signature_hash());
                TxEnvelope::from(tx.into_signed(signature))
            }
            Fees::Legacy { gas_price } => {
                let tx = TxLegacy {
                    chain_id: Some(request.chain_id),
                    nonce: request.nonce,
                    gas_price,
                    gas_limit: request.gas_limit,
                    to,
                    value: U256::ZERO,
                    input: request.input.clone(),
                };
                let signature = self.signature(tx.signature_hash());
                TxEnvelope::from(tx.into_signed(signature))
            }
        };
        SignedTx { hash: *envelope.tx_hash(), raw: envelope.encoded_2718().into() }
    }

    fn signature(&self, digest: B256) -> Signature {
        let context = Secp256k1::signing_only();
        let (recovery_id, compact) =
            context.sign_ecdsa_recoverable(Message::from_digest(digest.0), &self.secret).serialize_compact();
        let r = U256::from_be_slice(&compact[..32]);
        let s = U256::from_be_slice(&compact[32..]);
        Signature::new(r, s, i32::from(recovery_id) == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// anvil's first development account (a published test key, never funded anywhere real).
    const ANVIL_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn account() -> GasAccount {
        GasAccount::from_hex(ANVIL_KEY).unwrap()
    }

    #[test]
    fn the_address_is_the_well_known_one_and_signatures_recover_to_it() {
        let account = account();
        assert_eq!(account.address(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().unwrap());
        for fees in
            [Fees::Eip1559 { max_fee: 3_000_000_000, priority_fee: 1_000_000_000 }, Fees::Legacy { gas_price: 7 }]
        {
            let request = TxRequest {
                chain_id: 31337,
                nonce: 4,
                gas_limit: 90_000,
                to: Some(Address::ZERO),
                input: Bytes::from(vec![1, 2]),
                fees,
            };
            let signed = account.sign(&request);
            let decoded =
                <TxEnvelope as alloy_eips::eip2718::Decodable2718>::decode_2718(&mut &signed.raw[..]).unwrap();
            assert_eq!(*decoded.tx_hash(), signed.hash);
            assert_eq!(recover(&decoded), account.address());
        }
    }

    /// The signer of a decoded transaction, recovered with secp256k1 (not with alloy's backend).
    fn recover(envelope: &TxEnvelope) -> Address {
        use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
        let (digest, signature) = match envelope {
            TxEnvelope::Eip1559(signed) => (signed.signature_hash(), *signed.signature()),
            TxEnvelope::Legacy(signed) => (signed.signature_hash(), *signed.signature()),
            other => panic!("unexpected transaction type {:?}", other.tx_type()),
        };
        let mut compact = [0u8; 64];
        compact[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
        compact[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
        let id = RecoveryId::try_from(i32::from(signature.v())).unwrap();
        let recoverable = RecoverableSignature::from_compact(&compact, id).unwrap();
        let public =
            Secp256k1::verification_only().recover_ecdsa(Message::from_digest(digest.0), &recoverable).unwrap();
        Address::from_raw_public_key(&public.serialize_uncompressed()[1..])
    }

    #[test]
    fn bumped_fees_rise_by_the_percentage_and_at_least_one_wei() {
        assert_eq!(
            Fees::Eip1559 { max_fee: 1000, priority_fee: 5 }.bumped(25),
            Fees::Eip1559 { max_fee: 1250, priority_fee: 6 }
        );
        assert_eq!(Fees::Legacy { gas_price: 0 }.bumped(10), Fees::Legacy { gas_price: 1 });
    }

    #[test]
    fn key_files_must_be_private_and_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gas.key");
        std::fs::write(&path, format!("0x{ANVIL_KEY}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(GasAccount::load(&path), Err(GasKeyError::TooOpen { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(GasAccount::load(&path).unwrap().address(), account().address());
        std::fs::write(&path, format!("a{}", "é".repeat(31)) + "b").unwrap();
        assert!(matches!(GasAccount::load(&path), Err(GasKeyError::Invalid { .. })), "64 bytes, not 64 hex digits");
        std::fs::write(&path, "zz").unwrap();
        let error = GasAccount::load(&path).unwrap_err();
        assert!(matches!(error, GasKeyError::Invalid { .. }));
        assert!(!error.to_string().contains("zz"));
    }
}
