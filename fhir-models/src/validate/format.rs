//! Lexical rules of the FHIR R4 primitive types: the regular expressions of the specification
//! (`http://hl7.org/fhir/R4/datatypes.html#primitive`), written out as small hand-made matchers.
//!
//! Hand-written rather than a regex engine: these run for every primitive of every resource, and a
//! straight-line check of a date is an order of magnitude cheaper than a regex match. Each matcher
//! names the regex it implements; the tests below exercise each against accepted and refused text.
//! Beyond the regexes, dates must exist (`2023-02-30` is refused) and strings are at most 1 MiB.
//!
//! No string of any type may hold a control character (U+0000 to U+001F) other than tab, carriage
//! return and line feed, which JSON can smuggle in as `\u0000`. R4 says (datatypes, `string`)
//! that strings should not contain code points below 32 other than these three, and XML 1.0, FHIR's
//! other format, cannot carry them at all, so a resource holding one could not be exchanged as
//! XML; NUL also truncates the text in C-based consumers, so it is refused rather than passed on.
//!
//! Reasons never contain the value (it may be patient data).

/// The lexical kind a primitive is checked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimitiveKind {
    /// `base64Binary`
    Base64Binary,
    /// `boolean`
    Boolean,
    /// `canonical`
    Canonical,
    /// `code`
    Code,
    /// `date`
    Date,
    /// `dateTime`
    DateTime,
    /// `decimal`
    Decimal,
    /// `id`
    Id,
    /// `instant`
    Instant,
    /// `integer`
    Integer,
    /// `markdown`
    Markdown,
    /// `oid`
    Oid,
    /// `positiveInt`
    PositiveInt,
    /// `string`
    String,
    /// `time`
    Time,
    /// `unsignedInt`
    UnsignedInt,
    /// `uri`
    Uri,
    /// `url`
    Url,
    /// `uuid`
    Uuid,
    /// `xhtml`
    Xhtml,
}

/// The largest string FHIR allows (R4 datatypes: "strings SHALL NOT exceed 1MB").
const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Why a string with a control character is refused, whatever its type.
const CONTROL_CHARACTER: &str = "control characters other than tab, carriage return and line feed are not allowed";

/// Whether `text` is a FHIR `id` (1–64 of `A-Z a-z 0-9 - .`): the one test every reader of
/// references and URLs applies.
pub fn is_fhir_id(text: &str) -> bool {
    check(PrimitiveKind::Id, text).is_ok()
}

/// Whether `reference` is a relative literal reference `{resource_type}/{id}` with a valid id
/// (`Organization/hospital-b`), the one form a configured or consented organisation may take.
pub fn is_relative_reference(reference: &str, resource_type: &str) -> bool {
    reference.strip_prefix(resource_type).and_then(|rest| rest.strip_prefix('/')).is_some_and(is_fhir_id)
}

/// Checks `text` against the rules of `kind`; the error is a reason that never quotes the value.
pub fn check(kind: PrimitiveKind, text: &str) -> Result<(), &'static str> {
    if text.bytes().any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) {
        return Err(CONTROL_CHARACTER);
    }
    let ok = match kind {
        PrimitiveKind::String => {
            return string(text);
        }
        PrimitiveKind::Markdown => {
            return if text.is_empty() {
                Err("not a valid markdown: must not be empty")
            } else if text.len() > MAX_STRING_BYTES {
                Err("not a valid markdown: longer than 1 MiB")
            } else {
                Ok(())
            };
        }
        PrimitiveKind::Code => code(text),
        PrimitiveKind::Id => {
            (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
        PrimitiveKind::Uri | PrimitiveKind::Url | PrimitiveKind::Canonical => {
            !text.is_empty() && !text.chars().any(char::is_whitespace)
        }
        PrimitiveKind::Oid => oid(text),
        PrimitiveKind::Uuid => uuid(text),
        PrimitiveKind::Date => date(text).is_some_and(|rest| rest.is_empty()),
        PrimitiveKind::DateTime => date_time(text, false),
        PrimitiveKind::Instant => date_time(text, true),
        PrimitiveKind::Time => time(text).is_some_and(|rest| rest.is_empty()),
        PrimitiveKind::Base64Binary => base64(text),
        PrimitiveKind::Xhtml => text.trim_start().starts_with("<div"),
        // Held as JSON booleans and numbers, checked when decoded.
        PrimitiveKind::Boolean
        | PrimitiveKind::Decimal
        | PrimitiveKind::Integer
        | PrimitiveKind::PositiveInt
        | PrimitiveKind::UnsignedInt => true,
    };
    if ok {
        Ok(())
    } else {
        Err(reason(kind))
    }
}

fn reason(kind: PrimitiveKind) -> &'static str {
    match kind {
        PrimitiveKind::Code => "not a valid code: no leading, trailing or repeated whitespace allowed",
        PrimitiveKind::Id => "not a valid id: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'",
        PrimitiveKind::Uri => "not a valid uri: must be non-empty without whitespace",
        PrimitiveKind::Url => "not a valid url: must be non-empty without whitespace",
        PrimitiveKind::Canonical => "not a valid canonical: must be non-empty without whitespace",
        PrimitiveKind::Oid => "not a valid oid: expected urn:oid:<digits and dots>",
        PrimitiveKind::Uuid => "not a valid uuid: expected urn:uuid:<lower-case UUID>",
        PrimitiveKind::Date => "not a valid date: expected YYYY, YYYY-MM or YYYY-MM-DD that exists",
        PrimitiveKind::DateTime => {
            "not a valid dateTime: expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss(.s)+zz:zz"
        }
        PrimitiveKind::Instant => "not a valid instant: expected YYYY-MM-DDThh:mm:ss(.s)+zz:zz with a time zone",
        PrimitiveKind::Time => "not a valid time: expected hh:mm:ss(.s)",
        PrimitiveKind::Base64Binary => "not valid base64Binary",
        PrimitiveKind::Xhtml => "not valid xhtml: expected a <div> element",
        _ => "not a valid value",
    }
}

