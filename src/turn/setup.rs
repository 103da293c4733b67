//! What a turn builds on: the conversation's settings and its history.

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;

use crate::context::cache::Cache;
use crate::context::estimate::{message_tokens, system_tokens, tools_tokens};
use crate::context::policy::Memory;
pub use crate::wire::request::Guardrail;

/// A conversation's settings, fixed at creation and shared by its turns (a turn with
/// settings of its own gets a changed copy).
#[derive(Default, Clone)]
pub struct Setup {
    pub system_prompt: Option<String>,
    pub system: Vec<t::SystemContentBlock>,
    pub inference: Option<t::InferenceConfiguration>,
    pub fields: Option<Document>,
    /// The tools of every request (toolConfig.tools), when the conversation has tools.
    pub tools: Option<Vec<t::Tool>>,
    /// Names of the tools that have a function: their calls are run by the loop.
    pub callable: HashSet<String>,
    /// Names of the tools without a function: a call of one ends the turn, which waits
    /// for the caller's results (`send_tool_results`).
    pub for_caller: HashSet<String>,
    /// Rounds of tool calls one turn may run.
    pub max_rounds: u32,
    /// The conversation's `toolChoice`, unless a call gives its own.
    pub tool_choice: Option<t::ToolChoice>,
    /// How the history is kept inside the context window (None: all of it is sent).
    pub memory: Option<Memory>,
    /// Where cache points go.
    pub cache: Cache,
    /// The estimate of the system prompt and tools (sent with every request).
    pub fixed_tokens: u64,
    /// The guardrail every request is checked by.
    pub guardrail: Option<Guardrail>,
    /// A turn's own model (`send(..., model_id=...)`), instead of the conversation's.
    pub model: Option<String>,
    /// Service tier, latency and request metadata of every request.
    pub serving: crate::wire::serving::Serving,
    /// `additionalModelResponseFieldPaths` of every request.
    pub response_paths: Option<Vec<String>>,
    /// A structured output's tool: forced on every request of the turn, and its call,
    /// once valid, becomes the turn's answer (`Machine::finish_output`).
    pub output_tool: Option<String>,
    /// A structured output asked for natively (`outputConfig.textFormat`, a JSON schema):
    /// sent with every request of the turn; the answer's text, once valid, is the output.
    pub output_format: Option<t::OutputConfig>,
}

impl Setup {
    /// The estimate of what every request sends besides its messages (system and tools).
    pub fn estimate_fixed(&self) -> u64 {
        system_tokens(&self.system) + self.tools.as_deref().map_or(0, tools_tokens)
    }
}

/// The history a turn builds on: the whole transcript (shared, not copied), the estimate of
/// each of its messages, the first message requests still send, and the summary of the
/// messages before it (`Summarizing`).
#[derive(Debug, Clone, Default)]
pub struct Base {
    pub messages: Arc<Vec<t::Message>>,
    pub tokens: Arc<Vec<u32>>,
    pub start: usize,
    pub summary: Option<Arc<str>>,
}

pub fn estimate(message: &t::Message) -> u32 {
    message_tokens(message).min(u64::from(u32::MAX)) as u32
}

impl From<Vec<t::Message>> for Base {
    fn from(messages: Vec<t::Message>) -> Self {
        Self {
            tokens: Arc::new(messages.iter().map(estimate).collect()),
            messages: Arc::new(messages),
            start: 0,
            summary: None,
        }
    }
}
