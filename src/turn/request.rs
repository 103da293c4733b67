//! What a turn asks its driver for: a request (complete, not yet the SDK's input), tool
//! calls, or nothing more; and the hooks that see each request and commit.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;

use crate::context::cache;
use crate::errors::ErrorInfo;

/// What one request sends, complete but not yet in the SDK's builder. The history is the
/// shared snapshot, not a copy: the only copy is the one the SDK's input takes.
#[derive(Debug, Clone)]
pub struct RequestParts {
    pub model_id: String,
    /// The history the turn builds on: the request sends `history[from..]`.
    pub history: Arc<Vec<t::Message>>,
    pub from: usize,
    /// The turn's messages so far.
    pub added: Vec<t::Message>,
    pub system: Vec<t::SystemContentBlock>,
    pub inference: Option<t::InferenceConfiguration>,
    pub tool_config: Option<t::ToolConfiguration>,
    pub fields: Option<Document>,
    /// How many cache points the history gets (0 to 2).
    pub cache_history: usize,
    pub guardrail: Option<super::setup::Guardrail>,
    pub response_paths: Option<Vec<String>>,
}

impl RequestParts {
    /// The messages of the request, as the SDK's input takes them (by value).
    pub fn messages(&self) -> Vec<t::Message> {
        let kept = &self.history[self.from.min(self.history.len())..];
        let mut messages = Vec::with_capacity(kept.len() + self.added.len());
        messages.extend(kept.iter().cloned());
        messages.extend(self.added.iter().cloned());
        if self.cache_history > 0 {
            cache::mark_history(&mut messages, self.cache_history);
        }
        let tools = self.tool_config.as_ref().map(|c| c.tools());
        cache::keep_within_limit(&self.system, tools, &mut messages);
        messages
    }
}

/// What the turn gives the next issues a say in, once per request and once per turn,
/// whatever the driver: grounding and rate limits before a request is built; stores at
/// commit. An error fails the turn and leaves the history as it was. (Memory policies are
/// the turn's own step before the hooks: they may make requests of their own.)
pub trait Hook: Send + Sync {
    fn before_request(&self, _parts: &mut RequestParts) -> Result<(), Box<ErrorInfo>> {
        Ok(())
    }
    fn at_commit(
        &self,
        _history: &[t::Message],
        _added: &[t::Message],
    ) -> Result<(), Box<ErrorInfo>> {
        Ok(())
    }
}

/// What the driver does next.
#[derive(Debug)]
pub enum Action {
    Request(Box<RequestParts>),
    /// A summary of the older turns (`Summarizing`), made before the turn's first request.
    Summarize(Box<RequestParts>),
    /// A Python memory policy chooses where the history starts (`select`).
    Select,
    RunTools(Vec<t::ToolUseBlock>),
    Done,
}
