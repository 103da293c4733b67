//! What `_Turn.next()` tells its driver, as typed objects: `REQUEST`, `SUMMARY` (a request
//! that is never streamed) and `DONE` are module constants compared by identity, and a
//! round of tool calls is a `_RunTools` holding them. No strings to dispatch on, no tuples.

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::wire::response;

/// A step without data: the module's `REQUEST`, `SUMMARY` and `DONE`.
#[pyclass(name = "_Step", module = "fastconverse._core", frozen)]
pub struct PyStep {
    #[pyo3(get)]
    name: &'static str,
}

#[pymethods]
impl PyStep {
    fn __repr__(&self) -> String {
        format!("_core.{}", self.name.to_uppercase())
    }
}

/// A round of tool calls to run: `calls` are the toolUse dicts, in the model's order.
#[pyclass(name = "_RunTools", module = "fastconverse._core", frozen)]
pub struct PyRunTools {
    #[pyo3(get)]
    calls: Py<PyList>,
}

/// What the driver does next (see the module's doc).
pub enum Step {
    Request,
    Summary,
    RunTools(Vec<t::ToolUseBlock>),
    Done,
}

static REQUEST: PyOnceLock<Py<PyStep>> = PyOnceLock::new();
static SUMMARY: PyOnceLock<Py<PyStep>> = PyOnceLock::new();
static DONE: PyOnceLock<Py<PyStep>> = PyOnceLock::new();

fn constant<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyStep>>,
    name: &'static str,
) -> PyResult<&'py Py<PyStep>> {
    cell.get_or_try_init(py, || Py::new(py, PyStep { name }))
}

impl Step {
    pub fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Step::Request => constant(py, &REQUEST, "request")?.clone_ref(py).into_any(),
            Step::Summary => constant(py, &SUMMARY, "summary")?.clone_ref(py).into_any(),
            Step::Done => constant(py, &DONE, "done")?.clone_ref(py).into_any(),
            Step::RunTools(calls) => {
                let list = PyList::empty(py);
                for call in calls {
                    let block = t::ContentBlock::ToolUse(call);
                    list.append(response::content_block(py, &block)?.get_item("toolUse")?)?;
                }
                Py::new(
                    py,
                    PyRunTools {
                        calls: list.unbind(),
                    },
                )?
                .into_any()
            }
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyStep>()?;
    m.add_class::<PyRunTools>()?;
    m.add("REQUEST", constant(py, &REQUEST, "request")?.clone_ref(py))?;
    m.add("SUMMARY", constant(py, &SUMMARY, "summary")?.clone_ref(py))?;
    m.add("DONE", constant(py, &DONE, "done")?.clone_ref(py))
}
