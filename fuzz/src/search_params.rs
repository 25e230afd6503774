//! Search parameters: `SearchQuery::parse` over arbitrary name/value pairs, and the FHIR
//! date/dateTime/instant ranges of `_lastUpdated` (`search::time::parse`).
//!
//! Input: one mode byte, then UTF-8 (lossy). Mode even: `name=value&name=value...` pairs (split
//! on `&` and the first `=`, no percent-decoding: the HTTP layer has decoded them already). Mode
//! odd: one date/time value.
//!
//! Invariants:
//! - nothing panics (also `matches_time` at the edges of `u64`);
//! - a parsed query has a patient id that is not empty and has no `/`, `_count` at most
//!   `MAX_COUNT`, and came only from supported names;
//! - a time value parses only if it has FHIR's shape for `date`, `dateTime` or `instant`
//!   (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm)`, with months,
//!   days, hours, minutes, seconds and offsets in their ranges), and its range is not empty.

use exchange::search::{time, SearchQuery, MAX_COUNT};

const SUPPORTED: &[&str] = &["patient", "subject", "_lastUpdated", "_count", "_offset", "_format"];

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// FHIR's regular expressions for `date` and `dateTime` (with a time, the zone is required, as
/// for `instant`), written out as a second, independent reading.
fn has_fhir_shape(text: &str) -> bool {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let Some(year) = parts.first().and_then(|y| digits(y, 4)) else { return false };
    let month = match parts.get(1) {
        None => None,
        Some(m) => match digits(m, 2) {
            Some(m @ 1..=12) => Some(m),
            _ => return false,
        },
    };
    let day = match parts.get(2) {
        None => None,
        Some(d) => match digits(d, 2) {
            Some(d) if d >= 1 => Some(d),
            _ => return false,
        },
    };
    if parts.len() > 3 {
        return false;
    }
    if let (Some(month), Some(day)) = (month, day) {
        let length = match month {
            4 | 6 | 9 | 11 => 30,
            2 if is_leap(year) => 29,
            2 => 28,
            _ => 31,
        };
        if day > length {
            return false;
        }
    }
    let Some(time) = time else { return true };
    if day.is_none() || time.len() < 9 {
        return false;
    }
    let Some(zone_at) = time.find(['Z', '+', '-']) else { return false };
    let (clock, zone) = time.split_at(zone_at);
    let (hms, fraction) = clock.split_once('.').map_or((clock, None), |(hms, f)| (hms, Some(f)));
    let fields: Vec<&str> = hms.split(':').collect();
    let [Some(h), Some(m), Some(s)] = [0, 1, 2].map(|i| fields.get(i).and_then(|f| digits(f, 2))) else {
        return false;
    };
    if fields.len() != 3 || h > 23 || m > 59 || s > 60 {
        return false;
    }
    if fraction.is_some_and(|f| f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if zone == "Z" {
        return true;
    }
    let Some(offset) = zone.strip_prefix(['+', '-']) else { return false };
    let Some((zh, zm)) = offset.split_once(':') else { return false };
    matches!((digits(zh, 2), digits(zm, 2)), (Some(0..=13), Some(0..=59)) | (Some(14), Some(0)))
}

fn check_time(value: &str) {
    if let Some(range) = time::parse(value) {
        assert!(has_fhir_shape(value), "{value:?} parsed but is not a FHIR date, dateTime or instant");
        assert!(range.start_ms < range.end_ms, "{value:?} parsed to an empty range");
    }
}

fn check_pairs(text: &str) {
    let pairs: Vec<(String, String)> = text
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let Ok(query) = SearchQuery::parse(&pairs) else { return };
    assert!(!query.patient.is_empty() && !query.patient.contains('/'), "bad patient id {:?}", query.patient);
    assert!(query.count <= MAX_COUNT);
    assert!(pairs.iter().all(|(name, _)| SUPPORTED.contains(&name.as_str())), "an unsupported name passed");
    for (name, value) in &pairs {
        if name == "_lastUpdated" {
            let value = ["eq", "ge", "gt", "le", "lt"].iter().find_map(|p| value.strip_prefix(p)).unwrap_or(value);
            check_time(value);
        }
    }
    for time_ms in [0, 1, 951_782_400_000, i64::MAX as u64, u64::MAX] {
        let _ = query.matches_time(time_ms);
    }
}

/// Runs one input.
pub fn check(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    if mode % 2 == 0 {
        check_pairs(&text);
    } else {
        check_time(&text);
    }
}
