use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::super::framing::{Oversized, KEPT_PREFIX_BYTES};
use super::super::limits::{Facilities, SenderLimits};
use super::super::Shared;
use super::{handle_message, handle_prepared, refuse_too_large, sha256_hex, Sender};
use crate::metrics::MllpMetrics;
use crate::mllp::MllpConfig;
use ingest_pipeline::hl7v2::V2Mappings;
use ingest_pipeline::WriterMetrics;
use node_store::Node;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    shared: Shared,
    runtime: tokio::runtime::Runtime,
}

fn fixture(mappings: V2Mappings, facilities: Facilities) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = node_store::NodeConfig::in_dir(dir.path());
    let node = Arc::new(Node::open(&config).expect("node"));
    let (writer, _thread) =
        ingest_pipeline::batcher::start(node.clone(), Arc::new(WriterMetrics::default()), 64, Duration::from_millis(1))
            .expect("writer");
    let mut config = MllpConfig::new("127.0.0.1:0".parse().expect("address"));
    config.max_message_bytes = 1024;
    let shared = Shared {
        node: node.clone(),
        mappings: Arc::new(mappings),
        writer,
        metrics: Arc::new(MllpMetrics::default()),
        config,
        facilities,
        senders: SenderLimits::new(1),
        tls: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    Fixture { _dir: dir, node, shared, runtime }
}

fn shipped() -> V2Mappings {
    V2Mappings::load(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings"))).expect("mappings")
}

fn sender() -> Sender {
    Sender { addr: "127.0.0.1:9".parse().expect("address"), certificate_names: Vec::new() }
}

fn tree_size(node: &Node) -> u64 {
    ledger_adapter::LedgerReader::tree_size(node.ledger.as_ref()).expect("size")
}

#[test]
fn a_failure_while_preparing_a_message_refuses_it_and_keeps_it_as_a_dead_letter() {
    let f = fixture(V2Mappings::Absent("not used".into()), Facilities::default());
    let text = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|MSG-PANIC|P|2.5.1\rPID|1||123\r";
    let answer = f.runtime.block_on(handle_prepared(text.as_bytes(), &sender(), &f.shared, || {
        panic!("a bug while mapping (forced by the test)")
    }));

    let parsed = hl7v2::Message::parse(&answer).expect("the ACK parses");
    assert_eq!(parsed.get("MSA-1").as_deref(), Some("AE"), "{answer}");
    assert_eq!(parsed.get("MSA-2").as_deref(), Some("MSG-PANIC"), "{answer}");
    assert_eq!(parsed.get("ERR-3.1").as_deref(), Some("207"), "{answer}");
    assert!(parsed.get("ERR-8").is_some_and(|r| r.contains("internal error")), "{answer}");
    let letters = f.node.dead_letters().expect("dead letters");
    assert_eq!(letters.len(), 1, "the refused message is kept");
    assert!(letters[0].1.reason.contains("internal error"), "{}", letters[0].1.reason);
    assert_eq!(letters[0].1.message, text);
    assert_eq!(tree_size(&f.node), 0, "nothing stored");
}

#[test]
fn a_message_without_its_required_segments_is_refused_ar_naming_the_segment_and_kept() {
    let f = fixture(shipped(), Facilities::default());
    let messages = [
        ("MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|BARE-1|P|2.5.1\r", "PID"),
        ("MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|BARE-2|P|2.5.1\rEVN|A01|20240101\r", "PID"),
        ("MSH|^~\\&|LAB|FAC|BRIDGE|HOSP|20240101||ORU^R01^ORU_R01|BARE-3|P|2.5.1\r", "OBR"),
    ];
    for (text, segment) in messages {
        let answer = f.runtime.block_on(handle_message(text.as_bytes(), &sender(), &f.shared));
        let parsed = hl7v2::Message::parse(&answer).expect("the ACK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AR"), "{answer}");
        assert_eq!(parsed.get("ERR-2.1").as_deref(), Some(segment), "{answer}");
        assert_eq!(parsed.get("ERR-3.1").as_deref(), Some("100"), "{answer}");
    }
    // A message that makes nothing (a bare note in an order message, which requires no segment).
    let note = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ORM^O01^ORM_O01|BARE-4|P|2.5.1\rNTE|1||x\r";
    let answer = f.runtime.block_on(handle_message(note.as_bytes(), &sender(), &f.shared));
    assert_eq!(hl7v2::Message::parse(&answer).expect("parses").get("MSA-1").as_deref(), Some("AR"), "{answer}");

    let letters = f.node.dead_letters().expect("dead letters");
    assert_eq!(letters.len(), 4, "every refusal is kept");
    assert!(letters[0].1.reason.starts_with("PID: required segment missing"), "{}", letters[0].1.reason);
    assert!(letters[2].1.reason.starts_with("OBR: required segment missing"), "{}", letters[2].1.reason);
    assert!(letters[3].1.reason.contains("no resources"), "{}", letters[3].1.reason);
    assert_eq!(tree_size(&f.node), 0, "nothing stored");
}

#[test]
fn a_sender_not_allowed_is_refused_ar_and_kept_without_being_mapped() {
    let f = fixture(shipped(), Facilities::new(vec!["GHH".into()], Default::default()));
    let text = "MSH|^~\\&|APP|OTHER|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|FAC-1|P|2.5.1\rPID|1||MRN-1^^^OTHER^MR\r";
    let answer = f.runtime.block_on(handle_message(text.as_bytes(), &sender(), &f.shared));
    let parsed = hl7v2::Message::parse(&answer).expect("the ACK parses");
    assert_eq!(parsed.get("MSA-1").as_deref(), Some("AR"), "{answer}");
    assert_eq!((parsed.get("ERR-2.1").as_deref(), parsed.get("ERR-2.3").as_deref()), (Some("MSH"), Some("4")));
    let letters = f.node.dead_letters().expect("dead letters");
    assert_eq!(letters.len(), 1);
    assert!(letters[0].1.reason.contains("not allowed") && !letters[0].1.reason.contains("OTHER"));
    assert_eq!(letters[0].1.message, text);
    assert_eq!(tree_size(&f.node), 0);
    // The allowed facility is served.
    let text = text.replace("|OTHER|", "|GHH|");
    let answer = f.runtime.block_on(handle_message(text.as_bytes(), &sender(), &f.shared));
    assert_eq!(hl7v2::Message::parse(&answer).expect("parses").get("MSA-1").as_deref(), Some("AA"), "{answer}");
}

#[test]
fn an_oversized_message_is_kept_as_its_prefix_size_and_hash() {
    let f = fixture(shipped(), Facilities::default());
    let mut content = b"MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|BIG-1|P|2.5.1\r".to_vec();
    content.resize(10 * KEPT_PREFIX_BYTES, b'x');
    let oversized = Oversized {
        head: content.clone(),
        received: content.len(),
        complete: true,
        sha256: {
            use sha2::Digest;
            sha2::Sha256::digest(&content).into()
        },
    };
    let answer = f.runtime.block_on(refuse_too_large(&oversized, &sender(), &f.shared)).expect("answered");
    assert!(answer.contains("MSA|AR|BIG-1"), "{answer}");
    let letters = f.node.dead_letters().expect("dead letters");
    assert_eq!(letters.len(), 1, "the oversized message is kept");
    let letter = &letters[0].1;
    assert_eq!(letter.message.as_bytes(), &content[..KEPT_PREFIX_BYTES], "its first 4 KiB");
    assert!(letter.reason.contains(&format!("{} bytes", content.len())), "{}", letter.reason);
    assert!(letter.reason.contains(&sha256_hex(&content)), "{}", letter.reason);
}
