//! `ToolResultStart` and `ToolResultDelta`: a system tool's result as the service streams it
//! (`contentBlockStart.toolResult`, then `delta.toolResult` pieces), after the
//! `ToolUseStart` of its call (whose `type` is `server_tool_use`). The reply's message gets
//! the whole `toolResult` block from the assembler. Results of the conversation's own tools
//! are `ToolResult` events (`fastconverse.events`).

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::wire::pyobj::py_repr;
use crate::wire::response;

/// A system tool's result begins in content block `index`.
#[pyclass(name = "ToolResultStart", module = "fastconverse._core", frozen)]
pub struct PyToolResultStart {
    #[pyo3(get)]
    tool_use_id: String,
    /// The result's kind, as the service names it (e.g. `nova_code_interpreter_result`).
    #[pyo3(get, name = "type")]
    kind: Option<String>,
    #[pyo3(get)]
    status: Option<String>,
    #[pyo3(get)]
    index: i32,
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyToolResultStart {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "None".into(), py_repr);
        format!(
            "ToolResultStart(tool_use_id={}, type={}, status={}, index={})",
            py_repr(&self.tool_use_id),
            opt(&self.kind),
            opt(&self.status),
            self.index
        )
    }
}

/// A piece of a system tool's result in content block `index`: its `content` items
/// (`{"text": ...}` or `{"json": ...}`).
#[pyclass(name = "ToolResultDelta", module = "fastconverse._core", frozen)]
pub struct PyToolResultDelta {
    #[pyo3(get)]
    index: i32,
    raw: Box<t::ConverseStreamOutput>,
}

impl PyToolResultDelta {
    fn pieces(&self) -> &[t::ToolResultBlockDelta] {
        match &*self.raw {
            t::ConverseStreamOutput::ContentBlockDelta(e) => match e.delta() {
                Some(t::ContentBlockDelta::ToolResult(pieces)) => pieces,
                _ => &[],
            },
            _ => &[],
        }
    }
}

#[pymethods]
impl PyToolResultDelta {
    /// The piece's items, boto3-shaped: `[{"text": ...}]` or `[{"json": {...}}]`.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        response::tool_result_delta(py, self.pieces())
    }
    /// The piece's text items, joined ("" when it holds only JSON).
    #[getter]
    fn text(&self) -> String {
        self.pieces()
            .iter()
            .filter_map(|p| p.as_text().ok())
            .map(String::as_str)
            .collect()
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolResultDelta(text={}, index={})",
            py_repr(&self.text()),
            self.index
        )
    }
}

pub fn tool_result_start(
    py: Python<'_>,
    raw: Box<t::ConverseStreamOutput>,
    index: i32,
    start: t::ToolResultBlockStart,
) -> PyResult<Py<PyAny>> {
    let event = PyToolResultStart {
        tool_use_id: start.tool_use_id,
        kind: start.r#type,
        status: start.status.map(|s| s.as_str().to_owned()),
        index,
        raw,
    };
    Ok(Py::new(py, event)?.into_any())
}

pub fn tool_result_delta(
    py: Python<'_>,
    raw: Box<t::ConverseStreamOutput>,
    index: i32,
) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PyToolResultDelta { index, raw })?.into_any())
}
