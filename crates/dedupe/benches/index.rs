//! Index benchmark (placeholder).
fn main() {}
