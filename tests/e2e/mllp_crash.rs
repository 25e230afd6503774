//! MLLP acknowledges only what is durable: messages are sent one by one, and the bridge is
//! SIGKILLed the moment the last `AA` arrives. Restarted on the same data dir, it has every
//! acknowledged message's resources: re-sending them stores nothing new, `verify` passes, and
//! `export` gives each message's Patient.

use std::time::Duration;

use serde_json::Value;

use crate::mllp::{ack_code, start_mllp_bridge, tree_size, MllpClient};
use crate::support::{ndjson, temp_dir, verify_ok};

/// An admission of patient `n` (its own MRN, with an assigning authority).
fn admission(n: usize) -> String {
    format!(
        "MSH|^~\\&|CRASHAPP|CRASHFAC|BRIDGE|HOSP|20240101120000||ADT^A01^ADT_A01|CRASH-{n}|P|2.5.1\r\
         EVN|A01|20240101120000\r\
         PID|1||CRASH-MRN-{n}^^^HOSP&1.2.3&ISO^MR||CRASHTEST^PATIENT{n}||1970010{}|F\r\
         PV1|1|I|WARD^1^{n}||||||||||||||||CRASH-VISIT-{n}^^^HOSP&1.2.3&ISO^VN\r",
        n % 9 + 1
    )
}

#[test]
fn an_mllp_message_acknowledged_aa_survives_a_sigkill_right_after_its_ack() {
    let data = temp_dir();
    let (mut server, port) = start_mllp_bridge(data.path(), &[]);

    let messages: Vec<String> = (0..12).map(admission).collect();
    let mut client = MllpClient::connect(port);
    for message in &messages {
        let ack = client.send(message);
        assert_eq!(ack_code(&ack), "AA", "{ack}");
    }
    // The last AA has just arrived: no time for anything to be written after it.
    server.kill();

    server.restart();
    server.wait_healthy(Duration::from_secs(30));
    let size = tree_size(&server);
    assert!(size >= 24, "each message's Patient and Encounter are in the ledger: {size}");
    // Re-sent, every message is a duplicate: all of it was there.
    let mut client = MllpClient::connect(port);
    for message in &messages {
        let ack = client.send(message);
        assert_eq!(ack_code(&ack), "AA", "{ack}");
    }
    assert_eq!(tree_size(&server), size, "re-sending acknowledged messages stores nothing new");
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));

    verify_ok(data.path(), "after SIGKILL and restart");
    let run = server.command(&["export", "--type", "Patient"]).expect_code(0, "export");
    let patients = ndjson(&run.stdout);
    for n in 0..messages.len() {
        let mrn = format!("CRASH-MRN-{n}");
        let found: Vec<&Value> = patients
            .iter()
            .filter(|p| p["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == mrn.as_str())))
            .collect();
        assert_eq!(found.len(), 1, "the Patient of acknowledged message {n}: {patients:#?}");
        assert_eq!(found[0]["meta"]["versionId"], "1", "{:#}", found[0]);
    }
}
