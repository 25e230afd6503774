//! Hostile nesting is refused with a located error instead of overflowing the stack.
//!
//! Each test runs on a thread with a deliberately small stack, far below the 2 MiB of a tokio
//! worker, in the debug build (which uses more stack than release): input at the documented limits
//! ([`fhir_models::MAX_RESOURCE_DEPTH`], [`fhir_json::MAX_DEPTH`]) must decode, validate, encode
//! and canonicalise there, and input one level deeper must fail with an `OperationOutcome` naming
//! the path. A stack overflow aborts the whole test binary, so a regression cannot pass quietly.

use fhir_json::MAX_DEPTH;
use fhir_models::{Resource, MAX_RESOURCE_DEPTH};

const KIB: usize = 1024;

/// Runs `f` on a thread with `stack_kib` KiB of stack.
fn on_small_stack<T: Send + 'static>(stack_kib: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(stack_kib * KIB).spawn(f).expect("thread starts").join().expect("no panic")
}

/// `levels` resources nested through `wrap` around a Patient (so `levels + 1` resources in all).
fn nested(levels: usize, wrap: fn(&str) -> String) -> String {
    let mut json = r#"{"resourceType":"Patient","id":"p"}"#.to_owned();
    for _ in 0..levels {
        json = wrap(&json);
    }
    json
}

fn in_bundle(inner: &str) -> String {
    format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{inner}}}]}}"#)
}

