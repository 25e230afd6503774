//! The fourth model end to end through the public API only: custodian A seals a record and
//! wraps the patient key for grantee B; B unwraps, opens and checks the commitment and CID;
//! after a revoke and rotation, B cannot open new records.

use record_crypto::{
    open, random_salt, seal, unwrap_patient_key, wrap_patient_key, Cid, Commitment, NodeKeyPair, OpenError, PatientKey,
    PseudonymKind, Pseudonymizer, UnwrapError, WrappedKey,
};

fn record_identity(type_pseudonym: &[u8; 32], id_pseudonym: &[u8; 32], version: u32) -> Vec<u8> {
    [type_pseudonym.as_slice(), id_pseudonym.as_slice(), &version.to_be_bytes()].concat()
}

#[test]
fn grantee_reads_through_the_grant_and_loses_access_after_rotation() {
    let pseudonymizer = Pseudonymizer::new(&[7; 32]).unwrap();
    let custodian = NodeKeyPair::generate().unwrap();
    let grantee = NodeKeyPair::generate().unwrap();
    let patient = pseudonymizer.pseudonym(PseudonymKind::new("patient"), "Patient/123");
    let type_pseudonym = pseudonymizer.pseudonym(PseudonymKind::new("resource-type"), "Observation");
    let id_pseudonym = pseudonymizer.pseudonym(PseudonymKind::new("resource"), "Observation/9");

    // Custodian A: seal version 1 and publish CID + commitment.
    let patient_key = PatientKey::generate(0).unwrap();
    let identity = record_identity(type_pseudonym.as_bytes(), id_pseudonym.as_bytes(), 1);
    let metadata = b"canonical ledger metadata of the ResourceVersion";
    let plaintext = br#"{"resourceType":"Observation","id":"9"}"#;
    let salt = random_salt().unwrap();
    let commitment = Commitment::commit(&salt, plaintext);
    let sealed = seal(&patient_key.record_key(&identity), metadata, plaintext, &salt).unwrap();
    let cid = Cid::of(&sealed);

    // Grant: wrap for B, bound to (patient pseudonym, epoch, grantee key id).
    let context =
        |epoch: u32| [patient.as_bytes().as_slice(), &epoch.to_be_bytes(), grantee.key_id().as_bytes()].concat();
    let grant = wrap_patient_key(&patient_key, grantee.public_key(), &context(0)).unwrap();
    let stored = grant.to_bytes();

    // Grantee B: unwrap, fetch by CID, open, check the commitment.
    let grant = WrappedKey::from_bytes(&stored).unwrap();
    let unwrapped = unwrap_patient_key(&grant, &grantee, &context(0)).unwrap();
    assert!(cid.matches(&sealed));
    let opened = open(&unwrapped.record_key(&identity), metadata, &sealed).unwrap();
    assert_eq!(opened.plaintext, plaintext);
    assert!(commitment.verify(&opened.salt, &opened.plaintext));

    // The custodian's own wrap is not usable by B, nor B's by A.
    let own = wrap_patient_key(&patient_key, custodian.public_key(), &context(0)).unwrap();
    assert_eq!(unwrap_patient_key(&own, &grantee, &context(0)), Err(UnwrapError::Authentication));
    assert_eq!(unwrap_patient_key(&grant, &custodian, &context(0)), Err(UnwrapError::Authentication));

    // Revoke: rotate; version 2 is sealed under epoch 1, which B never receives.
    let rotated = patient_key.next_epoch().unwrap();
    let identity_2 = record_identity(type_pseudonym.as_bytes(), id_pseudonym.as_bytes(), 2);
    let sealed_2 = seal(&rotated.record_key(&identity_2), metadata, plaintext, &salt).unwrap();
    assert_eq!(open(&unwrapped.record_key(&identity_2), metadata, &sealed_2), Err(OpenError::Authentication));
    // The old grant does not unwrap under the new epoch's context either.
    assert_eq!(unwrap_patient_key(&grant, &grantee, &context(1)), Err(UnwrapError::Authentication));
}
