//! The custodian's answer and the grantee's checks on a real store: an honest answer verifies,
//! and each kind of forgery or mismatch is refused with its reason. The store is filled by the
//! real writer (`ingest-pipeline`, a dev-dependency), so the grant tests here check what matters
//! to a reader: that the Grant and Revoke records the writer plans open exactly what the
//! consents say, as the custodian serves them.

use data_encoding::BASE64;
use ledger_adapter::{LedgerReader, LedgerWriter};
use record_crypto::NodeKeyPair;

use super::{verify_peer_records, PeerRecords, PeerServeError, VerifyPeerError};
use node_store::clock::now_ms;
use node_store::{Node, NodeConfig, Peer, PeerConfig};

struct Setup {
    _dir: tempfile::TempDir,
    custodian: Node,
    grantee: NodeKeyPair,
}

fn submit(node: &Node, json: &str) {
    let prepared = ingest_pipeline::prepare(&[json.as_bytes()], node).pop().expect("one submission");
    assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
    ingest_pipeline::commit_batch(node, &prepared.resources, &[]).expect("commit");
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let grantee = NodeKeyPair::generate().expect("key");
    let config = NodeConfig {
        peers: vec![PeerConfig {
            organization: "Organization/hospital-b".into(),
            public_key: grantee.public_key().to_string(),
            url: None,
        }],
        ..NodeConfig::in_dir(dir.path())
    };
    let custodian = Node::open(&config).expect("node");
    submit(&custodian, r#"{"resourceType":"Patient","id":"p1"}"#);
    submit(
        &custodian,
        r#"{"resourceType":"Consent","id":"c1","status":"active",
            "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
            "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
            "patient":{"reference":"Patient/p1"},
            "provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hospital-b"}}],
                         "class":[{"system":"http://hl7.org/fhir/resource-types","code":"Observation"}]}}"#,
    );
    for (id, value) in [("o1", 72), ("o2", 80)] {
        submit(
            &custodian,
            &format!(
                r#"{{"resourceType":"Observation","id":"{id}","status":"final","code":{{"text":"pulse"}},
                    "subject":{{"reference":"Patient/p1"}},"valueQuantity":{{"value":{value},"unit":"/min"}}}}"#
            ),
        );
    }
    Setup { _dir: dir, custodian, grantee }
}

fn custodian_as_peer(node: &Node) -> Peer {
    Peer {
        organization: "Organization/hospital-a".into(),
        public_key: *node.node_key.public_key(),
        key_id_hex: node.key_id.clone(),
        url: None,
    }
}

fn answer(setup: &Setup) -> PeerRecords {
    let grantee = setup.grantee.key_id().to_string();
    crate::custodian::peer_records(&setup.custodian, &grantee, "p1", "Observation", None, now_ms()).1.expect("granted")
}

fn refused(setup: &Setup, answer: &PeerRecords) -> VerifyPeerError {
    verify_peer_records(answer, &custodian_as_peer(&setup.custodian), &setup.grantee, "Observation", "p1")
        .expect_err("must be refused")
}

#[test]
fn an_honest_answer_verifies_and_decrypts() {
    let setup = setup();
    let answer = answer(&setup);
    assert_eq!((answer.grants.len(), answer.records.len(), answer.withheld), (1, 2, 0));
    let verified =
        verify_peer_records(&answer, &custodian_as_peer(&setup.custodian), &setup.grantee, "Observation", "p1")
            .expect("ok");
    let ids: Vec<String> = verified
        .records
        .iter()
        .map(|r| match &r.resource {
            fhir_models::Resource::Observation(o) => o.id.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
            other => panic!("{}", other.resource_type()),
        })
        .collect();
    assert_eq!(ids, ["o1", "o2"]);
    assert_eq!(verified.patient.as_deref(), Some(setup.custodian.patient_pseudonym("p1").to_string().as_str()));
}

#[test]
fn the_custodian_refuses_without_a_grant_for_the_type_or_the_node() {
    let setup = setup();
    let grantee = setup.grantee.key_id().to_string();
    let (_, condition) = crate::custodian::peer_records(&setup.custodian, &grantee, "p1", "Condition", None, now_ms());
    assert!(matches!(condition, Err(PeerServeError::TypeNotGranted(_))));
    let (_, other_patient) =
        crate::custodian::peer_records(&setup.custodian, &grantee, "p2", "Observation", None, now_ms());
    assert!(matches!(other_patient, Err(PeerServeError::NoGrant)));
    let stranger = NodeKeyPair::generate().expect("key").key_id().to_string();
    let (_, other_node) =
        crate::custodian::peer_records(&setup.custodian, &stranger, "p1", "Observation", None, now_ms());
    assert!(matches!(other_node, Err(PeerServeError::NoGrant)));
}