fn in_parameters(inner: &str) -> String {
    format!(r#"{{"resourceType":"Parameters","parameter":[{{"name":"p","resource":{inner}}}]}}"#)
}

/// The expression and code of each issue of a refused input.
fn refusal(json: &[u8]) -> Vec<(String, String, String)> {
    let outcome = fhir_models::parse_and_validate(json).expect_err("refused");
    outcome
        .issue
        .iter()
        .map(|i| {
            let at = i.expression.first().and_then(|e| e.as_str()).unwrap_or_default().to_owned();
            let code = i.code.as_ref().and_then(|c| c.as_str()).unwrap_or_default().to_owned();
            let diagnostics = i.diagnostics.as_ref().and_then(|d| d.as_str()).unwrap_or_default().to_owned();
            (at, code, diagnostics)
        })
        .collect()
}

/// Every way a resource is used: validate, encode, canonicalise, hash; and it round-trips.
fn use_fully(json: &[u8]) {
    let resource = fhir_models::parse_and_validate(json).expect("valid");
    let compact = fhir_models::to_json(&resource);
    assert_eq!(fhir_models::parse_resource(&compact).expect("re-parses"), resource);
    let canonical = fhir_models::to_canonical_json(&resource);
    assert_eq!(fhir_json::canonicalize(&canonical).expect("canonical"), canonical);
    let _ = fhir_models::content_hash(&resource);
    let _ = fhir_models::to_json_pretty(&resource);
}

#[test]
fn resources_nested_to_the_limit_work_on_a_small_stack() {
    let levels = MAX_RESOURCE_DEPTH as usize - 1;
    for wrap in [in_bundle, in_parameters] {
        let json = nested(levels, wrap);
        on_small_stack(256, move || use_fully(json.as_bytes()));
    }
}

#[test]
fn resources_nested_past_the_limit_are_refused_with_their_path() {
    let levels = MAX_RESOURCE_DEPTH as usize;
    let bundle_path = format!("Bundle{}", ".entry[0].resource".repeat(levels));
    let parameters_path = format!("Parameters{}", ".parameter[0].resource".repeat(levels));
    for (wrap, path) in [(in_bundle as fn(&str) -> String, bundle_path), (in_parameters, parameters_path)] {
        let json = nested(levels, wrap);
        let issues = on_small_stack(256, move || refusal(json.as_bytes()));
        assert_eq!(issues.len(), 1, "{issues:?}");
        let (at, code, diagnostics) = &issues[0];
        assert_eq!((at.as_str(), code.as_str()), (path.as_str(), "structure"));
        assert!(diagnostics.starts_with("resources nest deeper than"), "{diagnostics}");
    }
}

#[test]
fn the_reported_attacks_are_refused_without_a_crash() {
    // The security review's inputs: 24 nested Bundles (1.9 KB) and Parameters 30 deep, which
    // overflowed a 2 MiB thread. Here they must fail cleanly on an eighth of that.
    for json in [nested(24, in_bundle), nested(30, in_parameters)] {
        let issues = on_small_stack(256, move || refusal(json.as_bytes()));
        assert!(issues[0].2.starts_with("resources nest deeper than"), "{issues:?}");
    }
}

#[test]
fn contained_resources_count_as_nesting() {
    let mut json = r#"{"resourceType":"Patient","id":"p"}"#.to_owned();
    for _ in 0..MAX_RESOURCE_DEPTH {
        json = format!(r#"{{"resourceType":"Patient","contained":[{json}]}}"#);
    }
    let issues = on_small_stack(256, move || refusal(json.as_bytes()));
    let expected = format!("Patient{}", ".contained[0]".repeat(MAX_RESOURCE_DEPTH as usize));
    assert_eq!(issues[0].0, expected, "{issues:?}");
}

/// `PlanDefinition.action.action...`: the recursive element with the largest decoder frame that
/// was measured (about 10 KiB of stack per JSON level in a debug build), nested `json_depth`
/// levels deep (for even depths exactly).
fn nested_actions(json_depth: u32) -> String {
    // The resource object is one level, each action an array and an object, and the innermost
    // `_title` object one more.
    let actions = (json_depth as usize - 2) / 2;
    let mut json = r#"{"title":"a","_title":{"id":"t"}}"#.to_owned();
    for _ in 1..actions {
        json = format!(r#"{{"title":"a","action":[{json}]}}"#);
    }
    format!(r#"{{"resourceType":"PlanDefinition","status":"draft","action":[{json}]}}"#)
}

fn json_depth(json: &[u8]) -> u32 {
    let (mut depth, mut max, mut in_string, mut escaped) = (0u32, 0u32, false, false);
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, b'}' | b']') => depth -= 1,
            _ => {}
        }
    }
    max
}

#[test]
fn the_deepest_json_allowed_works_on_a_small_stack() {
    let json = nested_actions(MAX_DEPTH);
    assert_eq!(json_depth(json.as_bytes()), MAX_DEPTH);
    // About 700 KiB in a debug build at MAX_DEPTH 64 (it was 1.3 MiB at 128); release needs less.
    on_small_stack(1024, move || use_fully(json.as_bytes()));
}

#[test]
fn json_nested_past_the_limit_is_refused_with_its_path() {
    let json = nested_actions(MAX_DEPTH + 2);
    assert!(json_depth(json.as_bytes()) > MAX_DEPTH);
    let issues = on_small_stack(1024, move || refusal(json.as_bytes()));
    let (at, code, diagnostics) = &issues[0];
    assert!(at.starts_with("PlanDefinition.action[0].action[0].action[0]"), "{at}");
    assert_eq!(code, "structure");
    assert!(diagnostics.starts_with("objects and arrays nest deeper than"), "{diagnostics}");
}

#[test]
fn deep_json_where_the_resource_type_is_looked_for_is_refused() {
    // The resource type is looked for (a skipping scan) before decoding begins: first for the
    // outcome's root name, then by the decoder of every resource.
    let deep = "[".repeat(MAX_DEPTH as usize * 4) + &"]".repeat(MAX_DEPTH as usize * 4);
    let json = format!(r#"{{"a":{deep},"resourceType":"Patient"}}"#);
    let issues = on_small_stack(256, move || refusal(json.as_bytes()));
    assert_eq!(issues[0].1, "structure", "{issues:?}");
}

#[test]
fn validating_resources_built_in_code_past_the_limit_stops_at_the_limit() {
    // Decoding never yields such a resource, but code can build one.
    let mut resource = Resource::Patient(Box::default());
    for _ in 0..200 {
        let mut bundle = fhir_models::Bundle {
            r#type: Some(fhir_models::Primitive::new("collection".to_owned())),
            ..Default::default()
        };
        bundle.entry.push(fhir_models::BundleEntry { resource: Some(resource), ..Default::default() });
        resource = Resource::Bundle(Box::new(bundle));
    }
    let (issues, resource) = on_small_stack(256, move || (fhir_models::validate(&resource), resource));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, format!("Bundle{}", ".entry[0].resource".repeat(MAX_RESOURCE_DEPTH as usize)));
    drop(resource);
}
