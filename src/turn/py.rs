//! `_Turn`: the turn machine as the Python drivers see it. Every step that changes the turn
//! (taking in a reply, tool results, the commit) runs on the caller's thread, in the
//! caller's context: a reply that arrives for a cancelled await or after Ctrl-C is dropped
//! unread, and a turn that fails ends at once, leaving the history as it was.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::commit::{apply, save};
use super::exchanged::{Clock, Exchanged};
use super::io::{self, Backend};
use super::machine::{Action, Machine, RequestParts};
use super::state::{lock, tick, State};
use super::step::Step;
use super::stream::PyRequestStream;
use super::TurnGuard;
use crate::history::content_blocks;
use crate::reply::{PyReply, PyUsage};
use crate::runtime::{self, Bridge};
use crate::store::link::Link;
use crate::wire::pyobj::value_error;
use crate::wire::{request_view, response};

struct Inner {
    machine: Machine,
    /// Held until the turn ends; dropping it frees the conversation.
    guard: Option<TurnGuard>,
    /// The request `next()` asked for, until the driver makes it.
    ready: Option<Box<RequestParts>>,
    /// The turn's failure is in the metrics already.
    counted: bool,
    /// Closed by its driver or its stream's `close()`: whatever follows is not a failure.
    closed: bool,
    committed: bool,
    /// When the request under way was sent, and its first content came.
    clock: Clock,
    /// What the last request came to (for `after_response` hooks).
    last: Option<Exchanged>,
}

impl Inner {
    fn end(&mut self) {
        self.machine.abandon();
        self.ready = None;
        self.guard = None;
    }
}

#[pyclass(name = "_Turn", module = "fastconverse._core", frozen)]
pub struct PyTurn {
    inner: Mutex<Inner>,
    state: Arc<Mutex<State>>,
    backend: Backend,
    /// The `select` of the conversation's Python memory policy.
    select: Option<Py<PyAny>>,
    /// Where the commit writes the turn first (None: memory only).
    link: Option<Arc<Link>>,
}

fn ended() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("the turn has ended")
}

fn no_request() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("no request is due: call next() first")
}

#[pymethods]
impl PyTurn {
    /// What the driver does next: `REQUEST`, `SUMMARY`, a `_RunTools` or `DONE`.
    fn next(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // Note: the lock is let go before any Python object is made (making one may run a
        // collection, and a finalizer may come back to this turn).
        let step = loop {
            let mut inner = self.inner();
            if inner.machine.is_ended() {
                return Err(ended()); // (closed, or failed and counted already)
            }
            match inner.machine.next_action() {
                Ok(Action::Select) => {
                    drop(inner);
                    self.run_select(py)?;
                }
                Ok(Action::Request(parts)) => {
                    inner.ready = Some(parts);
                    break Step::Request;
                }
                Ok(Action::Summarize(parts)) => {
                    inner.ready = Some(parts);
                    break Step::Summary;
                }
                Ok(Action::RunTools(calls)) => break Step::RunTools(calls),
                Ok(Action::Done) => break Step::Done,
                Err(info) => return Err(self.fail(py, inner, *info)),
            }
        };
        step.into_py(py)
    }

    /// Makes the due request and takes in its reply (GIL released, Ctrl-C aware).
    fn request(&self, py: Python<'_>) -> PyResult<()> {
        let (parts, tokens) = self.take_request()?;
        let out = runtime::wait(py, io::converse(&self.backend, parts, tokens))?;
        self.on_reply(py, out, true)
    }

    /// `request` as an awaitable: the reply is taken in when the awaiting task resumes.
    fn request_async(slf: Py<Self>) -> PyResult<Bridge> {
        let (parts, tokens) = slf.get().take_request()?;
        let fut = io::converse(&slf.get().backend, parts, tokens);
        Ok(Bridge::spawn(async move { record(slf, fut.await) }))
    }

    /// Makes the due request as a stream of typed events; its end takes in the reply.
    /// `resume`: how many times a stream cut after content resumes (None: the client's).
    #[pyo3(signature = (resume = None))]
    fn stream(slf: Py<Self>, resume: Option<u32>) -> PyResult<PyRequestStream> {
        let (parts, tokens) = slf.get().take_request()?;
        let backend = &slf.get().backend;
        let model_id = parts.model_id.clone();
        let parts = std::sync::Arc::new(parts);
        let pump = io::converse_stream(backend, parts.clone(), tokens);
        let resume = resume.unwrap_or(backend.resume);
        let resumer = (resume > 0).then(|| io::Resumer::new(backend, parts));
        Ok(PyRequestStream::new(
            pump,
            model_id,
            Box::new(slf),
            resumer.map(|r| (r, resume)),
        ))
    }

    /// Takes in `toolResult` block dicts for calls of the current round.
    fn add_results(&self, py: Python<'_>, content: &Bound<'_, PyAny>) -> PyResult<()> {
        let blocks = content_blocks(content, "results")?;
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        inner.machine.add_results(blocks).map_err(|e| {
            let _ = py;
            value_error("results", e)
        })
    }

    /// Ends the turn with its structured output's JSON `text` (see `Machine::finish_output`).
    #[pyo3(signature = (text, value = None))]
    fn finish_output(&self, text: String, value: Option<Py<PyAny>>) -> PyResult<()> {
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        inner
            .machine
            .finish_output(text, value.map(Arc::new))
            .map_err(pyo3::exceptions::PyRuntimeError::new_err)
    }

