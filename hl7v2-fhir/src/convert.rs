//! v2 primitive values → FHIR primitive values. Each conversion either gives a valid FHIR value
//! or says why not (the caller names the field): a date that is no date refuses the message
//! rather than storing something else.

/// What a v2 time becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTarget {
    /// FHIR `date`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`.
    Date,
    /// FHIR `dateTime`: a date, or a time with seconds and a zone.
    DateTime,
    /// FHIR `instant`: a time to the second with a zone.
    Instant,
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A v2 `DTM`/`DT`/`TS.1` (`YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`) as `target`.
/// A time without a zone takes `default_zone` (`+01:00`); without either, a `dateTime` keeps
/// only the date (FHIR times need a zone) and an `instant` is refused.
pub fn time(text: &str, target: TimeTarget, default_zone: Option<&str>) -> Result<String, &'static str> {
    let text = text.trim();
    let (stamp, zone) = match text.find(['+', '-']) {
        Some(at) => (&text[..at], Some(&text[at..])),
        None => (text, None),
    };
    let (whole, fraction) = match stamp.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (stamp, None),
    };
    // Some senders append fractions of a second without the point (YYYYMMDDHHMMSSFF).
    let (whole, fraction) = match (whole.len(), fraction) {
        (15..=18, None) if digits(whole) => (&whole[..14], Some(&whole[14..])),
        _ => (whole, fraction),
    };
    if !digits(whole) || ![4, 6, 8, 10, 12, 14].contains(&whole.len()) {
        return Err("not a v2 date/time (YYYY[MM[DD[HH[MM[SS]]]]])");
    }
    if fraction.is_some_and(|f| !digits(f) || f.len() > 4 || whole.len() != 14) {
        return Err("bad fraction of a second");
    }
    let number = |range: std::ops::Range<usize>| whole.get(range).and_then(|s| s.parse::<u32>().ok());
    let year = number(0..4).ok_or("bad year")?;
    let month = number(4..6);
    let day = number(6..8);
    if month.is_some_and(|m| !(1..=12).contains(&m)) {
        return Err("month out of range");
    }
    if let (Some(month), Some(day)) = (month, day) {
        if !(1..=days_in_month(year, month)).contains(&day) {
            return Err("day out of range");
        }
    }
    let hour = number(8..10);
    let minute = number(10..12);
    let second = number(12..14);
    if hour.is_some_and(|h| h > 23) || minute.is_some_and(|m| m > 59) || second.is_some_and(|s| s > 59) {
        return Err("time out of range");
    }
    let zone = match zone {
        Some(z) => {
            let (sign, rest) = z.split_at(1);
            if rest.len() != 4 || !digits(rest) {
                return Err("bad time zone (+/-ZZZZ)");
            }
            let (zh, zm) = (rest[..2].parse::<u32>().unwrap_or(99), rest[2..].parse::<u32>().unwrap_or(99));
            if zh > 14 || zm > 59 {
                return Err("time zone out of range");
            }
            Some(format!("{sign}{:02}:{:02}", zh, zm))
        }
        None => default_zone.map(str::to_owned),
    };
    let date = match (month, day) {
        (None, _) => format!("{year:04}"),
        (Some(m), None) => format!("{year:04}-{m:02}"),
        (Some(m), Some(d)) => format!("{year:04}-{m:02}-{d:02}"),
    };
    match target {
        TimeTarget::Date => Ok(date),
        TimeTarget::DateTime | TimeTarget::Instant => {
            let (Some(hour), Some(zone)) = (hour, zone) else {
                return if target == TimeTarget::Instant {
                    Err("an instant needs a time and a time zone")
                } else {
                    Ok(date)
                };
            };
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let zone = if zone == "+00:00" || zone == "-00:00" { "Z".to_owned() } else { zone };
            Ok(format!("{date}T{hour:02}:{:02}:{:02}{fraction}{zone}", minute.unwrap_or(0), second.unwrap_or(0)))
        }
    }
}

