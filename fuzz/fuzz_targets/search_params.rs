//! Fuzz target `search_params`: see [`fhir_ledger_bridge_fuzz::search_params`] for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fhir_ledger_bridge_fuzz::search_params::check(data));
