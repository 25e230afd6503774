//! Date search over exact-match terms: every date value is a range of days (`2020` is the whole
//! year, `2020-05-12T10:00:00Z` its day, a `Period` its start to its end), indexed by its first
//! and its last day, each at five granularities (century, decade, year, month, day). A query's
//! prefix (`eq`, `ne`, `gt`, `lt`, `ge`, `le`, `sa`, `eb`) becomes conditions on those bounds, and
//! a range of days becomes the few nodes of that calendar tree that cover it exactly (at most a
//! few hundred terms), so a date search is a union of blind-index lookups with no decryption.
//!
//! A value that is one day (every `date` to the day, `dateTime`, `instant`) is indexed once, as a
//! point, at the same five granularities: queries read a point as both a start and an end, so it
//! costs half the terms of a range.
//!
//! A `dateTime` with a time counts by its day in UTC, the server's time zone (a query date has
//! none, so it is the server's, as FHIR says), and a query is searched to the day: a query value
//! with a time is refused, not rounded. A `Timing` is one range, from its first event or bound to
//! its last. With `eq` (and no prefix), a resource with two ranges for one parameter (two
//! `Period`s) can match through the start of one and the end of the other; single days (every
//! `date`, `dateTime` and `instant`) cannot, and the other prefixes are decided by one bound.

use super::TermError;

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Day {
    year: u16,
    month: u8,
    day: u8,
}

const FIRST: Day = Day { year: 0, month: 1, day: 1 };
const LAST: Day = Day { year: 9999, month: 12, day: 31 };

const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Day {
    fn after(self) -> Option<Day> {
        if self.day < days_in_month(self.year, self.month) {
            Some(Day { day: self.day + 1, ..self })
        } else if self.month < 12 {
            Some(Day { month: self.month + 1, day: 1, ..self })
        } else if self.year < LAST.year {
            Some(Day { year: self.year + 1, month: 1, day: 1 })
        } else {
            None
        }
    }

    fn before(self) -> Option<Day> {
        if self.day > 1 {
            Some(Day { day: self.day - 1, ..self })
        } else if self.month > 1 {
            Some(Day { month: self.month - 1, day: days_in_month(self.year, self.month - 1), ..self })
        } else if self.year > FIRST.year {
            Some(Day { year: self.year - 1, month: 12, day: 31 })
        } else {
            None
        }
    }
}

/// The days a FHIR `date`, `dateTime` or `instant` covers, and whether it has a time.
pub(crate) fn parse_range(text: &str) -> Option<(Day, Day, bool)> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = bytes.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
    };
    // FHIR has no year 0.
    let year = number(0..4).filter(|&y| y > 0)?;
    if bytes.len() == 4 {
        return Some((Day { year, month: 1, day: 1 }, Day { year, month: 12, day: 31 }, false));
    }
    if bytes.get(4) != Some(&b'-') {
        return None;
    }
    let month = u8::try_from(number(5..7)?).ok().filter(|m| (1..=12).contains(m))?;
    if bytes.len() == 7 {
        let last = days_in_month(year, month);
        return Some((Day { year, month, day: 1 }, Day { year, month, day: last }, false));
    }
    if bytes.get(7) != Some(&b'-') {
        return None;
    }
    let day = u8::try_from(number(8..10)?).ok().filter(|d| (1..=days_in_month(year, month)).contains(d))?;
    let day = Day { year, month, day };
    match bytes.len() {
        10 => Some((day, day, false)),
        _ if bytes.get(10) == Some(&b'T') => Some((utc_day(day, &text[11..])?, utc_day(day, &text[11..])?, true)),
        _ => None,
    }
}

/// The UTC day of `day` at `time` (`hh:mm[:ss[.f]][Z|±hh:mm]`; no offset counts as UTC).
fn utc_day(day: Day, time: &str) -> Option<Day> {
    let digits = |text: &str| -> Option<i32> {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
    };
    let (hours, minutes) = (digits(time.get(0..2)?)?, digits(time.get(3..5)?)?);
    let offset = match time.find(['Z', '+', '-']) {
        None => 0,
        Some(at) if time[at..].starts_with('Z') => 0,
        Some(at) => {
            let sign = if time[at..].starts_with('-') { -1 } else { 1 };
            let zone = &time[at + 1..];
            sign * (digits(zone.get(0..2)?)? * 60 + digits(zone.get(3..5)?)?)
        }
    };
    match hours * 60 + minutes - offset {
        m if m < 0 => day.before(),
        m if m >= 24 * 60 => day.after(),
        _ => Some(day),
    }
}