/// A v2 `NM` as a FHIR `decimal`: a leading `+` and leading zeros go, `.5` becomes `0.5`; the
/// digits after the point stay as written (they carry precision).
pub fn decimal(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    if (int.is_empty() && frac.is_none_or(str::is_empty))
        || (!int.is_empty() && !digits(int))
        || frac.is_some_and(|f| !f.is_empty() && !digits(f))
    {
        return Err("not a number");
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut out = String::with_capacity(text.len() + 1);
    if negative && !(int == "0" && frac.is_none_or(|f| f.bytes().all(|b| b == b'0'))) {
        out.push('-');
    }
    out.push_str(int);
    if let Some(frac) = frac.filter(|f| !f.is_empty()) {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// A v2 integer (`SI`, `NM` without a fraction) as a FHIR `integer`; `positive` also refuses 0.
pub fn integer(text: &str, minimum: i64) -> Result<String, &'static str> {
    let value: i64 = text.trim().trim_start_matches('+').parse().map_err(|_| "not an integer")?;
    if value < minimum || value > i64::from(i32::MAX) {
        return Err("integer out of range");
    }
    Ok(value.to_string())
}

/// Text that should be base64 already (an ED.5 with ED.4 = Base64) as a FHIR `base64Binary`:
/// whitespace (line breaks) dropped, then checked (the alphabet, whole groups of four, `=` only
/// as padding), so that a placeholder or truncated data refuses the message.
pub fn base64(text: &str) -> Result<String, &'static str> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let data = compact.trim_end_matches('=');
    let padding = compact.len() - data.len();
    if compact.is_empty()
        || !compact.len().is_multiple_of(4)
        || padding > 2
        || !data.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return Err("not base64 data");
    }
    Ok(compact)
}

/// A v2 yes/no indicator (HL7 table 0136: `Y`, `N`) as a FHIR `boolean`.
pub fn boolean(text: &str) -> Result<bool, &'static str> {
    match text.trim() {
        "Y" | "y" => Ok(true),
        "N" | "n" => Ok(false),
        _ => Err("not a yes/no indicator (Y or N)"),
    }
}

#[cfg(test)]
mod tests {
    use super::{base64, boolean, decimal, integer, time, TimeTarget};

    #[test]
    fn times_become_fhir_dates_and_date_times() {
        assert_eq!(time("19800202", TimeTarget::Date, None).as_deref(), Ok("1980-02-02"));
        assert_eq!(time("198002021030", TimeTarget::Date, None).as_deref(), Ok("1980-02-02"));
        assert_eq!(time("1980", TimeTarget::DateTime, None).as_deref(), Ok("1980"));
        assert_eq!(time("198908181126+0215", TimeTarget::DateTime, None).as_deref(), Ok("1989-08-18T11:26:00+02:15"));
        assert_eq!(
            time("20240101120000.12-0500", TimeTarget::Instant, None).as_deref(),
            Ok("2024-01-01T12:00:00.12-05:00")
        );
        assert_eq!(time("20240101120000", TimeTarget::DateTime, Some("+00:00")).as_deref(), Ok("2024-01-01T12:00:00Z"));
        assert_eq!(time("20240101120000", TimeTarget::DateTime, None).as_deref(), Ok("2024-01-01"));
        assert!(time("20240101120000", TimeTarget::Instant, None).is_err());
        assert!(time("20230229", TimeTarget::Date, None).is_err());
        assert!(time("2024013", TimeTarget::Date, None).is_err());
        assert!(time("20241301", TimeTarget::Date, None).is_err());
        assert!(time("2024010125", TimeTarget::DateTime, Some("Z")).is_err());
        assert!(time("abc", TimeTarget::Date, None).is_err());
        assert_eq!(time("2004062916460000", TimeTarget::DateTime, Some("Z")).as_deref(), Ok("2004-06-29T16:46:00.00Z"));
    }

    #[test]
    fn numbers_keep_their_precision() {
        assert_eq!(decimal("+007.50").as_deref(), Ok("7.50"));
        assert_eq!(decimal(".5").as_deref(), Ok("0.5"));
        assert_eq!(decimal("-0").as_deref(), Ok("0"));
        assert_eq!(decimal("-12.0").as_deref(), Ok("-12.0"));
        assert!(decimal("1,5").is_err() && decimal("").is_err() && decimal(".").is_err());
        assert_eq!(integer("+3", 1).as_deref(), Ok("3"));
        assert!(integer("0", 1).is_err());
        assert_eq!(boolean("Y"), Ok(true));
        assert!(boolean("X").is_err());
    }

    #[test]
    fn base64_data_is_checked() {
        assert_eq!(base64("aGk=").as_deref(), Ok("aGk="));
        assert_eq!(base64("aGVs\r\nbG8=").as_deref(), Ok("aGVsbG8="));
        assert_eq!(base64("AAAA").as_deref(), Ok("AAAA"));
        // The IG's MDM^T02 sample carries a placeholder where the PDF would be.
        assert!(base64("<Base64 encoded>").is_err());
        assert!(base64("aGk").is_err() && base64("a===").is_err() && base64("").is_err());
        assert!(base64("a=Gk").is_err());
    }
}
