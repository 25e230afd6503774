//! FHIR date, dateTime and instant values as ranges of milliseconds since the Unix epoch, for
//! comparisons (`_lastUpdated`, a grant's period). A value covers its whole precision: `2026`
//! is the year, `2026-03-01` the day (in UTC when no offset is given), an instant its millisecond.

/// A half-open range `[start_ms, end_ms)` of milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First millisecond in the range.
    pub start_ms: i64,
    /// First millisecond after it.
    pub end_ms: i64,
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// FHIR years have four digits, so they are never negative.
fn days_in_month(year: i64, month: u32) -> u32 {
    fhir_models::validate::format::days_in_month(u32::try_from(year).unwrap_or(0), month)
}

fn number(text: &str) -> Option<u32> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
}

const DAY_MS: i64 = 86_400_000;

/// Parses a FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) or `dateTime`/`instant`
/// (`YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`) into the range it denotes. `None` when malformed.
pub fn parse(text: &str) -> Option<TimeRange> {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year_text = parts.next()?;
    if year_text.len() != 4 {
        return None;
    }
    let year = i64::from(number(year_text)?);
    let month =
        parts.next().map(|m| (m.len() == 2).then(|| number(m)).flatten()).map_or(Some(None), |m| m.map(Some))?;
    let day = parts.next().map(|d| (d.len() == 2).then(|| number(d)).flatten()).map_or(Some(None), |d| d.map(Some))?;
    if parts.next().is_some() || month.is_some_and(|m| !(1..=12).contains(&m)) {
        return None;
    }
    match (month, day, time) {
        (None, None, None) => {
            let start = days_from_civil(year, 1, 1) * DAY_MS;
            Some(TimeRange { start_ms: start, end_ms: days_from_civil(year + 1, 1, 1) * DAY_MS })
        }
        (Some(month), None, None) => {
            let start = days_from_civil(year, month, 1) * DAY_MS;
            Some(TimeRange { start_ms: start, end_ms: start + i64::from(days_in_month(year, month)) * DAY_MS })
        }
        (Some(month), Some(day), time) => {
            if !(1..=days_in_month(year, month)).contains(&day) {
                return None;
            }
            let midnight = days_from_civil(year, month, day) * DAY_MS;
            match time {
                None => Some(TimeRange { start_ms: midnight, end_ms: midnight + DAY_MS }),
                Some(time) => parse_time(time).map(|(offset_ms, length_ms)| TimeRange {
                    start_ms: midnight + offset_ms,
                    end_ms: midnight + offset_ms + length_ms,
                }),
            }
        }
        _ => None,
    }
}

/// `hh:mm:ss[.fff](Z|±hh:mm)` → (ms after midnight UTC of the date, length of its precision).
fn parse_time(text: &str) -> Option<(i64, i64)> {
    let zone_at = text.find(['Z', '+', '-'])?;
    let (clock, zone) = text.split_at(zone_at);
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    let [h, m, s] = fields.as_slice() else { return None };
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s) = (number(h)?, number(m)?, number(s)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let (fraction_ms, length_ms) = match fraction {
        None => (0, 1000),
        Some(f) if !f.is_empty() && f.len() <= 9 && number(f).is_some() => {
            let digits: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
            (i64::from(number(&digits)?), 1)
        }
        Some(_) => return None,
    };
    let offset_ms = match zone {
        "Z" => 0,
        _ => {
            // `Z` followed by anything is no zone; an offset is `±hh:mm` within FHIR's range,
            // `(0[0-9]|1[0-3]):[0-5][0-9]` or `14:00`.
            let (sign, offset) = match (zone.strip_prefix('+'), zone.strip_prefix('-')) {
                (Some(offset), _) => (1, offset),
                (_, Some(offset)) => (-1, offset),
                _ => return None,
            };
            let (zh, zm) = offset.split_once(':')?;
            if zh.len() != 2 || zm.len() != 2 {
                return None;
            }
            let (zh, zm) = (number(zh)?, number(zm)?);
            if zm > 59 || zh > 14 || (zh == 14 && zm != 0) {
                return None;
            }
            sign * (i64::from(zh) * 3_600_000 + i64::from(zm) * 60_000)
        }
    };
    let local = i64::from(h) * 3_600_000 + i64::from(m) * 60_000 + i64::from(s) * 1000 + fraction_ms;
    Some((local - offset_ms, length_ms))
}

#[cfg(test)]
mod tests {
    use super::{parse, TimeRange};

    #[test]
    fn dates_cover_their_whole_precision() {
        assert_eq!(parse("1970"), Some(TimeRange { start_ms: 0, end_ms: 365 * 86_400_000 }));
        assert_eq!(parse("1970-02"), Some(TimeRange { start_ms: 31 * 86_400_000, end_ms: 59 * 86_400_000 }));
        let leap_day = parse("2000-02-29").expect("leap day");
        assert_eq!(leap_day.start_ms, 951_782_400_000);
        assert_eq!(leap_day.end_ms - leap_day.start_ms, 86_400_000);
        assert_eq!(parse("2001-02-29"), None);
        assert_eq!(parse("2026-13"), None);
        assert_eq!(parse("26-01-01"), None);
    }

    #[test]
    fn instants_honour_their_offset() {
        let utc = parse("2000-02-29T00:00:00.123Z").expect("instant");
        assert_eq!(utc, TimeRange { start_ms: 951_782_400_123, end_ms: 951_782_400_124 });
        let plus_one = parse("2000-02-29T01:00:00+01:00").expect("dateTime");
        assert_eq!(plus_one, TimeRange { start_ms: 951_782_400_000, end_ms: 951_782_401_000 });
        assert_eq!(parse("2000-02-29T00:00:00").map(|r| r.start_ms), None, "a time needs a zone");
        assert_eq!(parse("2000-02-29T24:00:00Z"), None);
    }

    #[test]
    fn offsets_are_signed_and_within_fhirs_range() {
        // Found by the fuzz target `search_params`: offsets with minutes over 59 or beyond
        // ±14:00, and `Z` followed by an offset, were taken as offsets.
        assert_eq!(parse("1998-12-31T23:59:60.999999999-14:14"), None);
        assert_eq!(parse("2000-02-29T00:00:00+05:99"), None);
        assert_eq!(parse("2000-02-29T00:00:00+15:00"), None);
        assert_eq!(parse("2000-02-29T01:00:00Z01:00"), None);
        let east = parse("2000-02-29T14:00:00+14:00").expect("+14:00 is the furthest east");
        assert_eq!(east.start_ms, 951_782_400_000);
        let west = parse("2000-02-28T10:01:00-13:59").expect("-13:59");
        assert_eq!(west.start_ms, 951_782_400_000);
        assert!(parse("1998-12-31T23:59:60.999999999-14:00").is_some(), "a leap second");
    }
}
