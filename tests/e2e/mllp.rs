//! HL7 v2 over MLLP end to end, with a client not written here: python-hl7's `mllp_send`
//! (`FHIR_BRIDGE_MLLP_SEND`, set by scripts/test.sh; the test is skipped without it unless
//! CI=true). Every shared sample message is sent over four concurrent connections and
//! acknowledged `AA` only once durable; re-sending stores nothing new and is acknowledged again;
//! an A08 makes a new version of the same Patient (same PID-3 and assigning authority); a message
//! with a bad PID-7 gets `AE` with an `ERR` naming PID-7, an unsupported type `AR`, and both are
//! kept as dead letters.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::server::{free_port, Bridge};
use crate::support::{bridge, hl7v2_root, ndjson, temp_dir, verify_ok};

fn mllp_send() -> Option<PathBuf> {
    match std::env::var_os("FHIR_BRIDGE_MLLP_SEND") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "FHIR_BRIDGE_MLLP_SEND is unset (CI=true)");
            eprintln!("skipped: FHIR_BRIDGE_MLLP_SEND (python-hl7's mllp_send) is unset; scripts/test.sh sets it");
            None
        }
    }
}

/// A sample as sent on the wire: no BOM, segments ended by CR.
pub fn wire(text: &str) -> String {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\r").replace('\n', "\r");
    let mut segments: Vec<&str> = text.split('\r').filter(|s| !s.trim().is_empty()).collect();
    segments.retain(|s| !s.is_empty());
    segments.join("\r") + "\r"
}

pub fn framed(messages: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        out.push(0x0B);
        out.extend_from_slice(message.as_bytes());
        out.extend_from_slice(&[0x1C, b'\r']);
    }
    out
}

/// Sends a file of framed messages with `mllp_send`; gives each ACK's MSA-1 and its text.
fn send(tool: &Path, port: u16, file: &Path) -> std::process::Child {
    Command::new(tool)
        .args(["--port", &port.to_string(), "--file"])
        .arg(file)
        .arg("127.0.0.1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run mllp_send")
}

