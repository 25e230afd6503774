//! Fuzz target `hl7v2_parse_map`: see [`fhir_ledger_bridge_fuzz::hl7v2_parse_map`] for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fhir_ledger_bridge_fuzz::hl7v2_parse_map::check(data));
