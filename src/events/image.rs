//! `ImageStart` and `ImageDelta`: an image the model generates, streamed as
//! `contentBlockStart.image` (its format) and `delta.image` pieces (its bytes); the reply's
//! message gets the whole image from the assembler.

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::wire::pyobj::py_repr;
use crate::wire::response;

/// The model starts an image in content block `index` (its bytes follow as `ImageDelta`s).
#[pyclass(name = "ImageStart", module = "fastconverse._core", frozen)]
pub struct PyImageStart {
    #[pyo3(get)]
    format: String,
    #[pyo3(get)]
    index: i32,
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyImageStart {
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "ImageStart(format={}, index={})",
            py_repr(&self.format),
            self.index
        )
    }
}

/// A piece of the image of content block `index`: `data` (bytes; empty when the piece is
/// an S3 location or an `error`, which `to_dict()` shows).
#[pyclass(name = "ImageDelta", module = "fastconverse._core", frozen)]
pub struct PyImageDelta {
    data: Vec<u8>,
    #[pyo3(get)]
    index: i32,
    #[pyo3(get)]
    error: Option<String>,
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyImageDelta {
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "ImageDelta(<{} bytes>, index={})",
            self.data.len(),
            self.index
        )
    }
}

pub fn image_start(
    py: Python<'_>,
    raw: Box<t::ConverseStreamOutput>,
    index: i32,
    start: &t::ImageBlockStart,
) -> PyResult<Py<PyAny>> {
    let format = start.format().as_str().to_owned();
    Ok(Py::new(py, PyImageStart { format, index, raw })?.into_any())
}

pub fn image_delta(
    py: Python<'_>,
    raw: Box<t::ConverseStreamOutput>,
    index: i32,
    delta: t::ImageBlockDelta,
) -> PyResult<Py<PyAny>> {
    let data = match delta.source {
        Some(t::ImageSource::Bytes(b)) => b.into_inner(),
        _ => Vec::new(),
    };
    let error = delta.error.and_then(|e| e.message);
    let event = PyImageDelta {
        data,
        index,
        error,
        raw,
    };
    Ok(Py::new(py, event)?.into_any())
}
