//! Integration tests for natronfx-media: hostile uploads, the store backends, the renderer, platform rules.

mod ingest;
mod platform;
mod render;
mod store;
mod support;
mod wordpress;