/// Which bound of a value's range a term is about (a point: both).
#[derive(Clone, Copy)]
enum Bound {
    Start,
    End,
    Point,
}

impl Bound {
    const fn tag(self) -> &'static str {
        match self {
            Bound::Start => "ds",
            Bound::End => "de",
            Bound::Point => "dp",
        }
    }
}

/// A node of the calendar tree.
#[derive(Clone, Copy)]
enum Node {
    Century(u16),
    Decade(u16),
    Year(u16),
    Month(u16, u8),
    Day(Day),
}

impl Node {
    fn span(self) -> (Day, Day) {
        let years =
            |first: u16, last: u16| (Day { year: first, month: 1, day: 1 }, Day { year: last, month: 12, day: 31 });
        match self {
            Node::Century(c) => years(c * 100, c * 100 + 99),
            Node::Decade(d) => years(d * 10, d * 10 + 9),
            Node::Year(y) => years(y, y),
            Node::Month(year, month) => {
                (Day { year, month, day: 1 }, Day { year, month, day: days_in_month(year, month) })
            }
            Node::Day(day) => (day, day),
        }
    }

    fn children(self) -> Vec<Node> {
        match self {
            Node::Century(c) => (c * 10..c * 10 + 10).map(Node::Decade).collect(),
            Node::Decade(d) => (d * 10..d * 10 + 10).map(Node::Year).collect(),
            Node::Year(y) => (1..=12).map(|m| Node::Month(y, m)).collect(),
            Node::Month(year, month) => {
                (1..=days_in_month(year, month)).map(|day| Node::Day(Day { year, month, day })).collect()
            }
            Node::Day(_) => Vec::new(),
        }
    }

    fn term(self, bound: Bound) -> String {
        let tag = bound.tag();
        match self {
            Node::Century(c) => format!("{tag}|c|{c:02}"),
            Node::Decade(d) => format!("{tag}|x|{d:03}"),
            Node::Year(y) => format!("{tag}|y|{y:04}"),
            Node::Month(y, m) => format!("{tag}|m|{y:04}-{m:02}"),
            Node::Day(Day { year, month, day }) => format!("{tag}|d|{year:04}-{month:02}-{day:02}"),
        }
    }
}

fn open_term(bound: Bound) -> String {
    format!("{}|open", bound.tag())
}

/// The index terms of one bound: the five nodes that hold its day, or the open bound's term.
fn bound_terms(bound: Bound, day: Option<Day>, terms: &mut Vec<String>) {
    let Some(day) = day else {
        terms.push(open_term(bound));
        return;
    };
    let y = day.year;
    for node in [Node::Century(y / 100), Node::Decade(y / 10), Node::Year(y), Node::Month(y, day.month), Node::Day(day)]
    {
        terms.push(node.term(bound));
    }
}

/// The index terms of a date element: a `date`/`dateTime`/`instant` string, a `Period`, or a
/// `Timing`'s events.
pub(crate) fn value_terms(item: &serde_json::Value, terms: &mut Vec<String>) {
    let mut range = |start: Option<Day>, end: Option<Day>| match (start, end) {
        (Some(first), Some(last)) if first == last => bound_terms(Bound::Point, Some(first), terms),
        _ => {
            bound_terms(Bound::Start, start, terms);
            bound_terms(Bound::End, end, terms);
        }
    };
    match item {
        serde_json::Value::String(text) => {
            if let Some((start, end, _)) = parse_range(text) {
                range(Some(start), Some(end));
            }
        }
        serde_json::Value::Object(object) if object.contains_key("event") || object.contains_key("repeat") => {
            // A Timing: its outer limits, its events and its bounds together.
            let mut limits: Option<(Day, Option<Day>)> = None;
            let mut widen = |start: Day, end: Option<Day>| {
                limits = Some(match limits {
                    None => (start, end),
                    Some((lo, hi)) => (lo.min(start), hi.zip(end).map(|(a, b)| a.max(b))),
                });
            };
            for event in object.get("event").and_then(serde_json::Value::as_array).into_iter().flatten() {
                if let Some((start, end, _)) = event.as_str().and_then(parse_range) {
                    widen(start, Some(end));
                }
            }
            if let Some(bounds) = object.get("repeat").and_then(|r| r.get("boundsPeriod")) {
                let bound = |key: &str| bounds.get(key).and_then(serde_json::Value::as_str).and_then(parse_range);
                if let Some(start) = bound("start") {
                    widen(start.0, bound("end").map(|end| end.1));
                }
            }
            if let Some((start, end)) = limits {
                range(Some(start), end);
            }
        }
        serde_json::Value::Object(object) => {
            let bound = |key: &str| object.get(key).and_then(serde_json::Value::as_str).map(parse_range);
            match (bound("start"), bound("end")) {
                // A bound that does not parse is no bound: the value is not indexed at all.
                (Some(None), _) | (_, Some(None)) | (None, None) => {}
                (start, end) => range(start.flatten().map(|s| s.0), end.flatten().map(|e| e.1)),
            }
        }
        _ => {}
    }
}

