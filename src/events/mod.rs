//! The typed events of `Conversation.stream`: each stream event becomes a Python object once,
//! on the reader's thread (the finished message is built beside them, in `assembler`).

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

mod citation;
mod image;
mod resumed;
mod tool_result;

pub use citation::PyCitationDelta;
pub use image::{PyImageDelta, PyImageStart};
pub use resumed::PyResumed;
pub use tool_result::{PyToolResultDelta, PyToolResultStart};

use crate::reply::{PyUsage, Tokens};
use crate::wire::document::document_to_py;
use crate::wire::pyobj::py_repr;
use crate::wire::response;

/// The assistant's message begins.
#[pyclass(name = "MessageStart", module = "fastconverse._core", frozen)]
pub struct PyMessageStart {
    #[pyo3(get)]
    role: String,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyMessageStart {
    /// The boto3 event dict.
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!("MessageStart(role={})", py_repr(&self.role))
    }
}

/// A piece of text of content block `index`.
#[pyclass(name = "TextDelta", module = "fastconverse._core", frozen)]
pub struct PyTextDelta {
    // Note: a Python `str` made once, read by the interpreter as a struct member (no getter
    // call per `.text`); events are read in hot loops.
    #[pyo3(get)]
    text: Py<PyString>,
    #[pyo3(get)]
    index: i32,
}

/// A `TextDelta` for the reader.
pub fn text_delta(py: Python<'_>, index: i32, text: &str) -> PyResult<Py<PyAny>> {
    let text = PyString::new(py, text).unbind();
    Ok(Py::new(py, PyTextDelta { text, index })?.into_any())
}

/// A `TextDelta` made in Python: a structured output's tool input, streamed as the text it
/// is (`fastconverse.stream`).
#[pyfunction]
pub fn _text_delta(py: Python<'_>, index: i32, text: &str) -> PyResult<Py<PyAny>> {
    text_delta(py, index, text)
}

#[pymethods]
impl PyTextDelta {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::text_delta_event(py, self.index, &self.text.bind(py).to_cow()?)
    }
    fn __str__(&self, py: Python<'_>) -> Py<PyString> {
        self.text.clone_ref(py)
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TextDelta(text={}, index={})",
            py_repr(&self.text.bind(py).to_cow()?),
            self.index
        ))
    }
}

/// The model starts calling a tool (its input follows as `ToolUseDelta`s); `type` is
/// `server_tool_use` for a system tool's call, which the service runs itself.
#[pyclass(name = "ToolUseStart", module = "fastconverse._core", frozen)]
pub struct PyToolUseStart {
    #[pyo3(get)]
    tool_use_id: String,
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    index: i32,
    #[pyo3(get, name = "type")]
    kind: Option<String>,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyToolUseStart {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        let kind = match &self.kind {
            Some(kind) => format!(", type={}", py_repr(kind)),
            None => String::new(),
        };
        format!(
            "ToolUseStart(name={}, tool_use_id={}, index={}{kind})",
            py_repr(&self.name),
            py_repr(&self.tool_use_id),
            self.index
        )
    }
}

/// A piece of a tool's input: a fragment of JSON text (the whole is valid JSON).
#[pyclass(name = "ToolUseDelta", module = "fastconverse._core", frozen)]
pub struct PyToolUseDelta {
    #[pyo3(get)]
    input: String,
    #[pyo3(get)]
    index: i32,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyToolUseDelta {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolUseDelta(input={}, index={})",
            py_repr(&self.input),
            self.index
        )
    }
}

/// A piece of the model's reasoning: text, or its signature, or redacted content.
#[pyclass(name = "ReasoningDelta", module = "fastconverse._core", frozen)]
pub struct PyReasoningDelta {
    #[pyo3(get)]
    text: String,
    #[pyo3(get)]
    signature: Option<String>,
    redacted: Option<Vec<u8>>,
    #[pyo3(get)]
    index: i32,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyReasoningDelta {
    #[getter]
    fn redacted_content<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.redacted.as_deref().map(|b| PyBytes::new(py, b))
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        match (&self.signature, &self.redacted) {
            (Some(sig), _) => format!(
                "ReasoningDelta(signature={}, index={})",
                py_repr(sig),
                self.index
            ),
            (_, Some(b)) => format!(
                "ReasoningDelta(redacted_content=<{} bytes>, index={})",
                b.len(),
                self.index
            ),
            _ => format!(
                "ReasoningDelta(text={}, index={})",
                py_repr(&self.text),
                self.index
            ),
        }
    }
}

