//! Times, over the same NDJSON lines in one run: `fhir-model` (R4B) parse, our parse, and our
//! parse+validate. Prints microseconds per resource (best of several rounds).

use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "../../../shared/data/fhir-r4/bulk-ndjson".to_owned());
    let rounds: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("data dir").flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut lines = Vec::new();
    for p in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "ndjson")) {
        let text = std::fs::read(p).expect("readable");
        lines.extend(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!("input: {} resources, {:.1} MB from {dir}", lines.len(), bytes as f64 / 1e6);

    let peer_failures = lines
        .iter()
        .filter(|l| serde_json::from_slice::<fhir_model::r4b::resources::Resource>(l).is_err())
        .count();
    let our_invalid = lines.iter().filter(|l| fhir_models::parse_and_validate(l).is_err()).count();
    println!("fhir-model (R4B) rejects {peer_failures}; ours rejects {our_invalid}");

    let time = |name: &str, f: &dyn Fn(&[u8]) -> bool| {
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let start = Instant::now();
            let ok = lines.iter().filter(|l| f(l)).count();
            std::hint::black_box(ok);
            best = best.min(start.elapsed().as_secs_f64());
        }
        let per = best * 1e6 / lines.len() as f64;
        println!("{name:<32} {per:>8.2} µs/resource {:>10.0} resources/s", 1e6 / per);
        per
    };
    let peer = time("fhir-model 0.13 (R4B) parse", &|l| {
        serde_json::from_slice::<fhir_model::r4b::resources::Resource>(l).is_ok()
    });
    let ours = time("fhir-models parse", &|l| fhir_models::parse_resource(l).is_ok());
    let ours_validated = time("fhir-models parse+validate", &|l| fhir_models::parse_and_validate(l).is_ok());
    println!("parse+validate vs fhir-model parse: {:.2}x faster", peer / ours_validated);
    println!("parse vs fhir-model parse: {:.2}x faster", peer / ours);
}
