//! The custodian's answer and the grantee's checks on a real store: an honest answer verifies,
//! and each kind of forgery or mismatch is refused with its reason.

use data_encoding::BASE64;
use record_crypto::NodeKeyPair;

use super::{verify_peer_records, PeerRecords, PeerServeError, VerifyPeerError};
use crate::config::{BridgeConfig, PeerConfig};
use crate::pipeline::{self, commit::now_ms};
use crate::store::{Node, Peer};

struct Setup {
    _dir: tempfile::TempDir,
    custodian: Node,
    grantee: NodeKeyPair,
}

fn submit(node: &Node, json: &str) {
    let prepared = pipeline::prepare(&[json.as_bytes()], node).pop().expect("one submission");
    assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
    node.commit_batch(&prepared.resources, &[]).expect("commit");
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let grantee = NodeKeyPair::generate().expect("key");
    let config = BridgeConfig {
        data_dir: dir.path().to_owned(),
        peers: vec![PeerConfig {
            organization: "Organization/hospital-b".into(),
            public_key: grantee.public_key().to_string(),
            url: None,
        }],
        ..BridgeConfig::default()
    };
    let custodian = Node::open(&config).expect("node");
    submit(&custodian, r#"{"resourceType":"Patient","id":"p1"}"#);
    submit(
        &custodian,
        r#"{"resourceType":"Consent","id":"c1","status":"active",
            "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
            "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
            "patient":{"reference":"Patient/p1"},
            "provision":{"actor":[{"role":{"text":"grantee"},"reference":{"reference":"Organization/hospital-b"}}],
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
    setup.custodian.peer_records(&grantee, "p1", "Observation", now_ms()).1.expect("granted")
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
    let (_, condition) = setup.custodian.peer_records(&grantee, "p1", "Condition", now_ms());
    assert!(matches!(condition, Err(PeerServeError::TypeNotGranted(_))));
    let (_, other_patient) = setup.custodian.peer_records(&grantee, "p2", "Observation", now_ms());
    assert!(matches!(other_patient, Err(PeerServeError::NoGrant)));
    let stranger = NodeKeyPair::generate().expect("key").key_id().to_string();
    let (_, other_node) = setup.custodian.peer_records(&stranger, "p1", "Observation", now_ms());
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
            "provision":{"actor":[{"role":{"text":"grantee"},"reference":{"reference":"Organization/hospital-b"}}]}}"#,
    );
    submit(
        &setup.custodian,
        r#"{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"pulse"},
            "subject":{"reference":"Patient/p2"},"valueQuantity":{"value":90,"unit":"/min"}}"#,
    );
    let grantee = setup.grantee.key_id().to_string();
    let p2 = setup.custodian.peer_records(&grantee, "p2", "Observation", now_ms()).1.expect("granted");
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
            "provision":{{"actor":[{{"role":{{"text":"grantee"}},"reference":{{"reference":"Organization/hospital-b"}}}}],
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
        let answer = setup.custodian.peer_records(&grantee, "p1", resource_type, now_ms()).1?;
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