/// `[ \r\n\t\S]+`, at most 1 MiB; control characters are refused for every type by `check`.
fn string(text: &str) -> Result<(), &'static str> {
    if text.is_empty() {
        return Err("not a valid string: must not be empty");
    }
    if text.len() > MAX_STRING_BYTES {
        return Err("not a valid string: longer than 1 MiB");
    }
    Ok(())
}

/// `[^\s]+(\s[^\s]+)*`
fn code(text: &str) -> bool {
    !text.is_empty() && text.split(char::is_whitespace).all(|part| !part.is_empty())
}

/// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`
fn oid(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("urn:oid:") else { return false };
    let mut arcs = rest.split('.');
    let first_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    let mut count = 0;
    let others_ok = arcs.all(|arc| {
        count += 1;
        arc == "0" || (arc.bytes().all(|b| b.is_ascii_digit()) && !arc.is_empty() && !arc.starts_with('0'))
    });
    first_ok && count >= 1 && others_ok
}

/// `urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
fn uuid(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("urn:uuid:") else { return false };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn digits(text: &str, n: usize) -> Option<(u32, &str)> {
    let head = text.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &text[n..]))
}

/// The days of `month` (1–12) in `year` of the proleptic Gregorian calendar.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date prefix, `YYYY(-MM(-DD)?)?` with year 0001..9999, a real month and day; gives the rest.
fn date(text: &str) -> Option<&str> {
    let (year, rest) = digits(text, 4)?;
    if year == 0 {
        return None;
    }
    let Some(rest) = rest.strip_prefix('-') else { return Some(rest) };
    let (month, rest) = digits(rest, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let Some(rest) = rest.strip_prefix('-') else { return Some(rest) };
    let (day, rest) = digits(rest, 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(rest)
}

/// `([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?`; gives the rest.
fn time(text: &str) -> Option<&str> {
    let (hour, rest) = digits(text, 2)?;
    let (minute, rest) = digits(rest.strip_prefix(':')?, 2)?;
    let (second, mut rest) = digits(rest.strip_prefix(':')?, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    Some(rest)
}

/// `Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)`
fn zone(text: &str) -> bool {
    if text == "Z" {
        return true;
    }
    let Some(offset) = text.strip_prefix('+').or_else(|| text.strip_prefix('-')) else { return false };
    let Some((hours, rest)) = digits(offset, 2) else { return false };
    let Some((minutes, rest)) = rest.strip_prefix(':').and_then(|r| digits(r, 2)) else { return false };
    rest.is_empty() && ((hours <= 13 && minutes <= 59) || (hours == 14 && minutes == 0))
}

/// dateTime: a date, and when it is a full date optionally `T` time and a zone (required);
/// instant: a full date, a time and a zone, all required.
fn date_time(text: &str, instant: bool) -> bool {
    let Some(rest) = date(text) else { return false };
    let full_date = text.len() - rest.len() == 10;
    if rest.is_empty() {
        return !instant;
    }
    let Some(time_part) = rest.strip_prefix('T') else { return false };
    full_date && time(time_part).is_some_and(zone)
}

/// `(\s*([0-9a-zA-Z\+\=]){4}\s*)+`, with `/` admitted as well: the R4 regex leaves it out by
/// mistake (corrected in R5), and every base64 producer writes it.
fn base64(text: &str) -> bool {
    let mut count = 0usize;
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => count += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => return false,
        }
    }
    count > 0 && count.is_multiple_of(4)
}

#[cfg(test)]
mod tests {
    use super::PrimitiveKind::*;
    use super::*;

    fn accepts(kind: PrimitiveKind, good: &[&str], bad: &[&str]) {
        for g in good {
            assert_eq!(check(kind, g), Ok(()), "{kind:?} should accept {g:?}");
        }
        for b in bad {
            assert!(check(kind, b).is_err(), "{kind:?} should refuse {b:?}");
        }
    }

    #[test]
    fn relative_references_name_the_type_and_a_valid_id() {
        assert!(is_relative_reference("Organization/hospital-b", "Organization"));
        assert!(is_relative_reference("Organization/a.b-1", "Organization"));
        for bad in
            ["Organization/", "Organization", "OrganizationX/a", "Organization/a/b", "Organization/a b", "Patient/a"]
        {
            assert!(!is_relative_reference(bad, "Organization"), "{bad:?}");
        }
        assert!(!is_relative_reference(&format!("Organization/{}", "a".repeat(65)), "Organization"));
    }

    #[test]
    fn dates() {
        accepts(
            Date,
            &["2024", "2024-02", "2024-02-29", "0001-01-01"],
            &["", "24", "2023-02-29", "2024-13", "2024-1-1", "0000", "2024-02-30", "2024-01-01T00:00:00Z"],
        );
    }

    #[test]
    fn date_times() {
        accepts(
            DateTime,
            &[
                "2015",
                "2015-02",
                "2015-02-07",
                "2015-02-07T13:28:17-05:00",
                "2017-01-01T00:00:00.000Z",
                "2015-02-07T13:28:17.239+14:00",
            ],
            &[
                "2015-02-07T13:28:17",
                "2015-02-07T13:28Z",
                "2015-02T13:28:17Z",
                "2015-02-07T24:00:00Z",
                "2015-02-07T13:28:17+14:30",
                "2015-02-07 13:28:17Z",
            ],
        );
    }

    #[test]
    fn instants_and_times() {
        accepts(
            Instant,
            &["2015-02-07T13:28:17.239+02:00", "2015-02-07T13:28:17Z"],
            &["2015-02-07", "2015-02-07T13:28:17"],
        );
        accepts(Time, &["13:28:17", "00:00:60", "23:59:59.999"], &["24:00:00", "13:28", "13:28:17Z", "13:28:17."]);
    }

    #[test]
    fn identifiers_and_codes() {
        accepts(Id, &["a", "A-1.b", &"x".repeat(64)], &["", "a b", "a_b", &"x".repeat(65)]);
        accepts(Code, &["final", "two words"], &["", " lead", "trail ", "two  spaces"]);
        accepts(
            Oid,
            &["urn:oid:1.2.3", "urn:oid:2.16.840.1.113883"],
            &["urn:oid:3.1", "urn:oid:1", "urn:oid:1.02", "1.2.3"],
        );
        accepts(
            Uuid,
            &["urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"],
            &["urn:uuid:0C3151BD-1cbf-4d64-b04d-cd9187a4c6e0", "0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"],
        );
        accepts(Uri, &["http://x.org/a", "urn:x"], &["", "a b"]);
    }

    #[test]
    fn strings_and_binary() {
        accepts(
            String,
            &["x", "line\nbreak\ttab\r\n", "nbsp\u{a0}"],
            &["", &"x".repeat(MAX_STRING_BYTES + 1), "nul\u{0}", "bell\u{7}", "esc\u{1b}", "\u{1f}"],
        );
        accepts(Base64Binary, &["AAAA", "aGk/+A==", "AAAA\nBBBB"], &["", "AAA", "AA*A"]);
        accepts(Xhtml, &["<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"], &["plain text"]);
    }

    #[test]
    fn control_characters_are_refused_in_every_string_type() {
        for kind in [Markdown, Code, Uri, Url, Canonical, Xhtml, Base64Binary, Id, Oid, Uuid, Date] {
            assert_eq!(check(kind, "a\u{0}b"), Err(CONTROL_CHARACTER), "{kind:?}");
        }
        accepts(Markdown, &["# title\n\ttext\r\n"], &["a\u{0}", "a\u{8}b"]);
    }
}