/// The ACKs in `mllp_send`'s output: (MSA-1, MSA-2, the whole ACK).
fn acks(output: std::process::Output) -> Vec<(String, String, String)> {
    assert!(output.status.success(), "mllp_send failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).replace('\n', "\r");
    let mut out = Vec::new();
    for ack in text.split("MSH|").filter(|a| !a.trim().is_empty()) {
        let msa = ack.split('\r').find(|s| s.starts_with("MSA|")).unwrap_or_else(|| panic!("no MSA in {ack:?}"));
        let fields: Vec<&str> = msa.split('|').collect();
        out.push((fields[1].to_owned(), fields.get(2).copied().unwrap_or("").to_owned(), format!("MSH|{ack}")));
    }
    out
}

/// `fhir-bridge serve` on `data` with its MLLP listener on a free port and the repository's
/// mappings, plus `extra` environment; healthy. The bridge and the MLLP port.
pub fn start_mllp_bridge(data: &Path, extra: &[(&str, String)]) -> (Bridge, u16) {
    let port = free_port();
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let mut env = vec![
        ("FHIR_BRIDGE__MLLP__LISTEN".to_owned(), format!("127.0.0.1:{port}")),
        ("FHIR_BRIDGE__HL7V2__MAPPINGS_DIR".to_owned(), mappings.display().to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let mut server = Bridge::start(data, &env, &data.join("serve.log"));
    server.wait_healthy(Duration::from_secs(20));
    (server, port)
}

pub fn tree_size(bridge: &Bridge) -> u64 {
    let (_, head) = bridge.get("/ledger/head").expect("head");
    // An empty ledger has no head yet.
    serde_json::from_str::<Value>(&head).expect("JSON")["tree_size"].as_u64().unwrap_or(0)
}

/// A plain MLLP client on a TCP socket, for tests that need control over the bytes and timing.
pub struct MllpClient {
    pub stream: std::net::TcpStream,
}

impl MllpClient {
    pub fn connect(port: u16) -> MllpClient {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the MLLP listener");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        MllpClient { stream }
    }

    /// Sends one message, framed, and gives its ACK.
    pub fn send(&mut self, message: &str) -> String {
        use std::io::Write;
        self.stream.write_all(&framed(&[message.to_owned()])).expect("send");
        self.read_ack().expect("an ACK before the connection closed")
    }

    /// The next framed answer, or `None` when the connection closed first.
    pub fn read_ack(&mut self) -> Option<String> {
        use std::io::Read;
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.stream.read(&mut byte) {
                Ok(0) => return None,
                Ok(_) => answer.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("reading an ACK: {e}"),
            }
            if answer.ends_with(&[0x1C, b'\r']) {
                let start = answer.iter().position(|b| *b == 0x0B).expect("start block");
                return Some(String::from_utf8_lossy(&answer[start + 1..answer.len() - 2]).into_owned());
            }
        }
    }
}

/// MSA-1 of an ACK.
pub fn ack_code(ack: &str) -> &str {
    ack.split('\r').find(|s| s.starts_with("MSA|")).and_then(|s| s.split('|').nth(1)).unwrap_or("")
}

#[test]
fn hl7_v2_over_mllp_is_acknowledged_once_durable_and_refusals_are_kept() {
    let Some(tool) = mllp_send() else { return };
    let Some(root) = hl7v2_root() else { return };
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    samples.sort();
    let messages: Vec<String> = samples.iter().map(|p| wire(&std::fs::read_to_string(p).expect("UTF-8"))).collect();

    let data = temp_dir();
    let (mut server, port) = start_mllp_bridge(data.path(), &[]);

    // Four connections at once, a quarter of the samples each.
    let files: Vec<PathBuf> = messages
        .chunks(messages.len().div_ceil(4))
        .enumerate()
        .map(|(i, chunk)| {
            let path = data.path().join(format!("batch-{i}.mllp"));
            std::fs::write(&path, framed(chunk)).expect("write");
            path
        })
        .collect();
    let senders: Vec<_> = files.iter().map(|f| send(&tool, port, f)).collect();
    let mut all = Vec::new();
    for sender in senders {
        all.extend(acks(sender.wait_with_output().expect("mllp_send")));
    }
    assert_eq!(all.len(), messages.len(), "one ACK per message");
    let refused: Vec<&(String, String, String)> = all.iter().filter(|(code, _, _)| code != "AA").collect();
    assert!(refused.is_empty(), "every sample is accepted: {refused:#?}");
    let size = tree_size(&server);
    assert!(size > 300, "the samples made resources: {size}");

    // The same messages again: acknowledged, nothing new stored.
    let again = acks(send(&tool, port, &files[0]).wait_with_output().expect("mllp_send"));
    assert!(again.iter().all(|(code, _, _)| code == "AA"), "{again:#?}");
    assert_eq!(tree_size(&server), size, "a re-sent message stores nothing new");

    // An update of the same patient, a bad birth date, and an unsupported message type.
    let a01 = wire(&std::fs::read_to_string(root.join("ADT-A01-02.hl7")).expect("sample"));
    let a08 = a01.replacen("ADT^A01^ADT_A01", "ADT^A08^ADT_A01", 1).replacen("|MSG00001|", "|MSG-A08-1|", 1).replacen(
        "EVERYMAN&&&&Aniston^ADAM",
        "EVERYPERSON&&&&Aniston^ADAM",
        1,
    );
    assert!(a08.contains("EVERYPERSON"), "the sample's PID-5 is where the test expects it");
    let bad_date =
        a01.replacen("|MSG00001|", "|MSG-BAD-1|", 1).replacen("|198808181126+0215|", "|198813181126+0215|", 1);
    assert!(bad_date.contains("198813181126"), "the sample's PID-7 is where the test expects it");
    let query = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||QBP^Q11^QBP_Q11|Q-1|P|2.5.1\rQPD|x\r".to_owned();
    let path = data.path().join("more.mllp");
    std::fs::write(&path, framed(&[a08, bad_date, query])).expect("write");
    let more = acks(send(&tool, port, &path).wait_with_output().expect("mllp_send"));
    assert_eq!(more[0].0, "AA", "{}", more[0].2);
    assert_eq!((more[1].0.as_str(), more[1].1.as_str()), ("AE", "MSG-BAD-1"), "{}", more[1].2);
    assert!(more[1].2.contains("ERR||PID^1^7|"), "the ERR names PID-7: {}", more[1].2);
    assert_eq!((more[2].0.as_str(), more[2].1.as_str()), ("AR", "Q-1"), "{}", more[2].2);
    assert!(more[2].2.contains("Unsupported message type"), "{}", more[2].2);

    // The ledger names the sender and control id.
    let (_, proof) = server.get(&format!("/ledger/proof/{}", tree_size(&server) - 1)).expect("proof");
    let record: Value = serde_json::from_str::<Value>(&proof).expect("JSON")["record"].clone();
    assert_eq!(record["source"], "hl7v2:ADTApp/GHHSFacility/MSG-A08-1", "{record}");

    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    // The A08 is a new version of the A01's Patient (the samples had made earlier versions).
    let run = bridge(data.path(), ["export", "--type", "Patient"]).expect_code(0, "export");
    let patients: Vec<Value> = ndjson(&run.stdout)
        .into_iter()
        .filter(|p| p["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == "PATID1234")))
        .collect();
    let updated: Vec<&Value> = patients.iter().filter(|p| p["name"][0]["family"] == "EVERYPERSON").collect();
    assert_eq!(updated.len(), 1, "{patients:#?}");
    let version: u32 = updated[0]["meta"]["versionId"].as_str().and_then(|v| v.parse().ok()).expect("versionId");
    assert!(version >= 2, "the A08 updated the existing Patient: {:#}", updated[0]);
    // Both refusals are kept, with their reasons.
    let run = bridge(data.path(), ["dead-letters"]).expect_code(0, "dead-letters");
    let letters = ndjson(&run.stdout);
    assert_eq!(letters.len(), 2, "{}", run.stdout);
    assert!(letters[0]["reason"].as_str().is_some_and(|r| r.starts_with("PID-7")), "{:#}", letters[0]);
    assert!(letters[0]["message"].as_str().is_some_and(|m| m.contains("MSG-BAD-1")));
    assert!(letters[1]["reason"].as_str().is_some_and(|r| r.contains("QBP^Q11")), "{:#}", letters[1]);
    verify_ok(data.path(), "after MLLP");
}