/// Content block `index` is complete.
#[pyclass(name = "ContentBlockStop", module = "fastconverse._core", frozen)]
pub struct PyContentBlockStop {
    #[pyo3(get)]
    index: i32,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyContentBlockStop {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!("ContentBlockStop(index={})", self.index)
    }
}

/// The message is complete; `stop_reason` says why it ended.
#[pyclass(name = "MessageStop", module = "fastconverse._core", frozen)]
pub struct PyMessageStop {
    #[pyo3(get)]
    stop_reason: String,
    fields: Option<Document>,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyMessageStop {
    #[getter]
    fn additional_model_response_fields<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.fields
            .as_ref()
            .map(|f| document_to_py(py, f))
            .transpose()
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!("MessageStop(stop_reason={})", py_repr(&self.stop_reason))
    }
}

/// The last event: token usage and latency of the turn.
#[pyclass(name = "Metadata", module = "fastconverse._core", frozen)]
pub struct PyMetadata {
    usage: Tokens,
    #[pyo3(get)]
    latency_ms: Option<i64>,
    /// The SDK's event: `to_dict` is the boto3 stream's own event for it.
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyMetadata {
    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(self.usage)
    }
    /// The guardrail's trace (boto3's shape) when the request enabled it, else None.
    #[getter]
    fn trace<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let t::ConverseStreamOutput::Metadata(e) = &*self.raw else {
            return Ok(None);
        };
        e.trace()
            .and_then(|t| crate::wire::trace::trace(t.guardrail(), t.prompt_router()))
            .map(|trace| crate::wire::json::to_py(py, &trace))
            .transpose()
    }
    /// The service tier that served the stream, as its metadata says (None: not said).
    #[getter]
    fn service_tier(&self) -> Option<String> {
        let t::ConverseStreamOutput::Metadata(e) = &*self.raw else {
            return None;
        };
        e.service_tier().map(|t| t.r#type().as_str().to_owned())
    }
    #[getter]
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(ms) = self.latency_ms {
            d.set_item("latencyMs", ms)?;
        }
        Ok(d)
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "Metadata(usage={}, latency_ms={})",
            PyUsage(self.usage).__repr__(),
            self.latency_ms
                .map_or_else(|| "None".to_owned(), |ms| ms.to_string())
        )
    }
}

/// Whether `to_py` gives an event for this one (else the reader never sees it).
pub fn shown(event: &t::ConverseStreamOutput) -> bool {
    use t::ConverseStreamOutput as E;
    match event {
        E::MessageStart(_) | E::ContentBlockStop(_) | E::MessageStop(_) | E::Metadata(_) => true,
        E::ContentBlockStart(e) => matches!(
            e.start(),
            Some(t::ContentBlockStart::ToolUse(_))
                | Some(t::ContentBlockStart::Image(_))
                | Some(t::ContentBlockStart::ToolResult(_))
        ),
        E::ContentBlockDelta(e) => match e.delta() {
            Some(t::ContentBlockDelta::Text(_))
            | Some(t::ContentBlockDelta::ToolUse(_))
            | Some(t::ContentBlockDelta::Image(_))
            | Some(t::ContentBlockDelta::ToolResult(_))
            | Some(t::ContentBlockDelta::Citation(_)) => true,
            Some(t::ContentBlockDelta::ReasoningContent(r)) => matches!(
                r,
                t::ReasoningContentBlockDelta::Text(_)
                    | t::ReasoningContentBlockDelta::Signature(_)
                    | t::ReasoningContentBlockDelta::RedactedContent(_)
            ),
            _ => false,
        },
        _ => false,
    }
}

