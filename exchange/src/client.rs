//! The grantee's HTTP client to custodian nodes. It authenticates as SMART Backend Services
//! clients do: a client assertion signed ES256K with this node's key (client id = its key id)
//! exchanged at the custodian's `/auth/token` for a bearer token, which is cached per custodian
//! until shortly before it expires (and dropped when the custodian answers 401).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use record_crypto::NodeKeyPair;
use serde::Deserialize;

use crate::wire::{PeerRecords, RECORDS_PATH};
use node_store::Peer;
use smart_auth::{client_assertion_es256k, unix_now_s, ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_CLIENT_CREDENTIALS};

/// Lifetime of the assertions this node signs.
const ASSERTION_LIFETIME_S: u64 = 60;
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);

/// Why a custodian gave no answer to verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerFetchError {
    /// The peer has no URL configured.
    #[error("no url configured")]
    NoUrl,
    /// The custodian refused (403): no grant in force, type not granted, outside the period.
    #[error("refused by the custodian: {0}")]
    Denied(String),
    /// The custodian refused this node's authentication.
    #[error("authentication refused by the custodian: {0}")]
    Unauthorized(String),
    /// The custodian could not be reached or answered an error.
    #[error("custodian unavailable: {0}")]
    Unavailable(String),
    /// The answer is not the expected JSON.
    #[error("the custodian's answer does not decode: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// The client (one per node; thread-safe).
pub struct PeerClient {
    agent: ureq::Agent,
    anchors: Option<std::sync::Arc<dyn crate::anchor::AnchorView>>,
    key: NodeKeyPair,
    client_id: String,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

/// What went wrong on the wire, without the request's URL: ureq's own text quotes it, and the
/// URL of a records request carries the patient's id.
fn transport_text(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Transport(transport) => transport.kind().to_string(),
        ureq::Error::Status(status, _) => format!("HTTP {status}"),
    }
}

