//! HL7 v2's "no change" rule for FHIR: in v2 an empty field leaves the receiver's value as it is,
//! so a message's Patient (often only the PID of a lab result or a schedule, or the bare MRG of a
//! merge) is merged into the version before it: what the message says replaces, what it leaves
//! out is kept.
//!
//! Elements are whole: a message's `name` replaces every earlier name, as a v2 field's
//! repetitions replace the old ones. A field sent as the explicit null `""` deletes the elements
//! it maps to ([`Merge::cleared`]).

use std::collections::BTreeMap;

use node_store::Node;
use serde_json::value::RawValue;

/// Top-level elements never taken from the earlier version (its narrative would describe it, not
/// the merge). `meta` is kept: its security labels and tags still hold.
const NOT_MERGED: &[&str] = &["resourceType", "id", "text"];

/// Choice elements (`deceased[x]`) of the merged types: one variant replaces any other.
const CHOICE_ELEMENTS: &[&str] = &["deceased", "multipleBirth"];

/// How a message's resource merges into the version before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merge {
    /// Top-level elements the message deletes (their v2 field is `""`): not kept from earlier.
    pub cleared: Vec<String>,
    /// What the message said: the mapped JSON, before merging.
    pub said: String,
    /// The seq of the stored version preparation merged it into (`None`: there was none). The
    /// writer merges again when the resource has a newer version by then.
    pub based_on: Option<u64>,
}

/// What `merge`'s message said, merged into the stored version `record` (at `seq`); `None`
/// when there is nothing to merge (a delete, an unreadable version, nothing missing).
pub fn merge_into_stored(
    node: &Node,
    seq: u64,
    record: node_store::records::ResourceVersion,
    merge: &Merge,
) -> Option<String> {
    if record.operation == node_store::records::Operation::Delete {
        return None;
    }
    let stored = node.open_record(seq, record).ok()?;
    merge_into_earlier(&stored.canonical, merge.said.as_bytes(), merge)
}

/// The deepest nesting of arrays and objects merged, as decoding bounds FHIR JSON.
pub const MAX_MERGE_DEPTH: usize = 128;

