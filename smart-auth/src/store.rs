//! The two bounded in-memory tables: the [`ReplayCache`] of client assertion ids and the
//! [`TokenStore`] of issued bearer tokens.
//!
//! Both drop entries only once they have expired, and refuse new entries ([`AuthError::Busy`])
//! when full of live ones: forgetting a live assertion id early would let it be replayed.
//! Tokens are kept as SHA-256 digests, so a memory dump does not yield usable tokens; the lookup
//! is by digest, so its timing says nothing about the token bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::error::AuthError;
use super::principal::Principal;

/// How often (seconds) a table sweeps out expired entries when it is not full.
const PRUNE_INTERVAL_S: u64 = 10;

/// SHA-256 of a token or of an (issuer, jti) pair.
pub type Digest32 = [u8; 32];

/// Plain SHA-256.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The SHA-256 of a bearer token.
pub fn token_digest(token: &str) -> Digest32 {
    sha256(token.as_bytes())
}

/// Assertion ids seen, until their assertions expire.
pub struct ReplayCache {
    capacity: usize,
    // INVARIANT: an entry stays until `now >= exp`, so a replay within the assertion's lifetime is caught.
    seen: Mutex<Table<u64>>,
}

struct Table<V> {
    entries: HashMap<Digest32, V>,
    next_prune_s: u64,
}

impl<V> Table<V> {
    fn new() -> Self {
        Table { entries: HashMap::new(), next_prune_s: 0 }
    }

    /// Drops expired entries when it is time to, or when the table is full.
    fn prune(&mut self, now_s: u64, capacity: usize, expiry: impl Fn(&V) -> u64) {
        if now_s >= self.next_prune_s || self.entries.len() >= capacity {
            self.entries.retain(|_, value| expiry(value) > now_s);
            self.next_prune_s = now_s.saturating_add(PRUNE_INTERVAL_S);
        }
    }
}

impl ReplayCache {
    /// An empty cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        ReplayCache { capacity, seen: Mutex::new(Table::new()) }
    }

    /// Records `jti` of `issuer`, valid until `exp_s`; refuses it if already recorded and unexpired.
    pub fn check_and_insert(&self, issuer: &str, jti: &str, exp_s: u64, now_s: u64) -> Result<(), AuthError> {
        // Length-prefix the issuer so that ("ab", "c") and ("a", "bc") differ.
        let mut input = Vec::with_capacity(8 + issuer.len() + jti.len());
        input.extend_from_slice(&(issuer.len() as u64).to_be_bytes());
        input.extend_from_slice(issuer.as_bytes());
        input.extend_from_slice(jti.as_bytes());
        let key = sha256(&input);
        let mut table = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        table.prune(now_s, self.capacity, |exp| *exp);
        match table.entries.get(&key) {
            Some(&seen_exp) if seen_exp > now_s => return Err(AuthError::AssertionReplayed),
            Some(_) => {}
            None if table.entries.len() >= self.capacity => return Err(AuthError::Busy),
            None => {}
        }
        table.entries.insert(key, exp_s);
        Ok(())
    }
}

/// An issued token: who it is and when it stops working.
struct TokenEntry {
    principal: Arc<Principal>,
    exp_s: u64,
}

/// Issued bearer tokens by SHA-256 digest.
pub struct TokenStore {
    capacity: usize,
    tokens: RwLock<Table<TokenEntry>>,
}

impl TokenStore {
    /// An empty store holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        TokenStore { capacity, tokens: RwLock::new(Table::new()) }
    }

    /// Stores the digest of a new token for `principal`, valid until `exp_s`.
    pub fn insert(&self, digest: Digest32, principal: Arc<Principal>, exp_s: u64, now_s: u64) -> Result<(), AuthError> {
        let mut table = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        table.prune(now_s, self.capacity, |entry| entry.exp_s);
        if table.entries.len() >= self.capacity {
            return Err(AuthError::Busy);
        }
        table.entries.insert(digest, TokenEntry { principal, exp_s });
        Ok(())
    }

    /// The principal of a live token; `None` if never issued (or pruned), `TokenExpired` if expired.
    pub fn lookup(&self, digest: &Digest32, now_s: u64) -> Result<Option<Arc<Principal>>, AuthError> {
        let table = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        match table.entries.get(digest) {
            None => Ok(None),
            Some(entry) if entry.exp_s <= now_s => Err(AuthError::TokenExpired),
            Some(entry) => Ok(Some(entry.principal.clone())),
        }
    }

    /// Tokens stored now (live or not yet pruned).
    pub fn len(&self) -> usize {
        self.tokens.read().unwrap_or_else(PoisonError::into_inner).entries.len()
    }
}
