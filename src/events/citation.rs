//! `CitationDelta`: a citation of content block `index`, streamed as a `citation` delta
//! beside the block's text deltas; the assembler makes the block the same
//! `citationsContent` block a non-streamed reply has.

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::citation::{from_delta, PyCitation};
use crate::wire::response;

/// A citation of content block `index` (whose text streams as `TextDelta`s).
#[pyclass(name = "CitationDelta", module = "fastconverse._core", frozen)]
pub struct PyCitationDelta {
    #[pyo3(get)]
    index: i32,
    citation: PyCitation,
    raw: Box<t::ConverseStreamOutput>,
}

#[pymethods]
impl PyCitationDelta {
    /// The citation (`Citation`; its `text` is empty: the cited text streams as text).
    #[getter]
    fn citation(&self) -> PyCitation {
        self.citation.clone()
    }
    /// The boto3 event dict (the same as `converse_stream`'s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::stream_event(py, &self.raw)
    }
    fn __repr__(&self) -> String {
        format!(
            "CitationDelta(citation={}, index={})",
            self.citation.__repr__(),
            self.index
        )
    }
}

pub fn citation_delta(
    py: Python<'_>,
    raw: Box<t::ConverseStreamOutput>,
    index: i32,
    delta: &t::CitationsDelta,
) -> PyResult<Py<PyAny>> {
    let citation = PyCitation {
        text: String::new(),
        citation: from_delta(delta),
    };
    let event = PyCitationDelta {
        index,
        citation,
        raw,
    };
    Ok(Py::new(py, event)?.into_any())
}
