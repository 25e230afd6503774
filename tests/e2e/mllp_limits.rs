//! The MLLP listener's limits, on a real socket: a frame over `max_message_bytes` is answered
//! `AR` ("message too large", naming its control id) and the connection closed, whether or not
//! the frame ever ends; a message trickled in a byte at a time is cut off at its deadline
//! (`message_timeout_s`) however often bytes arrive; a connection over `max_connections` is
//! closed at once instead of waiting in the backlog. Nothing of the refused frames is stored,
//! and the listener still serves a good message afterwards.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::mllp::{ack_code, tree_size, MllpClient};
use crate::server::Bridge;
use crate::support::temp_dir;

const LIMIT: usize = 4096;

fn msh(control_id: &str) -> String {
    format!("MSH|^~\\&|LIMITAPP|LIMITFAC|BRIDGE|HOSP|20240101120000||ADT^A01^ADT_A01|{control_id}|P|2.5.1\r")
}

fn good(control_id: &str) -> String {
    msh(control_id) + "PID|1||LIMIT-MRN-1^^^HOSP&1.2.3&ISO^MR||LIMIT^TEST||19700101|F\r"
}

/// A message of about `bytes` bytes: MSH, PID, then notes.
fn big(control_id: &str, bytes: usize) -> String {
    let mut text = good(control_id);
    while text.len() < bytes {
        text.push_str("NTE|1||a long note that pads the message beyond the limit\r");
    }
    text
}