/// The first issue's diagnostics of an OperationOutcome body, or an OAuth error's description
/// (RFC 6749 §5.2), or the body's start.
fn outcome_text(body: &str) -> String {
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    json.as_ref()
        .and_then(|v| v["issue"][0]["diagnostics"].as_str().or_else(|| v["error_description"].as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect())
}

impl PeerClient {
    /// A client that signs with `key` and gives up on a custodian after `timeout`.
    pub fn new(key: NodeKeyPair, timeout: Duration) -> PeerClient {
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(5)).timeout(timeout).build();
        let client_id = key.key_id().to_string();
        PeerClient { agent, anchors: None, key, client_id, tokens: Mutex::new(HashMap::new()) }
    }

    /// The client, checking every custodian's head against its latest anchor in `anchors`.
    pub fn with_anchors(mut self, anchors: std::sync::Arc<dyn crate::anchor::AnchorView>) -> PeerClient {
        self.anchors = Some(anchors);
        self
    }

    /// Where custodians' anchors are looked up, when configured.
    pub fn anchors(&self) -> Option<&dyn crate::anchor::AnchorView> {
        self.anchors.as_deref()
    }

    fn token(&self, peer: &Peer, url: &str) -> Result<String, PeerFetchError> {
        {
            let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((token, expires)) = tokens.get(&peer.key_id_hex) {
                if Instant::now() + TOKEN_MARGIN < *expires {
                    return Ok(token.clone());
                }
            }
        }
        let token_url = format!("{url}/auth/token");
        let secret = self.key.secret_bytes();
        let assertion =
            client_assertion_es256k(&self.client_id, &token_url, &secret, ASSERTION_LIFETIME_S, unix_now_s())
                .map_err(|e| PeerFetchError::Unauthorized(e.to_string()))?;
        let requested = Instant::now();
        let answer = self.agent.post(&token_url).send_form(&[
            ("grant_type", GRANT_TYPE_CLIENT_CREDENTIALS),
            ("scope", "system/*.rs"),
            ("client_assertion_type", ASSERTION_TYPE_JWT_BEARER),
            ("client_assertion", &assertion),
        ]);
        let answer: TokenAnswer = match answer {
            Ok(response) => response.into_json().map_err(|e| PeerFetchError::Malformed(e.to_string()))?,
            Err(ureq::Error::Status(_, response)) => {
                return Err(PeerFetchError::Unauthorized(outcome_text(&response.into_string().unwrap_or_default())))
            }
            Err(e) => return Err(PeerFetchError::Unavailable(transport_text(&e))),
        };
        let expires = requested + Duration::from_secs(answer.expires_in);
        let mut tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.insert(peer.key_id_hex.clone(), (answer.access_token.clone(), expires));
        Ok(answer.access_token)
    }

    fn forget_token(&self, peer: &Peer) {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&peer.key_id_hex);
    }

    /// Asks `peer` for `patient_id`'s current records of `resource_type` (unverified: pass the
    /// answer to [`super::verify_peer_records`]), with the proof against its anchor at
    /// `anchored_height` when given.
    pub fn fetch(
        &self,
        peer: &Peer,
        patient_id: &str,
        resource_type: &str,
        anchored_height: Option<u64>,
    ) -> Result<PeerRecords, PeerFetchError> {
        self.fetch_of(peer, ("patient", patient_id), resource_type, anchored_height)
    }

    /// Asks `peer` for the Patient that carries `identifier` (`system|value`), resolved by the
    /// custodian through its index and within the patient's grants to this node (unverified: pass
    /// the answer to [`super::verify::verify_identified_patient`]).
    pub fn fetch_identified(
        &self,
        peer: &Peer,
        identifier: &str,
        anchored_height: Option<u64>,
    ) -> Result<PeerRecords, PeerFetchError> {
        self.fetch_of(peer, ("identifier", identifier), "Patient", anchored_height)
    }

    fn fetch_of(
        &self,
        peer: &Peer,
        (name, subject): (&str, &str),
        resource_type: &str,
        anchored_height: Option<u64>,
    ) -> Result<PeerRecords, PeerFetchError> {
        let url = peer.url.as_deref().ok_or(PeerFetchError::NoUrl)?.trim_end_matches('/');
        for attempt in 0..2 {
            let token = self.token(peer, url)?;
            let response = match name {
                // An identifier is PHI: it goes in the body, never in a URL that proxies and access
                // logs keep.
                "identifier" => self
                    .agent
                    .post(&format!("{url}{RECORDS_PATH}"))
                    .set("Authorization", &format!("Bearer {token}"))
                    .set("Accept", "application/json")
                    .send_json(serde_json::json!({
                        "identifier": subject, "type": resource_type, "anchored_height": anchored_height,
                    })),
                _ => {
                    let mut request = self
                        .agent
                        .get(&format!("{url}{RECORDS_PATH}"))
                        .query(name, subject)
                        .query("type", resource_type);
                    if let Some(height) = anchored_height {
                        request = request.query("anchored_height", &height.to_string());
                    }
                    request.set("Authorization", &format!("Bearer {token}")).set("Accept", "application/json").call()
                }
            };
            match response {
                Ok(response) => {
                    return response.into_json().map_err(|e| PeerFetchError::Malformed(e.to_string()));
                }
                // A token the custodian forgot (it restarted): get a new one, once.
                Err(ureq::Error::Status(401, response)) => {
                    self.forget_token(peer);
                    if attempt == 1 {
                        return Err(PeerFetchError::Unauthorized(outcome_text(
                            &response.into_string().unwrap_or_default(),
                        )));
                    }
                }
                Err(ureq::Error::Status(403, response)) => {
                    return Err(PeerFetchError::Denied(outcome_text(&response.into_string().unwrap_or_default())))
                }
                Err(ureq::Error::Status(status, response)) => {
                    let text = outcome_text(&response.into_string().unwrap_or_default());
                    return Err(PeerFetchError::Unavailable(format!("HTTP {status}: {text}")));
                }
                Err(e) => return Err(PeerFetchError::Unavailable(transport_text(&e))),
            }
        }
        Err(PeerFetchError::Unavailable("unreachable".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_custodian_is_reported_without_the_patient_id() {
        // A port nobody listens on: ureq's own error text would quote the URL, and with it the
        // patient's id in the query.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let key = NodeKeyPair::generate().expect("key");
        let custodian = NodeKeyPair::generate().expect("key");
        let peer = Peer {
            organization: "Organization/a".into(),
            public_key: *custodian.public_key(),
            key_id_hex: custodian.key_id().to_string(),
            url: Some(format!("http://127.0.0.1:{port}")),
        };
        let client = PeerClient::new(key, Duration::from_secs(2));
        let error = client.fetch(&peer, "patient-id-4711", "Observation", None).expect_err("nobody listens");
        assert!(matches!(error, PeerFetchError::Unavailable(_)), "{error}");
        let text = error.to_string();
        assert!(!text.contains("4711") && !text.contains("127.0.0.1"), "{text}");
    }
}
