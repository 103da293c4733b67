//! The turn as a sans-IO state machine. It says what to do next (send this request, run
//! these tool calls, done) and is told what happened (a reply, the tools' results); it
//! never does I/O, never touches Python and never sees the conversation's lock. The sync,
//! async and streaming drivers all run this one machine, so the tool loop exists once.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_bedrockruntime::types as t;

pub use super::outcome::{Change, Committed, TurnStats};
pub use super::request::{Action, RequestParts};
pub use super::setup::{estimate, Base, Setup};
use crate::errors::{ErrorInfo, TurnDetail};
use crate::history::for_history;
use crate::reply::{ReplyData, Tokens};
use crate::wire::server_tools::client_tool_uses;

#[derive(Debug)]
enum Phase {
    /// The next request is to be made.
    Request,
    /// A request is under way.
    Waiting,
    /// Tool calls wait for results; `given` holds those already known, in call order.
    Tools {
        calls: Vec<t::ToolUseBlock>,
        given: Vec<Option<t::ContentBlock>>,
    },
    /// The reply is complete: the turn may commit.
    Finished,
    /// Failed, or committed: nothing more happens.
    Ended,
}

/// One turn: the history it builds on (shared, not copied) and the messages it adds.
pub struct Machine {
    pub(super) setup: Arc<Setup>,
    pub(super) base: Base,
    model_id: String,
    choice: Option<t::ToolChoice>,
    pub(super) added: Vec<t::Message>,
    rounds: u32,
    usage: Tokens,
    last: Option<ReplyData>,
    phase: Phase,
    /// The memory policy has chosen where this turn's requests start.
    pub(super) memory_done: bool,
    /// A context overflow was recovered from (once per turn).
    pub(super) recovered: bool,
    /// A summary request is under way; it folds in the messages before this cut.
    pub(super) summarizing: Option<usize>,
    /// Where `Summarizing`'s summaries of this turn end (after an overflow, the deeper cut).
    pub(super) summary_target: Option<usize>,
    pub(super) stats: TurnStats,
    /// Blocks this turn's requests carry in its first message, never kept (turn-start hooks).
    context: Vec<t::ContentBlock>,
    /// What grounding gave the turn, for its reply.
    grounding: Option<Arc<crate::reply::Grounded>>,
    /// Where each answer that failed a native structured output's validation is in
    /// `added` (the user message with its errors follows it): dropped once one is valid.
    pub(super) output_retries: Vec<usize>,
}

/// The calls this side answers: a system tool's call came with its result (`server_tool_use`),
/// so a reply whose only tool uses are those is an answer.
fn tool_uses(message: &t::Message) -> Vec<t::ToolUseBlock> {
    client_tool_uses(message).cloned().collect()
}

fn result_id(block: &t::ContentBlock) -> Option<&str> {
    match block {
        t::ContentBlock::ToolResult(r) => Some(r.tool_use_id()),
        _ => None,
    }
}

fn user(content: Vec<t::ContentBlock>) -> t::Message {
    t::Message::builder()
        .role(t::ConversationRole::User)
        .set_content(Some(content))
        .build()
        .expect("role and content are set")
}

impl Machine {
    /// A turn that sends `message` (the user's) after `base`.
    pub fn new(
        setup: Arc<Setup>,
        base: Base,
        model_id: String,
        message: t::Message,
        choice: Option<t::ToolChoice>,
    ) -> Self {
        let mut machine = Self::empty(setup, base, model_id, choice);
        machine.added.push(message);
        machine
    }

    /// A turn that answers `calls` (the open tool uses ending `base`): `given` holds the
    /// caller's results by call; the others are run first.
    pub fn answering(
        setup: Arc<Setup>,
        base: Base,
        model_id: String,
        calls: Vec<t::ToolUseBlock>,
        given: Vec<Option<t::ContentBlock>>,
        choice: Option<t::ToolChoice>,
    ) -> Self {
        let mut machine = Self::empty(setup, base, model_id, choice);
        machine.phase = Phase::Tools { calls, given };
        machine.close_round();
        machine
    }

