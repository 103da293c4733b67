//! What a turn gives back: its reply, what it changes in the conversation, and what it
//! measured on the way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::types as t;

use crate::context::metrics::add_usage;
use crate::reply::{ReplyData, Tokens};

/// What a turn measured, for the conversation's metrics.
#[derive(Debug, Clone, Default)]
pub struct TurnStats {
    pub started: Option<Instant>,
    pub first_token: Option<Duration>,
    pub retries: u32,
    pub summaries: u32,
    /// Tokens of the summary requests (not in the reply's usage).
    pub summary_usage: Tokens,
    /// Tokens per model, in the order first used.
    pub by_model: Vec<(String, Tokens)>,
    /// The prompt of the last request (input and cache tokens), when it is known.
    pub prompt_tokens: Option<u64>,
}

impl TurnStats {
    pub fn add(&mut self, model_id: &str, usage: Tokens) {
        add_usage(&mut self.by_model, model_id, usage);
    }
}

/// A committed turn: its reply, and what it changes in the conversation.
pub struct Committed {
    pub reply: ReplyData,
    pub change: Change,
}

/// What a committed turn changes: the messages it adds, where requests start, the summary.
pub struct Change {
    pub added: Vec<t::Message>,
    /// The estimate of each added message.
    pub tokens: Vec<u32>,
    /// Where the history's requests start now, and the summary before that.
    pub start: usize,
    pub summary: Option<Arc<str>>,
    /// Tokens of the turn's requests, summaries included.
    pub usage: Tokens,
    pub stats: TurnStats,
    pub elapsed: Duration,
}