#[test]
fn altered_ciphertext_is_refused() {
    let setup = setup();
    let mut answer = answer(&setup);
    let mut sealed = BASE64.decode(answer.records[1].ciphertext.as_deref().expect("ct").as_bytes()).expect("b64");
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    answer.records[1].ciphertext = Some(BASE64.encode(&sealed));
    let error = refused(&setup, &answer);
    assert_eq!(
        (error.seq, error.what),
        (Some(answer.records[1].seq), "the ciphertext does not match the record's CID")
    );
}

#[test]
fn a_forged_record_is_refused() {
    let setup = setup();
    let mut answer = answer(&setup);
    let record = BASE64.decode(answer.records[0].record.as_bytes()).expect("b64");
    let forged = String::from_utf8(record).expect("utf8").replace("\"version\":1", "\"version\":2");
    answer.records[0].record = BASE64.encode(forged.as_bytes());
    assert_eq!(refused(&setup, &answer).what, "record is not in the custodian's signed ledger");
}

#[test]
fn records_moved_between_slots_do_not_open() {
    // Genuine records and proofs, but o2's (genuine) ciphertext served as o1's.
    let setup = setup();
    let mut answer = answer(&setup);
    answer.records[0].ciphertext = answer.records[1].ciphertext.clone();
    assert_eq!(refused(&setup, &answer).what, "the ciphertext does not match the record's CID");
}

#[test]
fn another_grantee_key_or_another_custodian_key_is_refused() {
    let setup = setup();
    let answer = answer(&setup);
    let other_grantee = NodeKeyPair::generate().expect("key");
    let error = verify_peer_records(&answer, &custodian_as_peer(&setup.custodian), &other_grantee, "Observation", "p1")
        .expect_err("another node's grant");
    assert_eq!(error.what, "a grant to another node");
    let mut impostor = custodian_as_peer(&setup.custodian);
    let other = NodeKeyPair::generate().expect("key");
    impostor.public_key = *other.public_key();
    impostor.key_id_hex = other.key_id().to_string();
    let error = verify_peer_records(&answer, &impostor, &setup.grantee, "Observation", "p1").expect_err("impostor");
    assert_eq!(error.what, "the head is signed by another node than the custodian");
}

#[test]
fn a_record_without_its_grant_does_not_open() {
    let setup = setup();
    let mut answer = answer(&setup);
    answer.grants.clear();
    assert_eq!(refused(&setup, &answer).what, "a record of another patient");
}

#[test]
fn another_granted_patients_records_are_refused() {
    // p2 also grants this node; a custodian that answers a read of p1 with p2's genuine,
    // proven records is caught by the content's subject.
    let setup = setup();
    submit(&setup.custodian, r#"{"resourceType":"Patient","id":"p2"}"#);
    submit(
        &setup.custodian,
        r#"{"resourceType":"Consent","id":"c2","status":"active",
            "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
            "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
            "patient":{"reference":"Patient/p2"},
            "provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hospital-b"}}]}}"#,
    );
    submit(
        &setup.custodian,
        r#"{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"pulse"},
            "subject":{"reference":"Patient/p2"},"valueQuantity":{"value":90,"unit":"/min"}}"#,
    );
    let grantee = setup.grantee.key_id().to_string();
    let p2 = crate::custodian::peer_records(&setup.custodian, &grantee, "p2", "Observation", None, now_ms())
        .1
        .expect("granted");
    let custodian = custodian_as_peer(&setup.custodian);
    assert_eq!(verify_peer_records(&p2, &custodian, &setup.grantee, "Observation", "p2").expect("ok").records.len(), 1);
    let error = verify_peer_records(&p2, &custodian, &setup.grantee, "Observation", "p1").expect_err("swapped");
    assert_eq!(error.what, "the content belongs to another patient than the one asked for");
}