/// The terms of the nodes that exactly cover the days `from..=to` for `bound`.
fn cover(bound: Bound, from: Day, to: Day, terms: &mut Vec<String>) {
    fn visit(node: Node, bound: Bound, from: Day, to: Day, terms: &mut Vec<String>) {
        let (first, last) = node.span();
        if last < from || first > to {
            return;
        }
        if from <= first && last <= to {
            // A one-day value starts and ends on its day.
            terms.push(node.term(bound));
            terms.push(node.term(Bound::Point));
            return;
        }
        for child in node.children() {
            visit(child, bound, from, to, terms);
        }
    }
    for century in 0..100 {
        visit(Node::Century(century), bound, from, to, terms);
    }
}

/// Values whose `bound` is on or after `from` (an open end counts as after every day).
fn from_on(bound: Bound, from: Option<Day>) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(from) = from {
        cover(bound, from, LAST, &mut terms);
    }
    if matches!(bound, Bound::End) {
        terms.push(open_term(bound));
    }
    terms
}

/// Values whose `bound` is on or before `to` (an open start counts as before every day).
fn up_to(bound: Bound, to: Option<Day>) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(to) = to {
        cover(bound, FIRST, to, &mut terms);
    }
    if matches!(bound, Bound::Start) {
        terms.push(open_term(bound));
    }
    terms
}

fn within(bound: Bound, from: Day, to: Day) -> Vec<String> {
    let mut terms = Vec::new();
    cover(bound, from, to, &mut terms);
    terms
}

fn union(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    a.extend(b);
    a
}

/// The conditions one date query value (`[prefix]date`) puts on the index: every group, each by
/// any of its terms. With the value's range `lo..=hi` and the query's `qlo..=qhi`, FHIR's
/// prefixes are: `eq` lo ≥ qlo and hi ≤ qhi; `ne` its negation; `gt` hi > qhi; `lt` lo < qlo;
/// `ge` gt or eq; `le` lt or eq; `sa` lo > qhi; `eb` hi < qlo.
pub(crate) fn query(code: &str, value: &str) -> Result<Vec<Vec<String>>, TermError> {
    let (prefix, date) = match value.get(..2) {
        Some(prefix) if prefix.bytes().all(|b| b.is_ascii_lowercase()) => (prefix, &value[2..]),
        _ => ("eq", value),
    };
    let Some((qlo, qhi, has_time)) = parse_range(date) else {
        return Err(TermError(format!("{code}: `{date}` is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)")));
    };
    if has_time {
        return Err(TermError(format!(
            "{code}: dates are searched to the day on this server; `{date}` has a time (give YYYY-MM-DD)"
        )));
    }
    use Bound::{End, Start};
    Ok(match prefix {
        "eq" => vec![within(Start, qlo, qhi), within(End, qlo, qhi)],
        "ne" => vec![union(up_to(Start, qlo.before()), from_on(End, qhi.after()))],
        "gt" => vec![from_on(End, qhi.after())],
        "lt" => vec![up_to(Start, qlo.before())],
        // One range meets `ge` through either half (an end after the query's, or a start within
        // it, which makes it after or within), `le` likewise: one group each decides.
        "ge" => vec![union(from_on(End, qhi.after()), within(Start, qlo, qhi))],
        "le" => vec![union(up_to(Start, qlo.before()), within(End, qlo, qhi))],
        "sa" => vec![from_on(Start, qhi.after())],
        "eb" => vec![up_to(End, qlo.before())],
        "ap" => return Err(TermError(format!("{code}: the ap prefix is not offered by this server"))),
        other => return Err(TermError(format!("{code}: `{other}` is not a FHIR date prefix"))),
    })
}