    /// A native structured output's answer did not validate: asks again, with `errors`.
    fn retry_output(&self, errors: String) -> PyResult<()> {
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        inner
            .machine
            .retry_output(errors)
            .map_err(pyo3::exceptions::PyRuntimeError::new_err)
    }

    /// Adds content blocks (or text) that this turn's requests carry in its first message
    /// and that the history never keeps (turn-start hooks).
    fn add_context(&self, content: &Bound<'_, PyAny>) -> PyResult<()> {
        let blocks = content_blocks(content, "context")?;
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        inner.machine.add_context(blocks);
        Ok(())
    }

    /// What grounding gave the turn (`sources`: a list of `Source`), for its reply.
    #[pyo3(signature = (sources, error = None))]
    fn set_grounding(&self, sources: Py<PyAny>, error: Option<String>) -> PyResult<()> {
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        inner
            .machine
            .set_grounding(crate::reply::Grounded { sources, error });
        Ok(())
    }

    /// The due request as Converse's keyword arguments (`before_request` hooks).
    fn request_view<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let view = {
            let inner = self.inner();
            let parts = inner.ready.as_ref().ok_or_else(no_request)?;
            parts.view()
        };
        request_view::to_py(py, &view)
    }

    /// Replaces the due request with a (changed) view of it, for this request only.
    fn set_request(&self, view: &Bound<'_, PyAny>) -> PyResult<()> {
        let view = request_view::from_py(view)?;
        let mut inner = self.inner();
        inner.ready.as_mut().ok_or_else(no_request)?.apply(view);
        Ok(())
    }

    /// What the last request came to, as `fastconverse.hooks.Response`'s keyword
    /// arguments (None before any).
    #[getter]
    fn last_exchange<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        // (cloned, so that no Python object is made under the turn's lock)
        let facts = self.inner().last.clone();
        facts.map(|facts| facts.to_py(py)).transpose()
    }

    /// Appends the turn's messages to the history, in one step, and returns its reply.
    fn commit(&self, py: Python<'_>) -> PyResult<Py<PyReply>> {
        // A Ctrl-C that came before the commit wins: after it, nothing stands between the
        // commit and the caller but the return (a signal in that instant finds the turn
        // committed: Python cannot close that window).
        if let Err(err) = py.check_signals() {
            self.inner().end();
            return Err(err);
        }
        let mut inner = self.inner();
        let committed = inner.machine.commit();
        inner.committed = committed.is_ok();
        let guard = inner.guard.take();
        inner.end();
        drop(inner);
        let committed = match committed {
            Ok(c) => c,
            Err(info) => {
                self.count_failure(&info);
                return Err(info.into_pyerr(py));
            }
        };
        let rounds = self.inner().machine.rounds();
        let version = match &self.link {
            Some(link) => match save(py, &self.state, link, &committed, rounds) {
                Ok(version) => Some(version),
                Err(info) => {
                    self.count_failure(&info);
                    return Err((*info).into_pyerr(py));
                }
            },
            None => None,
        };
        let reply = Py::new(py, PyReply(committed.reply))?;
        let mut state = lock(&self.state);
        apply(&mut state, committed.change);
        if let Some(written) = version {
            state.stamp.version = written.version;
            state.stamp.updated = written.updated;
        }
        state.last_reply = Some(reply.clone_ref(py));
        state.last_active = tick();
        drop(state);
        drop(guard);
        // A Ctrl-C that came during the store write is raised here, from the commit, with
        // the turn kept (`committed` says so): the driver tells the caller both.
        py.check_signals()?;
        Ok(reply)
    }

    /// Ends the turn without changing the history (nothing happens after `commit`).
    fn close(&self) {
        let mut inner = self.inner();
        inner.closed = !inner.committed;
        inner.end();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Ends the turn; an exception (not a cancellation or an interrupt) that ends an
    /// uncommitted turn counts as a failure in the conversation's metrics, unless the turn
    /// counted its own already.
    fn __exit__(
        &self,
        exc_type: Option<&Bound<'_, pyo3::types::PyType>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let counted = {
            let mut inner = self.inner();
            let counted = inner.counted || inner.committed || inner.closed;
            inner.counted = true;
            inner.end();
            counted
        };
        if let (Some(kind), false) = (exc_type, counted) {
            if kind.is_subclass_of::<pyo3::exceptions::PyException>()? {
                let name = kind.name()?.to_string();
                lock(&self.state).metrics.failed(&name);
            }
        }
        Ok(false)
    }

    /// The messages the turn has added so far, as boto3 message dicts.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let added = self.inner().machine.added().to_vec();
        response::message_list(py, &added)
    }

    /// Tokens of the turn's requests so far.
    #[getter]
    fn usage(&self) -> PyUsage {
        PyUsage(self.inner().machine.usage())
    }

    #[getter]
    fn rounds(&self) -> u32 {
        self.inner().machine.rounds()
    }

    /// Whether the turn is in the history.
    #[getter]
    fn committed(&self) -> bool {
        self.inner().committed
    }

    /// Whether it was closed (by its driver or its stream's `close()`) before a commit.
    #[getter]
    fn closed(&self) -> bool {
        self.inner().closed
    }

    /// Whether the turn is over (committed, failed or closed).
    #[getter]
    fn ended(&self) -> bool {
        self.inner().machine.is_ended()
    }

    #[getter(model_id)]
    fn get_model_id(&self) -> String {
        self.model_id()
    }
}

#[path = "py_replies.rs"]
mod replies;
use replies::record;

#[path = "py_select.rs"]
mod select;
