//! What ends a turn other than a plain answer: a structured output's valid call, a reply
//! that should have been one, and a guardrail that stopped the turn.

use aws_sdk_bedrockruntime::types as t;

use super::{Machine, Phase};
use crate::errors::ErrorInfo;
use crate::reply::ReplyData;

/// What the history keeps of a user message a guardrail blocked.
pub const REDACTED_INPUT: &str = "[This message was blocked by a guardrail and is not kept.]";

impl Machine {
    /// A guardrail that blocked the user's message would block every later request that
    /// sends it again: the history keeps a placeholder instead (the guardrail's answer
    /// stays). Only a turn's own user text is replaced: tool results must keep answering
    /// their tool uses. Without a trace, the input is taken as blocked.
    pub(super) fn redact_blocked_input(&mut self, trace: Option<&serde_json::Value>) {
        if trace.is_some_and(|t| !crate::wire::trace::input_blocked(t)) {
            return;
        }
        let [user] = self.added.as_mut_slice() else {
            return;
        };
        if user
            .content()
            .iter()
            .any(|b| matches!(b, t::ContentBlock::ToolResult(_)))
        {
            return;
        }
        *user = t::Message::builder()
            .role(t::ConversationRole::User)
            .content(t::ContentBlock::Text(REDACTED_INPUT.into()))
            .build()
            .expect("role and content are set");
    }

    /// Ends the turn with a structured output: the call of the output tool (validated by
    /// the caller) becomes the answer, as `text` (its JSON). The history keeps the user's
    /// message and that answer only: the tool uses of attempts that failed validation (and
    /// their error results) would make every later request need the output tool.
    pub fn finish_output(
        &mut self,
        text: String,
        value: Option<std::sync::Arc<pyo3::Py<pyo3::PyAny>>>,
    ) -> Result<(), String> {
        if self.setup.output_format.is_some() {
            return self.finish_native_output(value);
        }
        let Some(name) = &self.setup.output_tool else {
            return Err("this turn asks for no structured output".into());
        };
        let Phase::Tools { calls, .. } = &self.phase else {
            return Err("no tool call waits".into());
        };
        if !calls.iter().any(|c| c.name() == name) {
            return Err(format!("no call of {name:?} waits"));
        }
        let answer = t::Message::builder()
            .role(t::ConversationRole::Assistant)
            .content(t::ContentBlock::Text(text))
            .build()
            .expect("role and content are set");
        self.added.truncate(1);
        self.added.push(answer.clone());
        if let Some(last) = &mut self.last {
            // (the reasoning that led to the call stays on the reply, not in the history)
            let mut content: Vec<t::ContentBlock> = last
                .message
                .content()
                .iter()
                .filter(|b| matches!(b, t::ContentBlock::ReasoningContent(_)))
                .cloned()
                .collect();
            content.extend(answer.content().iter().cloned());
            last.message = t::Message::builder()
                .role(t::ConversationRole::Assistant)
                .set_content(Some(content))
                .build()
                .expect("role and content are set");
            // The turn ended with its answer, not with a tool call to run.
            last.stop_reason = "end_turn".into();
            // (on the reply the commit keeps too: `conv.last_reply.output`)
            last.output = value;
        }
        self.phase = Phase::Finished;
        Ok(())
    }

    /// A native structured output's answer was valid: the turn ends with it, as the model
    /// wrote it. The answers that were not, and the messages that told the model why, go.
    fn finish_native_output(
        &mut self,
        value: Option<std::sync::Arc<pyo3::Py<pyo3::PyAny>>>,
    ) -> Result<(), String> {
        if !matches!(self.phase, Phase::Finished) {
            return Err("the turn has no answer yet".into());
        }
        for at in std::mem::take(&mut self.output_retries).into_iter().rev() {
            self.added.drain(at..at + 2);
        }
        if let Some(last) = &mut self.last {
            last.output = value;
        }
        Ok(())
    }

    /// A native structured output's answer did not validate: it stays in the turn for now,
    /// followed by a user message with `errors`, and the turn asks again.
    pub fn retry_output(&mut self, errors: String) -> Result<(), String> {
        if self.setup.output_format.is_none() {
            return Err("this turn asks for no native structured output".into());
        }
        if !matches!(self.phase, Phase::Finished) {
            return Err("the turn has no answer yet".into());
        }
        let answered = self
            .added
            .last()
            .is_some_and(|m| m.role() == &t::ConversationRole::Assistant);
        if !answered {
            return Err("the model's answer was blank".into());
        }
        self.output_retries.push(self.added.len() - 1);
        self.added.push(
            t::Message::builder()
                .role(t::ConversationRole::User)
                .content(t::ContentBlock::Text(errors))
                .build()
                .expect("role and content are set"),
        );
        self.set_phase_request();
        Ok(())
    }

    /// A structured output turn whose reply calls no tool (text, or a guardrail's answer):
    /// the output never came, and the turn fails rather than keep an answer of the wrong
    /// kind (after a failed attempt, its tool use and error result would stay too).
    pub(super) fn missing_output(&mut self, reply: ReplyData) -> ErrorInfo {
        let name = self.setup.output_tool.clone().unwrap_or_default();
        self.phase = Phase::Ended;
        let text = format!(
            "the model answered without calling {name} (stop reason {:?}); nothing was added to the conversation",
            reply.stop_reason
        );
        self.failure("StructuredOutputError", text, Some(reply))
    }
}
