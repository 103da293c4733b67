//! The size of a conversation's next prompt: the estimate, and Bedrock's CountTokens with
//! the estimate as its fallback where a model cannot count.

use std::future::Future;

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;

use crate::context::estimate::system_tokens;
use crate::context::summary;
use crate::errors::{self, ErrorInfo};
use crate::turn::io::Backend;
use crate::turn::machine::{Base, Setup};

pub fn summary_tokens(history: &Base) -> u64 {
    history
        .summary
        .as_deref()
        .map_or(0, |s| system_tokens(&[summary::system_block(s)]))
}

/// The estimate of the next request's prompt (without a new message).
pub fn estimate(setup: &Setup, history: &Base) -> u64 {
    let messages: u64 = history.tokens[history.start..]
        .iter()
        .map(|&n| u64::from(n))
        .sum();
    setup.fixed_tokens + summary_tokens(history) + messages
}

/// How many tokens a prompt has, and whether the figure is Bedrock's own.
#[pyclass(
    name = "TokenCount",
    module = "fastconverse._core",
    frozen,
    get_all,
    skip_from_py_object
)]
#[derive(Debug, Clone)]
pub struct PyTokenCount {
    pub tokens: u64,
    /// True when CountTokens counted; False for fastconverse's estimate.
    pub exact: bool,
    /// Why the figure is an estimate (None when exact).
    pub note: Option<String>,
}

#[pymethods]
impl PyTokenCount {
    fn __int__(&self) -> u64 {
        self.tokens
    }

    fn __repr__(&self) -> String {
        match &self.note {
            None => format!("TokenCount(tokens={}, exact=True)", self.tokens),
            Some(note) => format!(
                "TokenCount(tokens={}, exact=False, note={})",
                self.tokens,
                crate::wire::pyobj::py_repr(note)
            ),
        }
    }
}

impl PyTokenCount {
    pub fn estimate(tokens: u64, note: impl Into<String>) -> Self {
        Self {
            tokens,
            exact: false,
            note: Some(note.into()),
        }
    }
}

/// What the next request sends, for CountTokens (None when there is no message yet).
pub fn count_input(setup: &Setup, history: &Base) -> Option<t::CountTokensInput> {
    let messages = history.messages[history.start..].to_vec();
    if messages.is_empty() {
        return None;
    }
    let mut system = setup.system.clone();
    if let Some(text) = &history.summary {
        system.push(summary::system_block(text));
    }
    let tool_config = setup.tools.as_ref().map(|tools| {
        t::ToolConfiguration::builder()
            .set_tools(Some(tools.clone()))
            .build()
            .expect("tools are set")
    });
    Some(t::CountTokensInput::Converse(
        t::ConverseTokensRequest::builder()
            .set_messages(Some(messages))
            .set_system((!system.is_empty()).then_some(system))
            .set_tool_config(tool_config)
            .set_additional_model_request_fields(setup.fields.clone())
            .build(),
    ))
}

/// Asks CountTokens; a model that cannot count gives the estimate instead, saying so.
pub fn count(
    backend: &Backend,
    model_id: String,
    input: t::CountTokensInput,
    estimate: u64,
) -> impl Future<Output = Result<PyTokenCount, ErrorInfo>> + Send + 'static {
    let fluent = backend
        .sdk
        .count_tokens()
        .model_id(model_id.clone())
        .input(input);
    async move {
        match fluent.send().await {
            Ok(out) => Ok(PyTokenCount {
                tokens: out.input_tokens().max(0) as u64,
                exact: true,
                note: None,
            }),
            Err(e) => {
                let info = errors::from_sdk(&e)
                    .with_model(Some(&model_id))
                    .with_operation("CountTokens");
                if info.class == "ValidationError" && info.message.contains("support") {
                    Ok(PyTokenCount::estimate(
                        estimate,
                        format!(
                            "an estimate: {model_id} cannot count tokens ({})",
                            info.message
                        ),
                    ))
                } else {
                    Err(info)
                }
            }
        }
    }
}

impl super::PyConversationCore {
    /// The CountTokens call of `count_tokens`, or the estimate when there is nothing to send.
    pub(super) fn count_future(
        &self,
    ) -> Result<
        impl std::future::Future<Output = Result<PyTokenCount, ErrorInfo>> + Send + 'static,
        PyTokenCount,
    > {
        let (history, model_id) = {
            let state = super::lock(&self.state);
            (state.history.clone(), state.model_id.clone())
        };
        let estimate = estimate(&self.setup(), &history);
        match count_input(&self.setup(), &history) {
            None => Err(PyTokenCount::estimate(
                estimate,
                "an estimate: the conversation has no messages yet",
            )),
            Some(input) => Ok(count(&self.backend, model_id, input, estimate)),
        }
    }
}
