//! Splitting batch files and concatenated messages into single messages.

use crate::lines::Lines;

/// Splits a text holding one or more messages into the text of each message, as slices of the
/// input, in order.
///
/// A message starts at each MSH segment and runs to the last segment before the next MSH or
/// batch envelope segment; each slice ends after that segment's terminator (when it has one).
/// The batch envelope segments FHS, BHS, BTS and FTS are left out, as are blank lines and a
/// leading byte-order mark. Segments before the first MSH that are not envelope segments form a
/// message of their own, so that [`Message::parse`](crate::Message::parse) reports them rather
/// than losing them silently. A text with a single message yields it.
///
/// ```
/// let batch = "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A||B||||ADT^A04|1|P|2.5\rPID|1\rBTS|1\rFTS|1\r";
/// let messages = hl7v2::split_messages(batch);
/// assert_eq!(messages, ["MSH|^~\\&|A||B||||ADT^A04|1|P|2.5\rPID|1\r"]);
/// ```
pub fn split_messages(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut messages = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut close = |current: &mut Option<(usize, usize)>| {
        if let Some((start, end)) = current.take() {
            if let Some(message) = text.get(start..end) {
                messages.push(message);
            }
        }
    };
    for line in Lines::new(text) {
        if is_envelope(line.text) {
            close(&mut current);
        } else if line.text.starts_with("MSH") {
            close(&mut current);
            current = Some((line.start, line.end));
        } else {
            match &mut current {
                Some((_, end)) => *end = line.end,
                None => current = Some((line.start, line.end)),
            }
        }
    }
    close(&mut current);
    messages
}

/// Whether a line is a batch envelope segment: FHS, BHS, BTS or FTS.
fn is_envelope(line: &str) -> bool {
    ["FHS", "BHS", "BTS", "FTS"]
        .iter()
        .any(|id| line.strip_prefix(id).is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric())))
}