fn condition_consent(status: &str) -> String {
    format!(
        r#"{{"resourceType":"Consent","id":"c-cond","status":"{status}",
            "scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},
            "category":[{{"coding":[{{"system":"http://loinc.org","code":"59284-0"}}]}}],
            "patient":{{"reference":"Patient/p1"}},
            "provision":{{"type":"permit","actor":[{{"role":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}}]}},"reference":{{"reference":"Organization/hospital-b"}}}}],
                         "class":[{{"system":"http://hl7.org/fhir/resource-types","code":"Condition"}}]}}}}"#
    )
}

#[test]
fn several_consents_to_one_grantee_each_open_their_types_and_end_alone() {
    let setup = setup();
    submit(&setup.custodian, &condition_consent("active"));
    submit(
        &setup.custodian,
        r#"{"resourceType":"Condition","id":"k1","subject":{"reference":"Patient/p1"},"code":{"text":"x"}}"#,
    );
    let grantee = setup.grantee.key_id().to_string();
    let custodian = custodian_as_peer(&setup.custodian);
    let read = |resource_type: &str| {
        let answer =
            crate::custodian::peer_records(&setup.custodian, &grantee, "p1", resource_type, None, now_ms()).1?;
        let verified = verify_peer_records(&answer, &custodian, &setup.grantee, resource_type, "p1")
            .expect("an honest answer verifies");
        Ok::<_, PeerServeError>(verified.records.len())
    };
    // Both consents are in force: the first consent's grant is not replaced by the second's.
    assert_eq!(read("Observation").expect("the Observation consent"), 2);
    assert_eq!(read("Condition").expect("the Condition consent"), 1);

    // Ending the Condition consent rotates the key; the Observation consent stays in force and is
    // re-wrapped, so later Observations open, and Conditions are refused.
    submit(&setup.custodian, &condition_consent("inactive"));
    submit(
        &setup.custodian,
        r#"{"resourceType":"Observation","id":"o-late","status":"final","code":{"text":"pulse"},
            "subject":{"reference":"Patient/p1"},"valueQuantity":{"value":75,"unit":"/min"}}"#,
    );
    assert_eq!(read("Observation").expect("still granted"), 3);
    assert!(matches!(read("Condition"), Err(PeerServeError::TypeNotGranted(_))));
}

fn consent(id: &str, patient: &str, status: &str, provision: &str) -> String {
    format!(
        r#"{{"resourceType":"Consent","id":"{id}","status":"{status}",
            "scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},
            "category":[{{"coding":[{{"system":"http://loinc.org","code":"59284-0"}}]}}],
            "patient":{{"reference":"Patient/{patient}"}},"provision":{provision}}}"#
    )
}

const B_RECIPIENT: &str = r#"{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hospital-b"}}"#;

fn permit(class: &str) -> String {
    format!(
        r#"{{"type":"permit","actor":[{B_RECIPIENT}],"class":[{{"system":"http://hl7.org/fhir/resource-types","code":"{class}"}}]}}"#
    )
}

fn read_of(setup: &Setup, patient: &str, resource_type: &str) -> Result<usize, PeerServeError> {
    let grantee = setup.grantee.key_id().to_string();
    crate::custodian::peer_records(&setup.custodian, &grantee, patient, resource_type, None, now_ms())
        .1
        .map(|a| a.records.len())
}

/// The epochs of the grants in force for `patient`.
fn grant_epochs(setup: &Setup, patient: &str) -> Vec<u32> {
    let pseudonym = setup.custodian.patient_pseudonym(patient);
    let entries = setup.custodian.index.grants_of(pseudonym.as_bytes()).expect("index");
    entries
        .iter()
        .map(|e| match setup.custodian.any_record_at(e.seq).expect("record") {
            node_store::records::LedgerRecord::Grant(g) => g.epoch,
            other => panic!("{}", other.kind()),
        })
        .collect()
}

