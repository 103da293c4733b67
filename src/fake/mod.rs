//! FakeBedrock: a local Bedrock Runtime that speaks the real wire protocol, for our tests,
//! our benchmarks and our users' own test suites.
//!
//! `state` decides what to answer (scripted turns, the default model, validation, tokens);
//! `server` carries it over HTTP/1.1; `py` exposes it to Python as `FakeBedrock`.

pub mod auth;
pub mod caching;
pub mod citing;
pub mod cursor;
pub mod frame;
pub mod ids;
pub mod invoke;
pub mod media;
pub mod model;
pub mod prefill;
pub mod py;
pub mod quota;
pub mod reasoning;
pub mod script;
pub mod scripted;
pub mod server;
pub mod state;
pub mod system_tools;
pub mod tokens;
pub mod validate;

pub use auth::AuthConfig;
pub use script::{Block, Chunking, HttpError, StreamError, Turn, Usage};
pub use server::FakeServer;
pub use state::{FakeConfig, RecordedRequest};

#[cfg(test)]
mod sdk_tests;