/// True when the peer closed the connection (EOF or reset) within `within`.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buffer = [0u8; 256];
    match stream.read(&mut buffer) {
        Ok(0) => true,
        Ok(n) => panic!("unexpected answer: {:?}", String::from_utf8_lossy(&buffer[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => false,
        Err(e) => panic!("read: {e}"),
    }
}

fn start(data: &Path, max_connections: usize) -> (Bridge, u16) {
    crate::mllp::start_mllp_bridge(
        data,
        &[
            ("FHIR_BRIDGE__MLLP__MAX_MESSAGE_BYTES", LIMIT.to_string()),
            ("FHIR_BRIDGE__MLLP__MESSAGE_TIMEOUT_S", "2".to_owned()),
            ("FHIR_BRIDGE__MLLP__MAX_CONNECTIONS", max_connections.to_string()),
        ],
    )
}

#[test]
fn an_oversized_mllp_frame_is_refused_ar_and_the_connection_closed() {
    let data = temp_dir();
    let (mut server, port) = start(data.path(), 8);
    let before = tree_size(&server);

    // A whole frame over the limit.
    let mut client = MllpClient::connect(port);
    client.stream.write_all(&crate::mllp::framed(&[big("BIG-1", 3 * LIMIT)])).expect("send");
    let nak = client.read_ack().expect("an answer to the oversized message");
    assert_eq!(ack_code(&nak), "AR", "{nak}");
    assert!(nak.contains("MSA|AR|BIG-1"), "the NAK names the message: {nak}");
    assert!(nak.contains("ERR|") && nak.contains("message too large"), "{nak}");
    assert!(closed_within(&mut client.stream, Duration::from_secs(5)), "the connection is closed after the NAK");

    // A frame that never ends: refused as soon as it passes the limit.
    let mut client = MllpClient::connect(port);
    let mut bytes = vec![0x0B];
    bytes.extend_from_slice(big("BIG-2", 2 * LIMIT).as_bytes());
    client.stream.write_all(&bytes).expect("send");
    let nak = client.read_ack().expect("an answer before the frame ends");
    assert!(nak.contains("MSA|AR|BIG-2") && nak.contains("message too large"), "{nak}");
    assert!(closed_within(&mut client.stream, Duration::from_secs(5)), "the connection is closed after the NAK");

    // Just under the limit is a message like any other, and nothing of the refused ones was stored.
    let mut client = MllpClient::connect(port);
    let ack = client.send(&big("FITS-1", LIMIT - 200));
    assert_eq!(ack_code(&ack), "AA", "{ack}");
    assert_eq!(tree_size(&server), before + 1, "only the message within the limit stored its Patient");

    // Both oversized frames are kept, bounded: their first 4 KiB, their size and SHA-256.
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let run = crate::support::bridge(data.path(), ["dead-letters"]).expect_code(0, "dead-letters");
    let letters = crate::support::ndjson(&run.stdout);
    assert_eq!(letters.len(), 2, "{}", run.stdout);
    for (letter, control_id) in letters.iter().zip(["BIG-1", "BIG-2"]) {
        let reason = letter["reason"].as_str().unwrap_or("");
        assert!(reason.starts_with("message too large") && reason.contains("SHA-256 "), "{reason}");
        let message = letter["message"].as_str().unwrap_or("");
        assert!(message.len() <= 4096 && message.contains(control_id), "{} bytes", message.len());
    }
}

#[test]
fn an_mllp_message_without_its_required_segments_is_refused_ar_and_kept() {
    let data = temp_dir();
    let (mut server, port) = start(data.path(), 8);
    let mut client = MllpClient::connect(port);
    let bare = client.send(&msh("BARE-1"));
    assert_eq!(ack_code(&bare), "AR", "{bare}");
    assert!(bare.contains("ERR||PID^1|100^"), "the ERR names the missing PID: {bare}");
    let with_evn = client.send(&(msh("BARE-2") + "EVN|A01|20240101120000\r"));
    assert_eq!(ack_code(&with_evn), "AR", "{with_evn}");
    assert_eq!(tree_size(&server), 0, "nothing stored");
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let run = crate::support::bridge(data.path(), ["dead-letters"]).expect_code(0, "dead-letters");
    let letters = crate::support::ndjson(&run.stdout);
    assert_eq!(letters.len(), 2, "{}", run.stdout);
    assert!(letters.iter().all(|l| l["reason"].as_str().is_some_and(|r| r.starts_with("PID: required segment"))));
}

#[test]
fn a_trickled_mllp_message_is_cut_off_at_its_deadline() {
    let data = temp_dir();
    let (_server, port) = start(data.path(), 8);

    // A byte every 200 ms: each read would reset an idle timer (600 s), but not the message's
    // 2 s deadline.
    let mut client = MllpClient::connect(port);
    client.stream.write_all(&[0x0B]).expect("start block");
    let message = good("SLOW-1");
    let started = Instant::now();
    let mut closed = false;
    for byte in message.as_bytes().iter().cycle() {
        if client.stream.write_all(&[*byte]).is_err() || closed_within(&mut client.stream, Duration::from_millis(200)) {
            closed = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(closed, "a message begun was still open after {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1500), "closed before its deadline: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "closed long after its 2 s deadline: {elapsed:?}");

    // A message sent at once on a new connection is served.
    let ack = MllpClient::connect(port).send(&good("FAST-1"));
    assert_eq!(ack_code(&ack), "AA", "{ack}");
}

#[test]
fn a_connection_over_the_limit_is_closed_at_once() {
    let data = temp_dir();
    let (_server, port) = start(data.path(), 1);
    let mut first = MllpClient::connect(port);
    let ack = first.send(&good("ONE-1"));
    assert_eq!(ack_code(&ack), "AA", "{ack}");

    // The first connection holds the only slot: the second is closed, not left waiting.
    let mut second = MllpClient::connect(port);
    let _ = second.stream.write_all(&crate::mllp::framed(&[good("TWO-1")]));
    assert!(closed_within(&mut second.stream, Duration::from_secs(5)), "the connection over the limit was not closed");

    // Once the first is gone, a new connection is served.
    drop(first);
    let start = Instant::now();
    loop {
        let mut third = MllpClient::connect(port);
        let sent = third.stream.write_all(&crate::mllp::framed(&[good("THREE-1")])).is_ok();
        if let Some(ack) = sent.then(|| third.read_ack()).flatten() {
            assert_eq!(ack_code(&ack), "AA", "{ack}");
            break;
        }
        // The listener may not have seen the first connection end yet.
        assert!(start.elapsed() < Duration::from_secs(10), "no connection served after the first closed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
