//! Source connectors beyond files and HTTP: one folder per kind.

pub mod kafka;
pub mod mllp;