    fn empty(
        setup: Arc<Setup>,
        base: Base,
        model_id: String,
        choice: Option<t::ToolChoice>,
    ) -> Self {
        let choice = choice.or_else(|| setup.tool_choice.clone());
        Self {
            memory_done: setup.memory.is_none(),
            setup,
            base,
            model_id,
            choice,
            added: Vec::with_capacity(3),
            rounds: 0,
            usage: Tokens::default(),
            last: None,
            phase: Phase::Request,
            recovered: false,
            summarizing: None,
            summary_target: None,
            stats: TurnStats {
                started: Some(Instant::now()),
                ..TurnStats::default()
            },
            context: Vec::new(),
            grounding: None,
            output_retries: Vec::new(),
        }
    }

    /// Adds blocks that go to the model with this turn's requests but never into the history.
    pub fn set_grounding(&mut self, grounded: crate::reply::Grounded) {
        self.grounding = Some(Arc::new(grounded));
    }

    pub fn add_context(&mut self, blocks: Vec<t::ContentBlock>) {
        self.context.extend(blocks);
    }

    /// What to do next. A request is built here.
    pub fn next_action(&mut self) -> Result<Action, Box<ErrorInfo>> {
        match &self.phase {
            Phase::Request => {
                if !self.memory_done {
                    match self.plan() {
                        Some(Action::Summarize(parts)) => {
                            self.phase = Phase::Waiting;
                            return Ok(Action::Summarize(parts));
                        }
                        Some(action) => return Ok(action),
                        None => self.memory_done = true,
                    }
                }
                let parts = self.parts();
                self.phase = Phase::Waiting;
                Ok(Action::Request(Box::new(parts)))
            }
            Phase::Tools { calls, given } => Ok(Action::RunTools(
                calls
                    .iter()
                    .zip(given)
                    .filter(|(_, g)| g.is_none())
                    .map(|(c, _)| c.clone())
                    .collect(),
            )),
            Phase::Finished => Ok(Action::Done),
            Phase::Waiting => Err(Box::new(ErrorInfo::internal("a request is under way"))),
            Phase::Ended => Err(Box::new(ErrorInfo::internal("the turn has ended"))),
        }
    }

    /// Takes in the reply of the request under way.
    pub fn on_reply(&mut self, reply: ReplyData) -> Result<(), Box<ErrorInfo>> {
        if !matches!(self.phase, Phase::Waiting) {
            return Err(Box::new(ErrorInfo::internal("no request is under way")));
        }
        self.stats.add(&reply.model_id, reply.usage);
        if let Some(cut) = self.summarizing.take() {
            return self.on_summary(cut, reply);
        }
        self.usage = self.usage + reply.usage;
        let u = reply.usage;
        self.stats.prompt_tokens =
            Some((u.input + u.cache_read.unwrap_or(0) + u.cache_write.unwrap_or(0)).max(0) as u64);
        let calls = tool_uses(&reply.message);
        let answer = for_history(&reply.message);
        if calls.is_empty() && self.setup.output_tool.is_some() {
            return Err(Box::new(self.missing_output(reply)));
        }
        if calls.is_empty() {
            if reply.stop_reason == "guardrail_intervened" {
                self.redact_blocked_input(reply.trace.as_deref());
            }
            match answer {
                Some(message) => self.added.push(message),
                None if self.rounds > 0 => {
                    self.phase = Phase::Ended;
                    return Err(Box::new(self.failure(
                        "EmptyReplyError",
                        format!(
                            "the model's answer after {} round(s) of tool calls was blank (stop reason {:?}); nothing was added to the conversation",
                            self.rounds,
                            reply.stop_reason
                        ),
                        Some(reply),
                    )));
                }
                // Note: a blank answer with no tool round (a stop sequence hit at once) is
                // returned but not kept: a blank text block would fail every later request.
                None => self.added.clear(),
            }
            self.last = Some(reply);
            self.phase = Phase::Finished;
            return Ok(());
        }
        self.added
            .push(answer.expect("a message with tool uses is not blank"));
        // Calls of a declared tool without a function are the caller's to answer; a call of
        // an unknown tool is run all the same, and the model learns it has no such tool.
        let for_caller = self.setup.tools.is_none()
            || calls
                .iter()
                .any(|c| self.setup.for_caller.contains(c.name()));
        if for_caller {
            self.last = Some(reply);
            self.phase = Phase::Finished;
            return Ok(());
        }
        if self.rounds >= self.setup.max_rounds {
            self.phase = Phase::Ended;
            let text = format!(
                "the model still asked for tools after {} rounds of tool calls (max_tool_rounds={}); nothing was added to the conversation",
                self.rounds, self.setup.max_rounds
            );
            return Err(Box::new(self.failure(
                "ToolLoopLimitError",
                text,
                Some(reply),
            )));
        }
        self.rounds += 1;
        let given = vec![None; calls.len()];
        self.last = Some(reply);
        self.phase = Phase::Tools { calls, given };
        Ok(())
    }

