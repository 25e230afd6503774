//! Signatures: a header signed by one node key does not verify under another, and a ledger
//! refuses a signer with a different key.

use ledger_adapter::{
    BlockSigner, LedgerError, LedgerReader, NodeKey, Secp256k1Signer, SignatureError, SledLedger, VerifyError,
};

use crate::support::TestLedger;

#[test]
fn header_signed_by_a_does_not_verify_under_b() {
    let test = TestLedger::new();
    test.append_blocks(&[2]);
    let head = test.ledger.head().expect("read").expect("head");
    let key_a = test.key.public_key();
    let key_b = NodeKey::generate().public_key();
    assert_eq!(head.verify_signature(&key_a), Ok(()));
    assert!(matches!(head.verify_signature(&key_b), Err(SignatureError::WrongKey { .. })));
    // Even with the key id rewritten to B's, the signature (made by A) does not verify under B.
    let mut forged = head.clone();
    forged.header.node_key_id = key_b.key_id();
    assert_eq!(forged.verify_signature(&key_b), Err(SignatureError::Invalid));
    assert_eq!(key_b.verify(&head.hash(), &head.signature), Err(SignatureError::Invalid));

    assert!(matches!(test.ledger.verify(Some(&key_b), &mut |_| {}), Err(VerifyError::KeyMismatch { .. })));
    let report = test.ledger.verify(Some(&key_a), &mut |_| {}).expect("verifies under A");
    assert_eq!(report.key_id, Some(key_a.key_id()));
}

#[test]
fn a_ledger_refuses_a_signer_with_another_key() {
    let test = TestLedger::new();
    test.append_blocks(&[1]);
    let TestLedger { dir: _dir, db, ledger, .. } = test;
    drop(ledger);
    let other = Secp256k1Signer::generate();
    let other_id = other.key_id();
    match SledLedger::open(&db, other) {
        Err(LedgerError::SignerMismatch { signer, .. }) => assert_eq!(signer, other_id),
        Err(error) => panic!("unexpected error {error}"),
        Ok(_) => panic!("opened with another key"),
    }
}

/// A signer that fails while `failing` is set, standing in for an unreachable key store.
struct FlakySigner {
    inner: Secp256k1Signer,
    failing: std::sync::atomic::AtomicBool,
}

impl BlockSigner for FlakySigner {
    fn key_id(&self) -> ledger_adapter::KeyId {
        self.inner.key_id()
    }

    fn public_key(&self) -> ledger_adapter::NodePublicKey {
        self.inner.public_key()
    }

    fn sign(
        &self,
        digest: &ledger_adapter::Hash,
    ) -> Result<ledger_adapter::BlockSignature, ledger_adapter::SignerError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            let cause: Box<dyn std::error::Error + Send + Sync> = "key store unreachable".into();
            return Err(ledger_adapter::SignerError::Unavailable(cause));
        }
        self.inner.sign(digest)
    }
}

#[test]
fn a_failed_signature_writes_nothing_and_the_next_append_continues() {
    use ledger_adapter::LedgerWriter;
    use std::sync::Arc;

    let dir = tempfile::tempdir().expect("temporary directory");
    let db = sled::open(dir.path().join("db")).expect("open sled");
    let signer = Arc::new(FlakySigner { inner: Secp256k1Signer::generate(), failing: false.into() });
    let ledger = SledLedger::open(&db, Arc::clone(&signer)).expect("open");
    ledger.append_block(&[b"a".to_vec()], 1).expect("append");

    signer.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = ledger.append_block(&[b"b".to_vec(), b"c".to_vec()], 2).expect_err("signer fails");
    assert!(matches!(error, LedgerError::Signer(_)) && error.is_retryable(), "{error:?}");
    assert_eq!(ledger.tree_size().expect("read"), 1);
    assert_eq!(ledger.block(1).expect("read"), None);

    signer.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let receipt = ledger.append_block(&[b"b".to_vec(), b"c".to_vec()], 3).expect("append");
    assert_eq!((receipt.height, receipt.seqs), (1, 1..3));
    ledger.verify(None, &mut |_| {}).expect("verifies");
}