/// The Python event for one SDK event; None for kinds this version does not know.
pub fn to_py(py: Python<'_>, event: t::ConverseStreamOutput) -> PyResult<Option<Py<PyAny>>> {
    use t::ConverseStreamOutput as E;
    let raw = Box::new(event.clone());
    Ok(Some(match event {
        E::MessageStart(e) => Py::new(
            py,
            PyMessageStart {
                raw,
                role: e.role().as_str().to_owned(),
            },
        )?
        .into_any(),
        E::ContentBlockStart(e) => match e.start {
            Some(t::ContentBlockStart::ToolUse(u)) => Py::new(
                py,
                PyToolUseStart {
                    raw,
                    tool_use_id: u.tool_use_id,
                    name: u.name,
                    index: e.content_block_index,
                    kind: u.r#type.map(|k| k.as_str().to_owned()),
                },
            )?
            .into_any(),
            Some(t::ContentBlockStart::Image(i)) => {
                image::image_start(py, raw, e.content_block_index, &i)?
            }
            Some(t::ContentBlockStart::ToolResult(r)) => {
                tool_result::tool_result_start(py, raw, e.content_block_index, r)?
            }
            _ => return Ok(None),
        },
        E::ContentBlockDelta(e) => {
            let index = e.content_block_index;
            match e.delta {
                Some(t::ContentBlockDelta::Text(text)) => text_delta(py, index, &text)?,
                Some(t::ContentBlockDelta::ToolUse(u)) => Py::new(
                    py,
                    PyToolUseDelta {
                        raw,
                        input: u.input,
                        index,
                    },
                )?
                .into_any(),
                Some(t::ContentBlockDelta::ReasoningContent(r)) => {
                    let mut ev = PyReasoningDelta {
                        raw,
                        text: String::new(),
                        signature: None,
                        redacted: None,
                        index,
                    };
                    match r {
                        t::ReasoningContentBlockDelta::Text(s) => ev.text = s,
                        t::ReasoningContentBlockDelta::Signature(s) => ev.signature = Some(s),
                        t::ReasoningContentBlockDelta::RedactedContent(b) => {
                            ev.redacted = Some(b.into_inner())
                        }
                        _ => return Ok(None),
                    }
                    Py::new(py, ev)?.into_any()
                }
                Some(t::ContentBlockDelta::Image(i)) => image::image_delta(py, raw, index, i)?,
                Some(t::ContentBlockDelta::ToolResult(_)) => {
                    tool_result::tool_result_delta(py, raw, index)?
                }
                Some(t::ContentBlockDelta::Citation(c)) => {
                    citation::citation_delta(py, raw, index, &c)?
                }
                _ => return Ok(None),
            }
        }
        E::ContentBlockStop(e) => Py::new(
            py,
            PyContentBlockStop {
                raw,
                index: e.content_block_index,
            },
        )?
        .into_any(),
        E::MessageStop(e) => Py::new(
            py,
            PyMessageStop {
                raw,
                stop_reason: e.stop_reason.as_str().to_owned(),
                fields: e.additional_model_response_fields,
            },
        )?
        .into_any(),
        E::Metadata(e) => Py::new(
            py,
            PyMetadata {
                raw,
                usage: Tokens::from_sdk(e.usage()),
                latency_ms: e.metrics().map(|m| m.latency_ms()),
            },
        )?
        .into_any(),
        _ => return Ok(None),
    }))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMessageStart>()?;
    m.add_class::<PyTextDelta>()?;
    m.add_class::<PyToolUseStart>()?;
    m.add_class::<PyToolUseDelta>()?;
    m.add_class::<PyReasoningDelta>()?;
    m.add_class::<PyImageStart>()?;
    m.add_class::<PyImageDelta>()?;
    m.add_class::<PyToolResultStart>()?;
    m.add_class::<PyToolResultDelta>()?;
    m.add_class::<PyCitationDelta>()?;
    m.add_class::<PyContentBlockStop>()?;
    m.add_class::<PyMessageStop>()?;
    m.add_class::<PyMetadata>()?;
    m.add_class::<PyResumed>()
}
