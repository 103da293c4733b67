//! `EventStream`: `response["stream"]` of the boto3-shaped `converse_stream` and
//! `response["body"]` of `invoke_model_with_response_stream` (botocore's `EventStream` for
//! both), a reader over a pump that gives each event as the dict boto3 yields.

use std::time::Duration;

use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use super::{next_blocking, Events, Item, Pump, PumpOptions, Started};
use crate::runtime;
use crate::wire::pyobj::py_repr;
use crate::wire::response;

/// `response["stream"]` of `converse_stream` (events), `response["body"]` of
/// `invoke_model_with_response_stream` (chunks): iterate it with `for` or `async for`.
#[pyclass(name = "EventStream", module = "fastconverse._core", frozen)]
pub struct PyEventStream {
    pump: std::sync::Arc<Pump>,
    model_id: String,
    /// Called with an error from the stream before it is raised (the boto3-shaped client
    /// words it as botocore does); set once, by the Python layer, which passes it in.
    on_error: std::sync::OnceLock<Py<PyAny>>,
}

impl PyEventStream {
    pub fn new<R: Events>(started: Started<R>, idle_timeout: Duration, model_id: String) -> Self {
        let opts = PumpOptions {
            idle_timeout,
            model_id: model_id.clone(),
            max_attempts: 1,
        };
        Self {
            pump: std::sync::Arc::new(Pump::spawn(Some(started), None, opts)),
            model_id,
            on_error: std::sync::OnceLock::new(),
        }
    }
}

fn event_dict(
    py: Python<'_>,
    item: Item,
    on_error: Option<&Py<PyAny>>,
) -> PyResult<Option<Py<PyAny>>> {
    match item {
        Item::Text { index, text } => Ok(Some(
            response::text_delta_event(py, index, &text)?
                .into_any()
                .unbind(),
        )),
        Item::Event(event) => Ok(Some(
            response::stream_event(py, &event)?.into_any().unbind(),
        )),
        Item::Chunk(bytes) => Ok(Some(response::chunk_event(py, &bytes)?.into_any().unbind())),
        // (botocore yields an empty dict for an event type it does not know)
        Item::Unknown => Ok(Some(pyo3::types::PyDict::new(py).into_any().unbind())),
        Item::End { .. } => Ok(None),
        Item::Failed(info) => {
            let err = info.into_pyerr(py);
            if let Some(hook) = on_error {
                hook.call1(py, (err.value(py),))?;
            }
            Err(err)
        }
    }
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let item = next_blocking(py, &self.pump)?;
        event_dict(py, item, self.on_error.get())?.ok_or_else(|| PyStopIteration::new_err(()))
    }

    /// `hook(error)` runs on an error from the stream before it is raised (once set, kept).
    fn _on_error(&self, hook: Py<PyAny>) {
        let _ = self.on_error.set(hook);
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> runtime::Bridge {
        fn to_py(py: Python<'_>, item: Item, hook: Option<&Py<PyAny>>) -> PyResult<Py<PyAny>> {
            event_dict(py, item, hook)?.ok_or_else(|| PyStopAsyncIteration::new_err(()))
        }
        if let Some(item) = self.pump.try_next() {
            return runtime::Bridge::value(to_py(py, item, self.on_error.get()));
        }
        let (pump, unwaiting) = (self.pump.clone(), self.pump.clone());
        let hook = self.on_error.get().map(|h| h.clone_ref(py));
        runtime::Bridge::poll(
            move |py, wait| {
                let item = match wait {
                    Some((waker, future)) => pump.next_or_wake(py, waker, future),
                    None => pump.try_next(),
                }?;
                Some(to_py(py, item, hook.as_ref()))
            },
            move |future: &Py<PyAny>| unwaiting.unwait(future),
        )
    }

    /// Stops reading and closes the connection (also done when the stream is dropped).
    fn close(&self) {
        self.pump.close();
    }

    fn __repr__(&self) -> String {
        format!("EventStream(model_id={})", py_repr(&self.model_id))
    }
}
