//! Memory policies: where a turn's request cuts the history. A policy only ever chooses the
//! first message to keep, and only at a turn start (a user message that answers no tool
//! call), so whatever it chooses, the request starts with a user message, alternates and
//! keeps every `toolUse` with its `toolResult`. The history before the cut stays in the
//! transcript.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;

/// How a conversation keeps its history inside the context window.
#[derive(Debug, Clone)]
pub enum Memory {
    /// Keep the newest `max_messages` messages.
    Window { max_messages: usize },
    /// Keep the newest messages whose estimate fits in `max_tokens`; once over it, cut down
    /// to `trim_to` (at most `max_tokens`), so that the front stays put for a while.
    Budget { max_tokens: u64, trim_to: u64 },
    /// Over `max_tokens`, summarise the older turns (see `summary`).
    Summarizing(Arc<SummarySettings>),
    /// A Python `MemoryPolicy`: its `select(view)` chooses the cut.
    Custom,
}

#[derive(Debug, Clone)]
pub struct SummarySettings {
    pub max_tokens: u64,
    pub keep_recent: usize,
    pub model_id: Option<String>,
    pub prompt: Option<String>,
}

/// The history a turn builds on, as a policy sees it at the turn's first request.
pub struct History<'a> {
    pub messages: &'a [t::Message],
    /// The estimate of each message (parallel to `messages`).
    pub tokens: &'a [u32],
    /// The first message the conversation still sends.
    pub start: usize,
    /// The turn's own messages so far (always kept).
    pub added: &'a [t::Message],
    pub added_tokens: u64,
}

/// A message a request may start with: the user's, answering no tool call.
pub fn is_turn_start(message: &t::Message) -> bool {
    message.role() == &t::ConversationRole::User
        && !message
            .content()
            .iter()
            .any(|b| matches!(b, t::ContentBlock::ToolResult(_)))
}

