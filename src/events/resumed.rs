//! `Resumed`: the stream was cut after some of the answer and goes on with a new request
//! (`turn::resume`); the events after it continue the same answer.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::wire::pyobj::py_repr;

/// The stream was cut and resumed: what follows continues the same answer.
#[pyclass(name = "Resumed", module = "fastconverse._core", frozen)]
pub struct PyResumed {
    /// Why: the error's code (`ThrottlingException`, ...) or class (`StreamInterruptedError`).
    #[pyo3(get)]
    pub reason: String,
    /// The error's message.
    #[pyo3(get)]
    pub message: String,
    /// Which resume this is: 1 for the first.
    #[pyo3(get)]
    pub attempt: u32,
    /// The indexes of the blocks that were cut unfinished (a tool use's input, reasoning):
    /// they stream again from their start, so a reader drops what it had of them.
    #[pyo3(get)]
    pub restarted: Vec<i32>,
}

#[pymethods]
impl PyResumed {
    /// `{"resumed": {"reason", "message", "attempt", "restarted"}}` (fastconverse's own:
    /// boto3 has none).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = PyDict::new(py);
        inner.set_item("reason", &self.reason)?;
        inner.set_item("message", &self.message)?;
        inner.set_item("attempt", self.attempt)?;
        inner.set_item("restarted", &self.restarted)?;
        let d = PyDict::new(py);
        d.set_item("resumed", inner)?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "Resumed(reason={}, attempt={})",
            py_repr(&self.reason),
            self.attempt
        )
    }
}
