//! Shared helpers: a ledger in a temporary directory, records, hex.

use ledger_adapter::{Hash, LedgerWriter, NodeKey, Secp256k1Signer, SledLedger};
use tempfile::TempDir;

/// A ledger on a fresh sled database; keep the `TempDir` alive as long as the database.
pub struct TestLedger {
    pub dir: TempDir,
    pub db: sled::Db,
    pub key: NodeKey,
    pub ledger: SledLedger,
}

impl TestLedger {
    pub fn new() -> TestLedger {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = sled::open(dir.path().join("db")).expect("open sled");
        let key = NodeKey::generate();
        let ledger = SledLedger::open(&db, Secp256k1Signer::new(key.clone())).expect("open ledger");
        TestLedger { dir, db, key, ledger }
    }

    /// Appends blocks of the given sizes, with records from [`record`], and returns all records.
    pub fn append_blocks(&self, sizes: &[usize]) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for (block, &size) in sizes.iter().enumerate() {
            let records: Vec<Vec<u8>> = (0..size).map(|offset| record(all.len() + offset)).collect();
            let receipt = self.ledger.append_block(&records, 1_000 + block as u64).expect("append");
            assert_eq!(receipt.seqs, all.len() as u64..(all.len() + size) as u64);
            all.extend(records);
        }
        all
    }

    pub fn tree(&self, suffix: &str) -> sled::Tree {
        self.db.open_tree(format!("{}{suffix}", ledger_adapter::DEFAULT_TREE_PREFIX)).expect("open tree")
    }
}

/// A distinct record of varying length for sequence number `seq`.
pub fn record(seq: usize) -> Vec<u8> {
    let mut bytes = format!("record {seq}:").into_bytes();
    bytes.resize(bytes.len() + seq % 7, b'x');
    bytes
}

pub fn hash(text: &str) -> Hash {
    Hash::from_hex(text).unwrap_or_else(|error| panic!("bad hex {text}: {error}"))
}

pub fn bytes(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).expect("hex")).collect()
}
