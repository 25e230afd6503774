//! Integration tests of `ledger-adapter`, one binary with themed modules, on real sled databases
//! in temporary directories.

mod known_answer;
mod proofs;
mod reopen;
mod signature;
mod support;
mod tamper;
mod tidy;
