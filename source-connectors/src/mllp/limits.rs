//! Who may hold connections and send as whom: a per-sender connection limit (so one sender
//! cannot take every slot), and the allow-list of sending facilities, optionally bound to the
//! client certificate a sender presented.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Counts the connections each sender holds. A sender is a key: `ip:ADDRESS`, or with TLS
/// `cert:SHA-256` of its client certificate.
pub(super) struct SenderLimits {
    max_per_sender: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One connection's share of its sender's limit; dropping it gives the share back.
pub(super) struct SenderSlot {
    limits: Arc<SenderLimits>,
    key: String,
}

impl SenderLimits {
    pub(super) fn new(max_per_sender: usize) -> Arc<SenderLimits> {
        Arc::new(SenderLimits { max_per_sender: max_per_sender.max(1), held: Mutex::new(HashMap::new()) })
    }

    /// A slot for `key`, or `None` when that sender holds its maximum already.
    pub(super) fn acquire(self: &Arc<Self>, key: String) -> Option<SenderSlot> {
        // A poisoned lock only means a panic elsewhere while counting: the counts stay usable.
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= self.max_per_sender {
            return None;
        }
        *count += 1;
        Some(SenderSlot { limits: self.clone(), key })
    }

    #[cfg(test)]
    fn held(&self, key: &str) -> usize {
        self.held.lock().map(|h| h.get(key).copied().unwrap_or(0)).unwrap_or(0)
    }
}

impl Drop for SenderSlot {
    fn drop(&mut self) {
        let mut held = self.limits.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Why a sender may not send a message, for the `ERR` and the dead letter: the field and the
/// rule, never the facility named (it identifies the sender, and the sender knows it).
pub(super) const NOT_ALLOWED_HERE: &str = "MSH-4: the sending facility is not allowed on this listener";
/// As [`NOT_ALLOWED_HERE`], for a facility the client certificate may not send as.
pub(super) const NOT_ALLOWED_FOR_CERTIFICATE: &str =
    "MSH-4: the sending facility is not allowed for this client certificate";

/// The sending facilities a listener accepts, and those each client certificate may send as.
#[derive(Debug, Default)]
pub(super) struct Facilities {
    /// `FACILITY` or `APPLICATION/FACILITY` entries; empty: any.
    allowed: Vec<String>,
    /// Certificate name → entries; empty: certificates are not bound to facilities.
    by_certificate: BTreeMap<String, Vec<String>>,
}

/// Whether `entry` (`FACILITY` or `APPLICATION/FACILITY`) names this sender.
fn matches(entry: &str, application: &str, facility: &str) -> bool {
    match entry.split_once('/') {
        Some((app, fac)) => app == application && fac == facility,
        None => entry == facility,
    }
}

impl Facilities {
    pub(super) fn new(allowed: Vec<String>, by_certificate: BTreeMap<String, Vec<String>>) -> Facilities {
        Facilities { allowed, by_certificate }
    }

    /// Why a message from `application`/`facility` (MSH-3.1, MSH-4.1) over a connection whose
    /// client certificate bears `certificate_names` is refused; `None` when it may be sent.
    pub(super) fn refusal(
        &self,
        application: &str,
        facility: &str,
        certificate_names: &[String],
    ) -> Option<&'static str> {
        if !self.allowed.is_empty() && !self.allowed.iter().any(|e| matches(e, application, facility)) {
            return Some(NOT_ALLOWED_HERE);
        }
        if !self.by_certificate.is_empty() {
            let bound = certificate_names
                .iter()
                .filter_map(|name| self.by_certificate.get(name))
                .flatten()
                .any(|e| matches(e, application, facility));
            if !bound {
                return Some(NOT_ALLOWED_FOR_CERTIFICATE);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_holds_at_most_its_share_and_gets_it_back() {
        let limits = SenderLimits::new(2);
        let a1 = limits.acquire("ip:10.0.0.1".into()).expect("first");
        let _a2 = limits.acquire("ip:10.0.0.1".into()).expect("second");
        assert!(limits.acquire("ip:10.0.0.1".into()).is_none(), "a third is over the share");
        let _b = limits.acquire("ip:10.0.0.2".into()).expect("another sender is served");
        drop(a1);
        assert_eq!(limits.held("ip:10.0.0.1"), 1);
        assert!(limits.acquire("ip:10.0.0.1".into()).is_some(), "a slot given back is free again");
    }

    #[test]
    fn facilities_are_allowed_by_the_listener_and_bound_to_certificates() {
        let open = Facilities::default();
        assert_eq!(open.refusal("APP", "ANY", &[]), None);
        let listed = Facilities::new(vec!["GHH".into(), "LAB/OTHER".into()], BTreeMap::new());
        assert_eq!(listed.refusal("ADT", "GHH", &[]), None);
        assert_eq!(listed.refusal("LAB", "OTHER", &[]), None);
        assert_eq!(listed.refusal("ADT", "OTHER", &[]), Some(NOT_ALLOWED_HERE), "OTHER only from LAB");
        assert_eq!(listed.refusal("ADT", "NOPE", &[]), Some(NOT_ALLOWED_HERE));
        let bound = Facilities::new(
            Vec::new(),
            BTreeMap::from([
                ("x.example".to_owned(), vec!["GHH".to_owned()]),
                ("y.example".to_owned(), vec!["YH".to_owned()]),
            ]),
        );
        assert_eq!(bound.refusal("ADT", "GHH", &["x.example".into()]), None);
        assert_eq!(bound.refusal("ADT", "YH", &["x.example".into()]), Some(NOT_ALLOWED_FOR_CERTIFICATE));
        assert_eq!(bound.refusal("ADT", "GHH", &["z.example".into()]), Some(NOT_ALLOWED_FOR_CERTIFICATE));
        assert_eq!(bound.refusal("ADT", "GHH", &[]), Some(NOT_ALLOWED_FOR_CERTIFICATE), "no certificate, no facility");
    }
}
