//! The typed events of `Conversation.stream`: each stream event becomes a Python object once,
//! on the reader's thread (the finished message is built beside them, in `assembler`).

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::reply::{PyUsage, Tokens};
use crate::wire::document::document_to_py;
use crate::wire::pyobj::py_repr;
use crate::wire::response::dict1;

fn block_event<'py>(
    py: Python<'py>,
    name: &str,
    index: i32,
    key: &str,
    value: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = dict1(py, "contentBlockIndex", index)?;
    d.set_item(key, value)?;
    dict1(py, name, d)
}

/// The assistant's message begins.
#[pyclass(name = "MessageStart", module = "fastconverse._core", frozen)]
pub struct PyMessageStart {
    #[pyo3(get)]
    role: String,
}

#[pymethods]
impl PyMessageStart {
    /// The boto3 event dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict1(py, "messageStart", dict1(py, "role", &self.role)?)
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

#[pymethods]
impl PyTextDelta {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let delta = dict1(py, "text", self.text.bind(py))?;
        block_event(py, "contentBlockDelta", self.index, "delta", delta)
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

/// The model starts calling a tool (its input follows as `ToolUseDelta`s).
#[pyclass(name = "ToolUseStart", module = "fastconverse._core", frozen)]
pub struct PyToolUseStart {
    #[pyo3(get)]
    tool_use_id: String,
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    index: i32,
}

#[pymethods]
impl PyToolUseStart {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let tu = dict1(py, "toolUseId", &self.tool_use_id)?;
        tu.set_item("name", &self.name)?;
        block_event(
            py,
            "contentBlockStart",
            self.index,
            "start",
            dict1(py, "toolUse", tu)?,
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolUseStart(name={}, tool_use_id={}, index={})",
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
}

#[pymethods]
impl PyToolUseDelta {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let delta = dict1(py, "toolUse", dict1(py, "input", &self.input)?)?;
        block_event(py, "contentBlockDelta", self.index, "delta", delta)
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
}

#[pymethods]
impl PyReasoningDelta {
    #[getter]
    fn redacted_content<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.redacted.as_deref().map(|b| PyBytes::new(py, b))
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = if let Some(sig) = &self.signature {
            dict1(py, "signature", sig)?
        } else if let Some(b) = &self.redacted {
            dict1(py, "redactedContent", PyBytes::new(py, b))?
        } else {
            dict1(py, "text", &self.text)?
        };
        let delta = dict1(py, "reasoningContent", inner)?;
        block_event(py, "contentBlockDelta", self.index, "delta", delta)
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
}

#[pymethods]
impl PyContentBlockStop {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict1(
            py,
            "contentBlockStop",
            dict1(py, "contentBlockIndex", self.index)?,
        )
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
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = dict1(py, "stopReason", &self.stop_reason)?;
        if let Some(fields) = self.additional_model_response_fields(py)? {
            d.set_item("additionalModelResponseFields", fields)?;
        }
        dict1(py, "messageStop", d)
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
}

#[pymethods]
impl PyMetadata {
    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(self.usage)
    }
    #[getter]
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(ms) = self.latency_ms {
            d.set_item("latencyMs", ms)?;
        }
        Ok(d)
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = dict1(py, "usage", PyUsage(self.usage).to_dict(py)?)?;
        d.set_item("metrics", self.metrics(py)?)?;
        dict1(py, "metadata", d)
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
        E::ContentBlockStart(e) => matches!(e.start(), Some(t::ContentBlockStart::ToolUse(_))),
        E::ContentBlockDelta(e) => match e.delta() {
            Some(t::ContentBlockDelta::Text(_)) | Some(t::ContentBlockDelta::ToolUse(_)) => true,
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
    Ok(Some(match event {
        E::MessageStart(e) => Py::new(
            py,
            PyMessageStart {
                role: e.role().as_str().to_owned(),
            },
        )?
        .into_any(),
        E::ContentBlockStart(e) => match e.start {
            Some(t::ContentBlockStart::ToolUse(u)) => Py::new(
                py,
                PyToolUseStart {
                    tool_use_id: u.tool_use_id,
                    name: u.name,
                    index: e.content_block_index,
                },
            )?
            .into_any(),
            _ => return Ok(None),
        },
        E::ContentBlockDelta(e) => {
            let index = e.content_block_index;
            match e.delta {
                Some(t::ContentBlockDelta::Text(text)) => text_delta(py, index, &text)?,
                Some(t::ContentBlockDelta::ToolUse(u)) => Py::new(
                    py,
                    PyToolUseDelta {
                        input: u.input,
                        index,
                    },
                )?
                .into_any(),
                Some(t::ContentBlockDelta::ReasoningContent(r)) => {
                    let mut ev = PyReasoningDelta {
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
                _ => return Ok(None),
            }
        }
        E::ContentBlockStop(e) => Py::new(
            py,
            PyContentBlockStop {
                index: e.content_block_index,
            },
        )?
        .into_any(),
        E::MessageStop(e) => Py::new(
            py,
            PyMessageStop {
                stop_reason: e.stop_reason.as_str().to_owned(),
                fields: e.additional_model_response_fields,
            },
        )?
        .into_any(),
        E::Metadata(e) => Py::new(
            py,
            PyMetadata {
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
    m.add_class::<PyContentBlockStop>()?;
    m.add_class::<PyMessageStop>()?;
    m.add_class::<PyMetadata>()
}
