//! The Converse API's shapes, and the only module that knows both the SDK's and the wire's.
//! Messages and content blocks are converted once (`content_in`, `content_out`) against a
//! tree of data (`reader::Node`, `sink::Sink`) that is either boto3's Python objects
//! (`pyobj`) or the JSON a store keeps (`json`). `request`/`response` are the calls' other
//! parts; `error_codes` are facts shared by the client and FakeBedrock.

pub mod content_in;
pub mod content_out;
pub mod count_tokens;
pub mod document;
pub mod error_codes;
pub mod guardrail;
pub mod json;
pub mod key_order;
pub mod key_order_wire;
pub mod pyobj;
pub mod reader;
pub mod request;
pub mod request_view;
pub mod response;
pub mod server_tools;
pub mod serving;
pub mod sink;
pub mod tokens;
pub mod trace;
