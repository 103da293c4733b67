//! The Converse API's shapes: boto3-shaped Python data <-> SDK types (`request`,
//! `response`, `document`), and facts shared by the client and FakeBedrock (`error_codes`).
//! Only this module knows both shapes.

pub mod count_tokens;
pub mod document;
pub mod error_codes;
pub mod guardrail;
pub mod pyobj;
pub mod request;
pub mod request_view;
pub mod response;
pub mod tokens;
pub mod trace;
