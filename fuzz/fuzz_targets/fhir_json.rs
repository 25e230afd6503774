//! Fuzz target `fhir_json`: see [`fhir_ledger_bridge_fuzz::fhir_json`] for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fhir_ledger_bridge_fuzz::fhir_json::check(data));