#[test]
fn a_consent_moved_to_another_patient_ends_the_first_patients_grant() {
    let setup = setup();
    submit(&setup.custodian, r#"{"resourceType":"Patient","id":"p2"}"#);
    assert_eq!(read_of(&setup, "p1", "Observation").expect("granted"), 2);
    submit(&setup.custodian, &consent("c1", "p2", "active", &permit("Observation")));
    assert!(matches!(read_of(&setup, "p1", "Observation"), Err(PeerServeError::NoGrant)));
    assert_eq!(read_of(&setup, "p2", "Observation").expect("now p2 grants"), 0);
    // And setting it inactive afterwards ends p2's grant, with p1's long gone.
    submit(&setup.custodian, &consent("c1", "p2", "inactive", &permit("Observation")));
    assert!(matches!(read_of(&setup, "p2", "Observation"), Err(PeerServeError::NoGrant)));
    assert!(matches!(read_of(&setup, "p1", "Observation"), Err(PeerServeError::NoGrant)));
}

#[test]
fn narrowing_a_consent_revokes_its_grant_and_rotates_the_key() {
    let setup = setup();
    let before = grant_epochs(&setup, "p1");
    submit(&setup.custodian, &consent("c1", "p1", "active", &permit("Condition")));
    assert!(matches!(read_of(&setup, "p1", "Observation"), Err(PeerServeError::TypeNotGranted(_))));
    let after = grant_epochs(&setup, "p1");
    assert_eq!((before.len(), after.len()), (1, 1));
    assert!(after[0] > before[0], "the revoked grant's epoch must not be the one granted now: {before:?} {after:?}");
    // The same terms again change nothing: no revoke, no new epoch.
    submit(&setup.custodian, &consent("c1", "p1", "active", &permit("Condition")));
    assert_eq!(grant_epochs(&setup, "p1"), after);
}

#[test]
fn a_deny_consent_ends_an_earlier_permit_until_it_is_withdrawn() {
    let setup = setup();
    let deny = format!(r#"{{"type":"deny","actor":[{B_RECIPIENT}]}}"#);
    submit(&setup.custodian, &consent("c-no", "p1", "active", &deny));
    let first = read_of(&setup, "p1", "Observation");
    assert!(matches!(first, Err(PeerServeError::NoGrant)), "{first:?}");
    // A deny of Conditions only leaves the Observation permit whole.
    let deny_conditions = format!(
        r#"{{"type":"deny","actor":[{B_RECIPIENT}],"class":[{{"system":"http://hl7.org/fhir/resource-types","code":"Condition"}}]}}"#
    );
    submit(&setup.custodian, &consent("c-no", "p1", "active", &deny_conditions));
    assert_eq!(read_of(&setup, "p1", "Observation").expect("granted again"), 2);
    submit(&setup.custodian, &consent("c-no", "p1", "active", &deny));
    assert!(matches!(read_of(&setup, "p1", "Observation"), Err(PeerServeError::NoGrant)));
    submit(&setup.custodian, &consent("c-no", "p1", "inactive", &deny));
    assert_eq!(read_of(&setup, "p1", "Observation").expect("the deny is withdrawn"), 2);
}

#[test]
fn grants_an_earlier_version_made_too_broadly_are_revoked_before_serving() {
    // A grant of every type for c1, as a looser reading of its Consent once made it (c1 permits
    // Observations only): written straight to the ledger and the index.
    let setup = setup();
    let node = &setup.custodian;
    let pseudonym = node.patient_pseudonym("p1");
    let entry = node.index.grants_of(pseudonym.as_bytes()).expect("index")[0];
    let node_store::records::LedgerRecord::Grant(mut broad) = node.any_record_at(entry.seq).expect("grant") else {
        panic!("not a grant")
    };
    broad.types = vec!["*".into()];
    let seq = node.ledger.tree_size().expect("size");
    let block = node
        .ledger
        .append_block(&[node_store::records::LedgerRecord::Grant(broad.clone()).encode()], now_ms())
        .expect("append");
    let epoch = broad.epoch;
    let grant = node_store::GrantEntry { seq, ..entry };
    node.index
        .apply(&[node_store::IndexEntry::Grant { patient: *pseudonym.as_bytes(), grant, epoch }], block.seqs.end)
        .expect("index");
    assert_eq!(read_of(&setup, "p1", "Condition").expect("the broad grant opens Conditions"), 0);

    assert!(ingest_pipeline::reconcile_grants(node).expect("reconcile") >= 2, "a Revoke and the Grant c1 makes");
    assert!(matches!(read_of(&setup, "p1", "Condition"), Err(PeerServeError::TypeNotGranted(_))));
    assert_eq!(read_of(&setup, "p1", "Observation").expect("c1's own grant"), 2);
    assert!(grant_epochs(&setup, "p1")[0] > epoch, "rotated past the broad grant's epoch");
    // Once in line, nothing more to do.
    assert_eq!(ingest_pipeline::reconcile_grants(node).expect("reconcile"), 0);
}

#[test]
fn deleting_a_deny_restores_the_permits_it_narrowed() {
    let setup = setup();
    let deny = format!(r#"{{"type":"deny","actor":[{B_RECIPIENT}]}}"#);
    submit(&setup.custodian, &consent("c-no", "p1", "active", &deny));
    assert!(matches!(read_of(&setup, "p1", "Observation"), Err(PeerServeError::NoGrant)));
    submit(
        &setup.custodian,
        r#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Consent/c-no"}}]}"#,
    );
    assert_eq!(read_of(&setup, "p1", "Observation").expect("the deny is gone"), 2);
}

/// The custodian's block at `height` as the chain would hold it.
fn anchored_at(node: &Node, height: u64) -> crate::AnchoredHead {
    let block = node.ledger.block(height).expect("ledger").expect("block");
    crate::AnchoredHead { height, tree_size: block.header.tree_size, header_hash: *block.hash().as_bytes() }
}

fn custodian_key(node: &Node) -> ledger_adapter::NodePublicKey {
    ledger_adapter::NodePublicKey::from_compressed(&node.node_key.public_key().to_bytes()).expect("key")
}

fn anchored_answer(setup: &Setup, height: u64) -> (PeerRecords, ledger_adapter::SignedBlockHeader) {
    let grantee = setup.grantee.key_id().to_string();
    let answer =
        crate::custodian::peer_records(&setup.custodian, &grantee, "p1", "Observation", Some(height), now_ms())
            .1
            .expect("granted");
    let head = verify_peer_records(&answer, &custodian_as_peer(&setup.custodian), &setup.grantee, "Observation", "p1")
        .expect("verifies")
        .head;
    (answer, head)
}

#[test]
fn a_head_that_extends_the_custodians_anchor_is_accepted() {
    let setup = setup();
    let key = custodian_key(&setup.custodian);
    let last = setup.custodian.ledger.head().expect("ledger").expect("head").header.height;
    for height in [0, 1, last] {
        let (answer, head) = anchored_answer(&setup, height);
        let anchored = anchored_at(&setup.custodian, height);
        crate::anchor::verify_anchor(&head, answer.anchor.as_ref(), &anchored, &key)
            .unwrap_or_else(|why| panic!("height {height}: {why}"));
    }
    // Without anchored_height, no proof is added (older grantees see the answer they knew).
    assert!(answer(&setup).anchor.is_none());
}

#[test]
fn a_head_that_does_not_extend_the_anchor_is_refused() {
    let setup = setup();
    let key = custodian_key(&setup.custodian);
    let (answer, head) = anchored_answer(&setup, 1);
    // The chain holds another header for that height (the custodian's ledger was rebuilt).
    let mut rewritten = anchored_at(&setup.custodian, 1);
    rewritten.header_hash[0] ^= 1;
    let why =
        crate::anchor::verify_anchor(&head, answer.anchor.as_ref(), &rewritten, &key).expect_err("another header");
    assert!(why.contains("not the one anchored"), "{why}");
    // The chain's anchor is beyond the custodian's ledger: no proof, refused.
    let beyond = crate::AnchoredHead { height: 999, tree_size: 5000, header_hash: [7; 32] };
    let (no_proof, head) = anchored_answer(&setup, 999);
    assert!(no_proof.anchor.is_none());
    let why = crate::anchor::verify_anchor(&head, None, &beyond, &key).expect_err("no proof");
    assert!(why.contains("no proof"), "{why}");
    // A consistency path that does not lead to the served head's root.
    let mut forged = answer.anchor.clone().expect("proof");
    assert!(!forged.consistency.is_empty(), "height 1 is below the head: the proof has hashes");
    forged.consistency[0] = "00".repeat(32);
    let why = crate::anchor::verify_anchor(&head, Some(&forged), &anchored_at(&setup.custodian, 1), &key)
        .expect_err("forged path");
    assert!(why.contains("does not extend the anchored tree"), "{why}");
    // A header signed by another key, under the anchored hash: its signature fails.
    let other = NodeKeyPair::generate().expect("key");
    let other_key = ledger_adapter::NodePublicKey::from_compressed(&other.public_key().to_bytes()).expect("key");
    let why =
        crate::anchor::verify_anchor(&head, answer.anchor.as_ref(), &anchored_at(&setup.custodian, 1), &other_key)
            .expect_err("wrong key");
    assert!(why.contains("not signed by the custodian"), "{why}");
}
