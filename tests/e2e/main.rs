//! End-to-end tests of `fhir-bridge` on real parts: the built binary, real data dirs, real HTTP.

mod server;
mod support;

mod at_rest;
mod audit;
mod auth;
mod bulk_export;
mod chain;
mod clients;
mod compartment;
mod consent;
mod crash;
mod fhir_bundles;
mod fhir_rest;
mod fhir_search;
mod hostile;
mod idempotency;
mod peers;
mod peers_identifier;
mod rejects;
mod round_trip;
mod serve;
mod tamper;
mod tamper_proxy;

mod hl7v2_ingest;
mod mllp;
mod mllp_crash;
mod mllp_limits;
mod mllp_tls;

mod kafka_support;

mod kafka_crash;
mod kafka_health;
mod kafka_ingest;
mod kafka_scale_out;
