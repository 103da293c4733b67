//! `Reply`: a finished turn, kept as SDK types and turned into Python objects only when an
//! attribute is read (its `Usage` is `usage.rs`'s).

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::wire::document::document_to_py;
use crate::wire::pyobj::py_repr;
use crate::wire::response::{self, dict1};

pub use crate::wire::tokens::Tokens;

pub use crate::usage::PyUsage;

/// Everything a finished turn gave back.
#[derive(Clone, Debug)]
pub struct ReplyData {
    pub message: t::Message,
    pub stop_reason: String,
    pub usage: Tokens,
    pub latency_ms: Option<i64>,
    pub request_id: Option<String>,
    pub model_id: String,
    pub fields: Option<Document>,
    /// The messages the whole turn added (set at commit): the user's, tool uses, tool
    /// results and the answer.
    pub turn: Option<std::sync::Arc<Vec<t::Message>>>,
    /// A structured output's validated value (set by the Python driver after the turn).
    pub output: Option<std::sync::Arc<Py<PyAny>>>,
    /// The response's `trace` (guardrail assessments), boto3-shaped JSON.
    pub trace: Option<std::sync::Arc<serde_json::Value>>,
    /// The retries the request took, inside the SDK and (streams) restarts of the stream.
    pub retries: Vec<crate::exchange::Retry>,
    /// The passages a grounding retriever gave the turn (set by the Python driver).
    pub grounding: Option<std::sync::Arc<Grounded>>,
    /// The service tier and latency setting the response says served it.
    pub served: crate::wire::serving::Served,
}

/// What grounding gave a turn: the sources (a Python list) and why it failed, if it did.
#[derive(Debug)]
pub struct Grounded {
    pub sources: Py<PyAny>,
    pub error: Option<String>,
}

impl ReplyData {
    /// The text blocks joined, with the text of cited blocks (`citationsContent`) where
    /// they stand, so that a cited answer reads as the model wrote it.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for block in self.message.content() {
            match block {
                t::ContentBlock::Text(s) => text.push_str(s),
                t::ContentBlock::CitationsContent(c) => {
                    text.push_str(&crate::citation::generated_text(c))
                }
                _ => {}
            }
        }
        text
    }
}

/// The assistant's answer to one turn. `str(reply)` is its text.
#[pyclass(name = "Reply", module = "fastconverse._core", frozen)]
pub struct PyReply(pub ReplyData);

#[pymethods]
impl PyReply {
    /// The reply's text blocks, joined (cited text included).
    #[getter]
    fn text(&self) -> String {
        self.0.text()
    }

    /// The citations of the reply's `citationsContent` blocks, in order (`Citation`
    /// objects); empty when the model cited nothing.
    #[getter]
    fn citations(&self) -> Vec<crate::citation::PyCitation> {
        crate::citation::of_message(&self.0.message)
    }