impl History<'_> {
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Whether the request may start at message `k` (`len` keeps only the turn's messages).
    pub fn is_cut(&self, k: usize) -> bool {
        match self.messages.get(k) {
            Some(m) => k >= self.start && is_turn_start(m),
            None => k == self.len() && self.added.first().is_some_and(is_turn_start),
        }
    }

    /// The first cut at or after `k`, else the last one before it (`start` if none).
    pub fn snap(&self, k: usize) -> usize {
        let k = k.clamp(self.start, self.len());
        (k..=self.len())
            .find(|&c| self.is_cut(c))
            .or_else(|| (self.start..k).rev().find(|&c| self.is_cut(c)))
            .unwrap_or(self.start)
    }

    /// Whether everything from `start` fits in `max` tokens (reads until it does not).
    pub fn fits(&self, max: u64) -> bool {
        let mut sum = self.added_tokens;
        for &n in self.tokens[self.start..].iter().rev() {
            sum += u64::from(n);
            if sum > max {
                return false;
            }
        }
        sum <= max
    }

    /// The newest `max` messages (counting the turn's own), or as few as a valid start allows.
    pub fn window(&self, max: usize) -> usize {
        let total = self.len() + self.added.len();
        self.snap(total.saturating_sub(max))
    }

    /// The newest messages whose estimate fits in `max` tokens, or as few as a valid start
    /// allows. Reads only the messages it keeps (and one more).
    pub fn budget(&self, max: u64) -> usize {
        let mut sum = self.added_tokens;
        let mut best = None;
        if sum <= max && self.is_cut(self.len()) {
            best = Some(self.len());
        }
        for k in (self.start..self.len()).rev() {
            sum += u64::from(self.tokens[k]);
            if sum > max {
                break;
            }
            if self.is_cut(k) {
                best = Some(k);
            }
        }
        best.unwrap_or_else(|| self.snap(self.len()))
    }

    /// Where a summary of the older turns ends: the last cut that keeps `keep_recent`
    /// messages (and at least one message is left to summarise), when over `max` tokens.
    pub fn summary_cut(&self, max: u64, keep_recent: usize) -> Option<usize> {
        if self.fits(max) {
            return None;
        }
        self.last_cut(self.len().saturating_sub(keep_recent))
    }

    /// Where one summary request ends on the way to `target`: the last cut whose older
    /// messages fit in `max` tokens, or the first cut after `start` when even one turn does
    /// not fit.
    pub fn chunk_end(&self, target: usize, max: u64) -> usize {
        let mut sum = 0u64;
        let mut end = None;
        for k in self.start + 1..=target.min(self.len()) {
            sum += u64::from(self.tokens[k - 1]);
            if self.is_cut(k) {
                if sum > max {
                    return end.unwrap_or(k);
                }
                end = Some(k);
            }
        }
        end.unwrap_or(target)
    }

    /// The last cut after `start` and at or before `at`.
    pub fn last_cut(&self, at: usize) -> Option<usize> {
        (self.start + 1..=at.min(self.len()))
            .rev()
            .find(|&c| self.is_cut(c))
    }

    /// After a context overflow: drop the older half of what is kept (at least one turn).
    pub fn shrink(&self) -> Option<usize> {
        let half = self.start + (self.len() - self.start).div_ceil(2);
        (half..=self.len())
            .find(|&c| self.is_cut(c))
            .or_else(|| self.last_cut(half))
            .filter(|&c| c > self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::Document;

    fn text(role: t::ConversationRole, s: &str) -> t::Message {
        t::Message::builder()
            .role(role)
            .content(t::ContentBlock::Text(s.into()))
            .build()
            .unwrap()
    }

    fn tool_use(id: &str) -> t::Message {
        let block = t::ToolUseBlock::builder()
            .tool_use_id(id)
            .name("f")
            .input(Document::Null)
            .build()
            .unwrap();
        t::Message::builder()
            .role(t::ConversationRole::Assistant)
            .content(t::ContentBlock::ToolUse(block))
            .build()
            .unwrap()
    }

    fn tool_result(id: &str) -> t::Message {
        let block = t::ToolResultBlock::builder()
            .tool_use_id(id)
            .content(t::ToolResultContentBlock::Text("ok".into()))
            .build()
            .unwrap();
        t::Message::builder()
            .role(t::ConversationRole::User)
            .content(t::ContentBlock::ToolResult(block))
            .build()
            .unwrap()
    }

    use t::ConversationRole::{Assistant as A, User as U};

    #[test]
    fn cuts_only_at_turn_starts() {
        // 0 user, 1 toolUse, 2 toolResult, 3 answer, 4 user, 5 answer
        let messages = vec![
            text(U, "a"),
            tool_use("x"),
            tool_result("x"),
            text(A, "b"),
            text(U, "c"),
            text(A, "d"),
        ];
        let tokens = vec![10; 6];
        let added = vec![text(U, "e")];
        let h = History {
            messages: &messages,
            tokens: &tokens,
            start: 0,
            added: &added,
            added_tokens: 10,
        };
        assert_eq!(h.window(3), 4);
        assert_eq!(h.window(2), 6);
        assert_eq!(h.window(100), 0);
        // 4 messages' worth fits: 3 (toolResult) is no start, so the cut is 4
        assert_eq!(h.budget(40), 4);
        assert_eq!(h.budget(5), 6);
        assert_eq!(h.budget(1000), 0);
        assert_eq!(h.summary_cut(50, 2), Some(4));
        assert_eq!(h.summary_cut(1000, 2), None);
        assert_eq!(h.shrink(), Some(4));
    }

    #[test]
    fn summaries_go_a_budget_at_a_time() {
        let messages: Vec<t::Message> = (0..10)
            .map(|i| text(if i % 2 == 0 { U } else { A }, "x"))
            .collect();
        let tokens = vec![10; 10];
        let added = vec![text(U, "q")];
        let h = History {
            messages: &messages,
            tokens: &tokens,
            start: 0,
            added: &added,
            added_tokens: 10,
        };
        assert_eq!(h.chunk_end(8, 40), 4, "two exchanges fit in 40");
        assert_eq!(h.chunk_end(8, 5), 2, "at least one exchange");
        assert_eq!(h.chunk_end(8, 1000), 8, "never past the target");
        assert!(!h.fits(100) && h.fits(110));
    }

    #[test]
    fn an_answer_to_tool_calls_keeps_its_calls() {
        let messages = vec![text(U, "a"), text(A, "b"), text(U, "c"), tool_use("x")];
        let tokens = vec![10; 4];
        let added = vec![tool_result("x")];
        let h = History {
            messages: &messages,
            tokens: &tokens,
            start: 0,
            added: &added,
            added_tokens: 10,
        };
        assert_eq!(h.window(1), 2);
        assert_eq!(h.budget(1), 2);
        assert_eq!(h.shrink(), Some(2));
    }
}
