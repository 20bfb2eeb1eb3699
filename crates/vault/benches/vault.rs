//! Vault benchmark: seal/open latency and rotation throughput.
fn main() {}
