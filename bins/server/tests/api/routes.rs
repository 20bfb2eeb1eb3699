//! Every route with every role (placeholder).
