//! The content-addressed blob store: sealed records keyed by the CID of their bytes.

use record_crypto::Cid;

/// Sealed records in the sled tree `blobs`, keyed by the binary CID of their bytes.
#[derive(Clone)]
pub struct BlobStore {
    tree: sled::Tree,
}

impl BlobStore {
    /// The store in `db`.
    pub fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self { tree: db.open_tree("blobs")? })
    }

    /// Stores `bytes` under their CID (a second put of the same bytes changes nothing).
    pub fn put(&self, bytes: &[u8]) -> sled::Result<Cid> {
        let cid = Cid::of(bytes);
        self.tree.insert(cid.to_bytes(), bytes)?;
        Ok(cid)
    }

    /// The bytes stored under `cid`.
    pub fn get(&self, cid: &Cid) -> sled::Result<Option<Vec<u8>>> {
        Ok(self.tree.get(cid.to_bytes())?.map(|v| v.to_vec()))
    }

    /// Whether a blob is stored under `cid`.
    pub fn contains(&self, cid: &Cid) -> sled::Result<bool> {
        self.tree.contains_key(cid.to_bytes())
    }

    /// Every stored blob, as (key bytes, content), for verification.
    pub fn iter(&self) -> impl Iterator<Item = sled::Result<(Vec<u8>, Vec<u8>)>> {
        self.tree.iter().map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }
}
