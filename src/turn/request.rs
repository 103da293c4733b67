//! What a turn asks its driver for: a request (complete, not yet the SDK's input), tool
//! calls, or nothing more.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;

use crate::context::cache;
use crate::wire::request::ConverseRequest;
use crate::wire::request_view::RequestView;

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
    /// Their lifetime.
    pub history_ttl: cache::Ttl,
    pub guardrail: Option<super::setup::Guardrail>,
    pub response_paths: Option<Vec<String>>,
    pub serving: crate::wire::serving::Serving,
    /// `outputConfig` (a structured output asked for natively).
    pub output: Option<t::OutputConfig>,
}

impl RequestParts {
    /// The request as the SDK is given it.
    pub fn into_request(self) -> ConverseRequest {
        let messages = self.messages();
        let mut req = ConverseRequest {
            model_id: Some(self.model_id),
            messages: Some(messages),
            system: (!self.system.is_empty()).then_some(self.system),
            inference_config: self.inference,
            tool_config: self.tool_config,
            guardrail: self.guardrail,
            additional_model_request_fields: self.fields,
            additional_model_response_field_paths: self.response_paths,
            output_config: self.output,
            ..ConverseRequest::default()
        };
        req.set_serving(&self.serving);
        req
    }

    /// The request as a hook sees it: what goes on the wire.
    pub fn view(&self) -> RequestView {
        RequestView {
            model_id: self.model_id.clone(),
            messages: self.messages(),
            system: self.system.clone(),
            inference: self.inference.clone(),
            tool_config: self.tool_config.clone(),
            fields: self.fields.clone(),
            output: self.output.clone(),
            serving: self.serving.clone(),
        }
    }

    /// Takes a hook's (changed) view: it holds the whole request, cache points placed, so
    /// it replaces the history this request sends.
    pub fn apply(&mut self, view: RequestView) {
        self.model_id = view.model_id;
        self.history = Arc::new(view.messages);
        self.from = 0;
        self.added = Vec::new();
        self.cache_history = 0;
        self.system = view.system;
        self.inference = view.inference;
        self.tool_config = view.tool_config;
        self.fields = view.fields;
        self.output = view.output;
        self.serving = view.serving;
    }

    /// The messages of the request, as the SDK's input takes them (by value).
    pub fn messages(&self) -> Vec<t::Message> {
        let kept = &self.history[self.from.min(self.history.len())..];
        let mut messages = Vec::with_capacity(kept.len() + self.added.len());
        messages.extend(kept.iter().cloned());
        messages.extend(self.added.iter().cloned());
        if self.cache_history > 0 {
            cache::mark_history(&mut messages, self.cache_history, self.history_ttl);
        }
        let tools = self.tool_config.as_ref().map(|c| c.tools());
        cache::keep_within_limit(&self.system, tools, &mut messages);
        messages
    }
}

/// The turn's messages as a request sends them: `context` goes into the turn's first
/// message, before the user's own content and after any tool results (which Anthropic's
/// models want first), on the wire only.
pub fn with_context(added: &[t::Message], context: &[t::ContentBlock]) -> Vec<t::Message> {
    let mut added = added.to_vec();
    if let (false, Some(first)) = (context.is_empty(), added.first_mut()) {
        let at = first
            .content
            .iter()
            .take_while(|b| matches!(b, t::ContentBlock::ToolResult(_)))
            .count();
        first.content.splice(at..at, context.iter().cloned());
    }
    added
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