    /// Takes in `toolResult` blocks for calls of the current round (in any order).
    pub fn add_results(&mut self, blocks: Vec<t::ContentBlock>) -> Result<(), String> {
        let Phase::Tools { calls, given } = &mut self.phase else {
            return Err("no tool calls wait for results".into());
        };
        for block in blocks {
            let Some(id) = result_id(&block) else {
                return Err("expected toolResult blocks".into());
            };
            let Some(at) = calls.iter().position(|c| c.tool_use_id() == id) else {
                return Err(format!("{id:?} is not a tool use of this round"));
            };
            if given[at].is_some() {
                return Err(format!("{id:?} has a result already"));
            }
            given[at] = Some(block);
        }
        self.close_round();
        Ok(())
    }

    /// Once every call has its result, they go to the model as one user message.
    fn close_round(&mut self) {
        if let Phase::Tools { given, .. } = &self.phase {
            if given.iter().all(Option::is_some) {
                let Phase::Tools { given, .. } = std::mem::replace(&mut self.phase, Phase::Request)
                else {
                    unreachable!()
                };
                self.added.push(user(given.into_iter().flatten().collect()));
            }
        }
    }

    /// Ends the turn: the messages it adds and its reply, with the tokens of all its
    /// requests.
    pub fn commit(&mut self) -> Result<Committed, Box<ErrorInfo>> {
        if !matches!(self.phase, Phase::Finished) {
            return Err(Box::new(ErrorInfo::internal("the turn has no reply yet")));
        }
        self.phase = Phase::Ended;
        // The snapshot goes first, so that the commit appends to the history in place.
        let base = std::mem::take(&mut self.base);
        let mut reply = self.last.take().expect("a finished turn has a reply");
        reply.usage = self.usage;
        reply.turn = Some(Arc::new(self.added.clone()));
        reply.grounding = self.grounding.take();
        let mut stats = std::mem::take(&mut self.stats);
        if self.added.is_empty() {
            // A blank answer is not kept, nor the message it answered: no exact figure.
            stats.prompt_tokens = None;
        }
        let elapsed = stats.started.map(|s| s.elapsed()).unwrap_or_default();
        Ok(Committed {
            change: Change {
                tokens: self.added.iter().map(estimate).collect(),
                added: std::mem::take(&mut self.added),
                start: base.start,
                summary: base.summary,
                usage: reply.usage + stats.summary_usage,
                stats,
                elapsed,
            },
            reply,
        })
    }

    /// Ends the turn unless it committed already (nothing is kept). The snapshot goes at
    /// once: a failed turn kept alive (by a traceback) must not make the next commit copy
    /// the history.
    pub fn abandon(&mut self) {
        self.phase = Phase::Ended;
        self.base = Base::default();
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended)
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    pub fn usage(&self) -> Tokens {
        self.usage
    }

    /// The messages the turn added so far.
    pub fn added(&self) -> &[t::Message] {
        &self.added
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The first content of a streamed turn arrived now.
    pub fn first_token(&mut self) {
        if self.stats.first_token.is_none() {
            self.stats.first_token = self.stats.started.map(|s| s.elapsed());
        }
    }

    pub(super) fn set_phase_request(&mut self) {
        self.phase = Phase::Request;
    }

    pub(super) fn end(&mut self) {
        self.phase = Phase::Ended;
    }

    pub(super) fn is_waiting(&self) -> bool {
        matches!(self.phase, Phase::Waiting)
    }

    fn failure(&self, class: &'static str, text: String, reply: Option<ReplyData>) -> ErrorInfo {
        ErrorInfo::new(class, text).with_detail(TurnDetail {
            rounds: self.rounds,
            messages: self.added.clone(),
            usage: self.usage,
            reply,
        })
    }
}

#[path = "machine_request.rs"]
mod request_parts;

#[path = "machine_output.rs"]
mod output;
pub use output::REDACTED_INPUT;

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