/// Whether the arrays and objects of `json` nest at most `max` deep (strings skipped); a scan,
/// without recursion, that does not check the JSON otherwise.
fn nesting_within(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The element a top-level key belongs to: `_gender` and `gender` are one, as are
/// `deceasedBoolean` and `deceasedDateTime`.
fn element_of(key: &str) -> &str {
    let name = key.strip_prefix('_').unwrap_or(key);
    CHOICE_ELEMENTS
        .iter()
        .find(|choice| {
            name.strip_prefix(**choice).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .copied()
        .unwrap_or(name)
}

/// `message` (a resource's JSON) with the top-level elements of `earlier` (the version before
/// it, JSON) that it neither has nor clears; `None` when nothing is to add or either does not
/// parse as an object. Values are kept as raw text, so decimals keep their digits.
pub fn merge_into_earlier(earlier: &[u8], message: &[u8], merge: &Merge) -> Option<String> {
    type Elements = BTreeMap<String, Box<RawValue>>;
    // serde_json skips raw values without recursing, so nesting costs no stack here; it is
    // bounded all the same, so that a merge never yields what decoding would then refuse.
    if !nesting_within(earlier, MAX_MERGE_DEPTH) || !nesting_within(message, MAX_MERGE_DEPTH) {
        return None;
    }
    let earlier: Elements = serde_json::from_slice(earlier).ok()?;
    let mut merged: Elements = serde_json::from_slice(message).ok()?;
    let mut said: Vec<&str> = merged.keys().map(|k| element_of(k)).collect();
    said.extend(merge.cleared.iter().map(|c| element_of(c)));
    let kept: Vec<(String, Box<RawValue>)> = earlier
        .into_iter()
        .filter(|(key, _)| !NOT_MERGED.contains(&key.as_str()) && !said.contains(&element_of(key)))
        .collect();
    if kept.is_empty() {
        return None;
    }
    merged.extend(kept);
    serde_json::to_string(&merged).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn merge(earlier: Value, message: Value) -> Option<Value> {
        let merged =
            merge_into_earlier(earlier.to_string().as_bytes(), message.to_string().as_bytes(), &Merge::default())?;
        Some(serde_json::from_str(&merged).expect("JSON"))
    }

    #[test]
    fn what_the_message_leaves_out_is_kept_and_what_it_says_replaces() {
        let earlier = json!({"resourceType": "Patient", "id": "p", "meta": {"versionId": "1"},
            "name": [{"family": "Old", "given": ["A", "B"]}], "birthDate": "1980-01-01",
            "address": [{"city": "Springfield"}]});
        let message = json!({"resourceType": "Patient", "id": "p", "name": [{"family": "New"}]});
        let merged = merge(earlier, message).expect("merged");
        assert_eq!(merged["name"], json!([{"family": "New"}]), "repetitions replace the old ones");
        assert_eq!(merged["birthDate"], "1980-01-01");
        assert_eq!(merged["address"][0]["city"], "Springfield");
        assert_eq!(merged["meta"]["versionId"], "1", "meta (security labels, tags) is kept");
    }

    #[test]
    fn an_element_and_its_extensions_and_choice_variants_go_together() {
        let earlier = json!({"resourceType": "Patient", "gender": "female",
            "_gender": {"extension": [{"url": "x", "valueCode": "F"}]}, "deceasedDateTime": "2020-01-01",
            "multipleBirthInteger": 2});
        let message = json!({"resourceType": "Patient", "gender": "male", "deceasedBoolean": false});
        let merged = merge(earlier, message).expect("merged");
        assert_eq!(merged["gender"], "male");
        assert!(merged.get("_gender").is_none(), "the earlier original code does not stick to a new gender");
        assert!(merged.get("deceasedDateTime").is_none(), "one variant of a choice");
        assert_eq!(merged["deceasedBoolean"], false);
        assert_eq!(merged["multipleBirthInteger"], 2);
    }

    #[test]
    fn decimals_keep_their_digits_and_nothing_to_add_is_none() {
        let earlier = br#"{"resourceType":"Patient","extension":[{"url":"x","valueDecimal":1.50}]}"#;
        let none = Merge::default();
        let merged =
            merge_into_earlier(earlier, br#"{"resourceType":"Patient","active":true}"#, &none).expect("merged");
        assert!(merged.contains("1.50"), "{merged}");
        assert_eq!(merge_into_earlier(earlier, earlier, &none), None);
        assert_eq!(merge_into_earlier(b"[1]", earlier, &none), None);
    }

    #[test]
    fn nesting_past_the_limit_is_not_merged_and_the_limit_holds_on_a_small_stack() {
        let nested = |depth: usize| {
            format!(r#"{{"resourceType":"Patient","extension":{}1{}}}"#, "[".repeat(depth - 1), "]".repeat(depth - 1))
        };
        let message = br#"{"resourceType":"Patient","active":true}"#.to_vec();
        let (deep, fits) = (nested(100_000), nested(MAX_MERGE_DEPTH));
        let merged = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let none = Merge::default();
                let deep_earlier = merge_into_earlier(deep.as_bytes(), &message, &none);
                let deep_message = merge_into_earlier(&message, deep.as_bytes(), &none);
                (deep_earlier, deep_message, merge_into_earlier(fits.as_bytes(), &message, &none))
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert_eq!((merged.0, merged.1), (None, None), "nesting over {MAX_MERGE_DEPTH} is not merged");
        assert!(merged.2.is_some_and(|m| m.contains(r#""active":true"#)), "nesting at the limit is merged");
        // Brackets inside strings are text, not nesting.
        let text =
            format!(r#"{{"resourceType":"Patient","name":[{{"text":"{}\"{}"}}]}}"#, "[".repeat(500), "{".repeat(500));
        assert!(nesting_within(text.as_bytes(), 4));
    }

    #[test]
    fn an_explicit_null_deletes_what_it_maps_to() {
        let earlier = br#"{"resourceType":"Patient","birthDate":"1980-01-01","deceasedDateTime":"2020-01-01","telecom":[{"value":"1"}]}"#;
        let merge = Merge { cleared: vec!["telecom".into(), "deceasedDateTime".into()], ..Merge::default() };
        let merged = merge_into_earlier(earlier, br#"{"resourceType":"Patient"}"#, &merge).expect("merged");
        let merged: Value = serde_json::from_str(&merged).expect("JSON");
        assert_eq!(merged, json!({"resourceType": "Patient", "birthDate": "1980-01-01"}));
    }
}
