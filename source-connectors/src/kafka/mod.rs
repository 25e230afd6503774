//! The Kafka connector: consumes FHIR from a topic in a consumer group, commits it through the
//! pipeline, produces receipts and dead letters, commits offsets last.

mod config;
mod consumer;
pub mod message;
pub mod receipt;

pub use config::KafkaConfig;
pub use consumer::{KafkaHealth, KafkaSource, KafkaSourceError};
