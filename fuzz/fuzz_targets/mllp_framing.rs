//! Fuzz target `mllp_framing`: see [`fhir_ledger_bridge_fuzz::mllp_framing`] for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fhir_ledger_bridge_fuzz::mllp_framing::check(data));
