//! Fuzz target `jwt`: see [`fhir_ledger_bridge_fuzz::jwt`] for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fhir_ledger_bridge_fuzz::jwt::check(data));