    /// The assistant message, boto3-shaped: `{"role": "assistant", "content": [...]}`.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::message(py, &self.0.message)
    }

    /// The message's content blocks, boto3-shaped.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for block in self.0.message.content() {
            list.append(response::content_block(py, block)?)?;
        }
        Ok(list)
    }

    /// Every `toolUse` block of the turn, in order, across its tool rounds:
    /// `[{"toolUseId": ..., "name": ..., "input": {...}}]` (a system tool's call adds
    /// `"type": "server_tool_use"`).
    #[getter]
    fn tool_uses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.blocks(py, Some(t::ConversationRole::Assistant), "toolUse")
    }

    /// Every `toolResult` block of the turn, in order: what the tools (or the caller, with
    /// `send_tool_results`) answered, and what the service's system tools answered (those
    /// are in the model's own messages).
    #[getter]
    fn tool_results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.blocks(py, None, "toolResult")
    }

    /// The tool uses this reply leaves for the caller to answer (with
    /// `Conversation.send_tool_results`): those of a reply that stopped for tools without a
    /// function. Empty when the reply is an answer.
    #[getter]
    fn tool_calls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let sink = crate::wire::pyobj::PySink(py);
        for call in crate::wire::server_tools::client_tool_uses(&self.0.message) {
            list.append(crate::wire::content_out::tool_use(&sink, call)?)?;
        }
        Ok(list)
    }

    /// The messages the turn added to the history, as boto3 message dicts (empty when the
    /// reply was blank and nothing was kept).
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        response::message_list(py, self.0.turn.as_deref().map_or(&[], |v| v.as_slice()))
    }

    /// The reasoning text, when the model reasoned aloud; else None.
    #[getter]
    fn reasoning(&self) -> Option<String> {
        let mut text: Option<String> = None;
        for block in self.0.message.content() {
            if let t::ContentBlock::ReasoningContent(t::ReasoningContentBlock::ReasoningText(r)) =
                block
            {
                text.get_or_insert_with(String::new).push_str(r.text());
            }
        }
        text
    }

    /// The validated value of a structured output (`send(..., output=Model)`); else None.
    #[getter]
    fn output(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.0.output.as_ref().map(|o| o.clone_ref(py))
    }

    /// The passages the conversation's grounding gave this turn (`Source` objects).
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match &self.0.grounding {
            Some(g) => g.sources.bind(py).clone(),
            None => PyList::empty(py).into_any(),
        }
    }

    /// The service tier that served the reply (`"priority"`, `"default"`, `"flex"`, ...), as
    /// the response says; None when it said nothing.
    #[getter]
    fn service_tier(&self) -> Option<String> {
        self.0.served.tier.clone()
    }

    /// The response's `performanceConfig` (`{"latency": "optimized"}`), or None.
    #[getter]
    fn performance_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.0
            .served
            .latency
            .as_ref()
            .map(|l| dict1(py, "latency", l))
            .transpose()
    }

    /// Why grounding gave this turn no passages, when it failed (the turn went on).
    #[getter]
    fn grounding_error(&self) -> Option<String> {
        self.0.grounding.as_ref().and_then(|g| g.error.clone())
    }

    /// The response's `trace` as boto3 gives it (`{"guardrail": {...}}` when the guardrail
    /// configuration enables `trace`); else None.
    #[getter]
    fn trace<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0
            .trace
            .as_deref()
            .map(|t| crate::wire::json::to_py(py, t))
            .transpose()
    }

    /// This reply carrying `output` (Reply is frozen: the structured-output driver makes a
    /// new one once the value is validated).
    fn _with_output(&self, output: Py<PyAny>) -> Self {
        let mut data = self.0.clone();
        data.output = Some(std::sync::Arc::new(output));
        PyReply(data)
    }

    #[getter]
    fn stop_reason(&self) -> &str {
        &self.0.stop_reason
    }

    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(self.0.usage)
    }

    /// boto3's `metrics` dict: `{"latencyMs": ...}` (empty when the service sent none).
    #[getter]
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::metrics(py, self.0.latency_ms)
    }

    #[getter]
    fn latency_ms(&self) -> Option<i64> {
        self.0.latency_ms
    }

    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    #[getter]
    fn model_id(&self) -> &str {
        &self.0.model_id
    }

    #[getter]
    fn additional_model_response_fields<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0
            .fields
            .as_ref()
            .map(|f| document_to_py(py, f))
            .transpose()
    }

    /// The reply as boto3's `converse` result (without `ResponseMetadata`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = dict1(
            py,
            "output",
            dict1(py, "message", response::message(py, &self.0.message)?)?,
        )?;
        d.set_item("stopReason", &self.0.stop_reason)?;
        d.set_item("usage", PyUsage(self.0.usage).to_dict(py)?)?;
        d.set_item("metrics", self.metrics(py)?)?;
        if let Some(fields) = self.additional_model_response_fields(py)? {
            d.set_item("additionalModelResponseFields", fields)?;
        }
        if let Some(trace) = self.trace(py)? {
            d.set_item("trace", trace)?;
        }
        self.0.served.put(&d)?;
        Ok(d)
    }

    fn __str__(&self) -> String {
        self.0.text()
    }

    fn __repr__(&self) -> String {
        let text = self.0.text();
        let shown: String = text.chars().take(60).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        format!(
            "Reply(text={}{more}, stop_reason={}, usage={})",
            py_repr(&shown),
            py_repr(&self.0.stop_reason),
            PyUsage(self.0.usage).__repr__()
        )
    }
}

impl PyReply {
    /// The `key` blocks of the turn's messages of `role` (of the reply alone before commit).
    fn blocks<'py>(
        &self,
        py: Python<'py>,
        role: Option<t::ConversationRole>,
        key: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let single = [self.0.message.clone()];
        let messages = self.0.turn.as_deref().map_or(&single[..], |v| v.as_slice());
        for m in messages
            .iter()
            .filter(|m| role.as_ref().is_none_or(|r| m.role() == r))
        {
            for block in m.content() {
                let d = response::content_block(py, block)?;
                if let Some(inner) = d.get_item(key)? {
                    list.append(inner)?;
                }
            }
        }
        Ok(list)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyUsage>()?;
    m.add_class::<crate::citation::PyCitation>()?;
    m.add_class::<PyReply>()
}
