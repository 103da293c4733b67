//! The turn's memory step: at its first request a turn asks the conversation's policy where
//! its requests start (and, for `Summarizing`, first summarises what it leaves out); after
//! a context overflow it cuts deeper and tries once more. Nothing here changes the history:
//! the new start and summary are committed with the turn, or forgotten with it.

use std::sync::Arc;

use aws_sdk_bedrockruntime::types as t;

use super::machine::{estimate, Action, Machine, RequestParts};
use crate::context::policy::{History, Memory};
use crate::context::summary;
use crate::errors::ErrorInfo;
use crate::reply::ReplyData;

/// Note: ours. A summary request holds at most a budget's worth of turns plus the summary.
const SUMMARY_TOO_LONG: &str = "A summary request carries up to max_tokens of older turns and the summary so far: give Summarizing a smaller max_tokens, or a model_id whose context window is larger.";

/// Note: ours. The summariser wrote nothing.
pub const BLANK_SUMMARY: &str =
    "Try again, or give Summarizing a prompt (or a model_id) that writes a summary.";

/// Note: ours. Says what would have prevented the overflow.
const NO_POLICY_HINT: &str = "This conversation sends its whole history. Create it with memory=TokenBudget(max_tokens=...), SlidingWindow(max_messages=...) or Summarizing(max_tokens=...) to keep it inside the context window, or lower maxTokens.";

impl Machine {
    /// The history as the memory policy sees it now.
    pub fn history(&self) -> History<'_> {
        History {
            messages: &self.base.messages,
            tokens: &self.base.tokens,
            start: self.base.start,
            added: &self.added,
            added_tokens: self.added.iter().map(|m| u64::from(estimate(m))).sum(),
        }
    }

    /// The memory step: None when the turn's requests may go ahead.
    pub(super) fn plan(&mut self) -> Option<Action> {
        let memory = self.setup.memory.clone()?;
        let cut = match &memory {
            Memory::Window { max_messages } => self.history().window(*max_messages),
            Memory::Budget {
                max_tokens,
                trim_to,
            } => {
                let h = self.history();
                if h.fits(*max_tokens) {
                    self.base.start
                } else {
                    h.budget(*trim_to)
                }
            }
            Memory::Custom => return Some(Action::Select),
            Memory::Summarizing(settings) => {
                // Over budget, everything before the newest `keep_recent` messages is
                // summarised (after an overflow, up to the deeper cut), a chunk at a time.
                let target = match self.summary_target {
                    Some(cut) if cut > self.base.start => Some(cut),
                    _ => self
                        .history()
                        .summary_cut(settings.max_tokens, settings.keep_recent),
                };
                self.summary_target = target;
                if let Some(target) = target {
                    // One summary request folds in at most a budget's worth of the oldest
                    // turns; the memory step runs again until the rest fits.
                    let end = self.history().chunk_end(target, settings.max_tokens);
                    return Some(Action::Summarize(Box::new(self.summary_request(end))));
                }
                self.base.start
            }
        };
        self.base.start = cut;
        None
    }

    fn summary_request(&mut self, cut: usize) -> RequestParts {
        let Memory::Summarizing(settings) = self.setup.memory.clone().expect("a policy") else {
            unreachable!("only Summarizing summarises")
        };
        self.summarizing = Some(cut);
        let older = &self.base.messages[self.base.start..cut];
        let message = summary::request_message(self.base.summary.as_deref(), older);
        RequestParts {
            // (a summary is ours, not the user's: no guardrail judges it)
            guardrail: None,
            response_paths: None,
            // (its request metadata, for the invocation logs; not the tier or the latency
            // setting, which the summariser's model may not offer)
            serving: crate::wire::serving::Serving {
                metadata: self.setup.serving.metadata.clone(),
                ..Default::default()
            },
            model_id: settings
                .model_id
                .clone()
                .unwrap_or_else(|| self.model_id().to_owned()),
            history: Arc::default(),
            from: 0,
            added: vec![message],
            system: summary::prompt(&settings),
            inference: Some(summary::inference(&settings)),
            tool_config: None,
            fields: None,
            cache_history: 0,
            history_ttl: Default::default(),
            // (a summary is text: the turn's structured output is not asked of it)
            output: None,
        }
    }

    /// Takes in the summary: the turn's requests start at `cut`, after the new summary.
    pub(super) fn on_summary(
        &mut self,
        cut: usize,
        reply: ReplyData,
    ) -> Result<(), Box<ErrorInfo>> {
        self.stats.summary_usage = self.stats.summary_usage + reply.usage;
        self.stats.summaries += 1;
        let text: String = reply
            .message
            .content()
            .iter()
            .filter_map(|b| match b {
                t::ContentBlock::Text(s) => Some(s.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        if text.trim().is_empty() {
            self.end();
            return Err(Box::new(
                ErrorInfo::new(
                    "EmptyReplyError",
                    format!(
                        "the summary of the conversation's older turns came back blank (model {}, stop reason {:?}); the conversation is unchanged",
                        reply.model_id, reply.stop_reason
                    ),
                )
                .with_hint(BLANK_SUMMARY),
            ));
        }
        self.base.summary = Some(Arc::from(text.trim()));
        self.base.start = cut;
        // The memory step runs again: the rest may still be over budget.
        self.memory_done = false;
        self.set_phase_request();
        Ok(())
    }

    /// A Python policy chose to start at `index` of the history it was shown (relative to
    /// the conversation's start); the nearest turn start at or after it is taken.
    pub fn select(&mut self, index: usize) {
        let at = self.base.start.saturating_add(index);
        self.base.start = self.history().snap(at);
        self.memory_done = true;
    }

    /// A request failed. A context overflow, before any content reached the caller, is
    /// recovered from once when the conversation has a memory policy: the history is cut
    /// deeper (or summarised) and the request is made again. Anything else ends the turn.
    pub fn on_error(
        &mut self,
        mut info: ErrorInfo,
        before_content: bool,
    ) -> Result<(), Box<ErrorInfo>> {
        if !self.is_waiting() {
            return Err(Box::new(ErrorInfo::internal("no request is under way")));
        }
        if let Some(cut) = self.summarizing.take() {
            self.end();
            info.message = format!(
                "summarising the conversation's {} older messages failed, and the conversation is unchanged: {}",
                cut - self.base.start,
                info.message
            );
            if info.class == "ContextWindowExceededError" {
                info.hint = Some(SUMMARY_TOO_LONG);
            }
            return Err(Box::new(info));
        }
        if info.class == "ContextWindowExceededError" {
            match &self.setup.memory {
                None => info.hint = Some(NO_POLICY_HINT),
                Some(memory) if !self.recovered && before_content => {
                    if let Some(cut) = self.history().shrink() {
                        self.recovered = true;
                        self.stats.retries += 1;
                        match memory {
                            Memory::Summarizing(_) => {
                                self.summary_target = Some(cut);
                                self.memory_done = false;
                            }
                            _ => self.base.start = cut,
                        }
                        self.set_phase_request();
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
        }
        self.end();
        Err(Box::new(info))
    }
}
