//! No message makes the mapping panic: deterministic pseudo-random mutations of every shared
//! sample (characters anywhere, and whole field values replaced by awkward ones: empty, the v2
//! null, stray delimiters, escapes, impossible dates and numbers, repetitions) are parsed and
//! mapped with `mappings/`. A mutation may refuse the message; it may not panic, and what maps
//! must be JSON that the FHIR validator decides on without panicking. A panic here is a bug that the MLLP listener would turn into an `AE`.

mod common;

use common::{hl7_files, mappings, shared_hl7v2, HashIds};

const NOISE: &[char] = &['|', '^', '~', '\\', '&', '\r', 'X', '.', '0', '9', '-', '+', '"', ' ', 'é', '€', '\u{feff}'];

/// Field values that tend to find edge cases in conversions, tables and data type maps.
const VALUES: &[&str] = &[
    "",
    "\"\"",
    "^",
    "^^^^",
    "~",
    "~~~",
    "&&&",
    "\\F\\\\S\\\\R\\",
    "\\X0D0A\\",
    "\\.br\\",
    "\\",
    "20241301",
    "20240230",
    "2024",
    "202402",
    "20240229240000",
    "20240101120000.1234+2500",
    "20240101120000-0000",
    "99999999999999999999999999",
    "-0",
    "1e309",
    "NaN",
    ".",
    "1.",
    "0.0000000000000000000000001",
    "<5",
    ">=10^mg",
    "1:2",
    "^1^:^2",
    "M",
    "Z",
    "MR",
    "é€𝄞",
    "Base64^ED^^Base64^!!!!",
    "A^B^C^D^E^F^G^H^I^J^K",
    "x&y&z^a&b~c^d",
];

fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut out = text.to_owned();
    for _ in 0..1 + rng.usize(..3) {
        if rng.usize(..3) == 0 {
            let mut chars: Vec<char> = out.chars().collect();
            let len = chars.len();
            let at = rng.usize(..len + 1);
            match rng.usize(..3) {
                0 => chars.insert(at.min(len), NOISE[rng.usize(..NOISE.len())]),
                1 if at < len => {
                    chars.remove(at);
                }
                _ if at < len => chars[at] = NOISE[rng.usize(..NOISE.len())],
                _ => {}
            }
            out = chars.into_iter().collect();
        } else {
            // Replace one field's value (after the first few characters, so MSH-1 and MSH-2 stay).
            let bars: Vec<usize> = out.match_indices('|').map(|(i, _)| i).filter(|i| *i > 8).collect();
            if bars.is_empty() {
                continue;
            }
            let start = bars[rng.usize(..bars.len())] + 1;
            let end = out[start..].find(['|', '\r', '\n']).map_or(out.len(), |e| start + e);
            out.replace_range(start..end, VALUES[rng.usize(..VALUES.len())]);
        }
    }
    out
}

#[test]
fn random_mutations_of_every_sample_never_panic_the_mapping() {
    let Some(dir) = shared_hl7v2() else { return };
    let mappings = mappings();
    let files = hl7_files(&dir);
    assert!(files.len() > 50, "the shared samples are there");
    let mut rng = fastrand::Rng::with_seed(0x5DEE_CE66_D1CE_4E5B);
    let (mut tried, mut mapped) = (0usize, 0usize);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\r").replace('\n', "\r");
        for round in 0..30 {
            let mutated = mutate(&mut rng, &text);
            let Ok(message) = hl7v2::Message::parse(&mutated) else { continue };
            tried += 1;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mappings.map(&message, &HashIds)));
            let result = result.unwrap_or_else(|_| {
                panic!("mapping panicked on mutation {round} of {}:\n{}", path.display(), mutated.replace('\r', "\n"))
            });
            if let Ok(message) = result {
                mapped += 1;
                for resource in &message.resources {
                    serde_json::from_str::<serde_json::Value>(&resource.json)
                        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", path.display(), resource.json));
                    // What the bridge does next with it (decode and validate) must not panic
                    // either; a refusal is fine.
                    let checked =
                        std::panic::catch_unwind(|| fhir_models::parse_and_validate(resource.json.as_bytes()));
                    assert!(
                        checked.is_ok(),
                        "validating a mapped {} of {} panicked",
                        resource.resource_type,
                        path.display()
                    );
                }
            }
        }
    }
    // Most mutations still parse, and many still map, so the mapping itself was exercised.
    eprintln!("no_panic: {tried} parsed, {mapped} mapped, of {} mutations", files.len() * 30);
    assert!(tried > files.len() * 20, "{tried} parsed");
    assert!(mapped > files.len() * 20, "{mapped} mapped");
}
