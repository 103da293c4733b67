//! `Bridge`: the one awaitable of the native module (see `runtime`'s notes): started when
//! first awaited, finished on the awaiting task, aborted with its work when cancelled.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, PyVisit};
use tokio::task::AbortHandle;

use super::{caught, get, tasks, BoxFuture, Finisher, Untrack, TASK_IDS};
use crate::wake::{self, EXITING};

type Start = Box<dyn FnOnce(Python<'_>) -> PyResult<BoxFuture<Finisher>> + Send>;

/// What a polled awaitable does each time it is stepped: given a loop future (and the waker
/// of its loop), the result if it is there now, or else arrange for the future to be set
/// when it may be; given none, the result if it is there now.
pub type Attempt = Box<
    dyn FnMut(Python<'_>, Option<(wake::Waker, &Py<PyAny>)>) -> Option<PyResult<Py<PyAny>>> + Send,
>;
/// Withdraws what an `Attempt` arranged for this loop future (the await was cancelled or
/// dropped, or its result was there after all).
pub type Unwait = Box<dyn Fn(&Py<PyAny>) + Send>;

enum State {
    /// Not awaited yet: what starts the work.
    Idle(Start),
    /// The result is already known (the fast path of stream reads).
    Value(PyResult<Py<PyAny>>),
    /// Polled, not awaited yet: its result is taken on the awaiting thread, never before.
    Poll(Attempt, Unwait),
    /// Polled and waiting for its loop future to be set.
    Polling(Attempt, Unwait, Py<PyAny>),
    /// The work runs; the loop future is what the awaiting task waits on.
    Waiting {
        slot: Arc<Mutex<Option<Finisher>>>,
        future: Py<PyAny>,
        abort: AbortHandle,
    },
    Done,
}

/// The one awaitable of the native module. It starts its work when first awaited (so
/// methods returning it can be called outside a loop), waits on a future of the awaiting
/// task's loop, and on resumption runs the finisher in that task: a cancelled task is
/// thrown `CancelledError` instead, which aborts the work and drops its result unused.
#[pyclass(name = "Bridge", module = "fastconverse._core", frozen)]
pub struct Bridge {
    state: Mutex<State>,
}

impl Bridge {
    pub fn new<S>(start: S) -> Self
    where
        S: FnOnce(Python<'_>) -> PyResult<BoxFuture<Finisher>> + Send + 'static,
    {
        Self {
            state: Mutex::new(State::Idle(Box::new(start))),
        }
    }

    /// An awaitable whose result is already known, without a loop round trip.
    pub fn value(result: PyResult<Py<PyAny>>) -> Self {
        Self {
            state: Mutex::new(State::Value(result)),
        }
    }

    /// An awaitable that takes its result on the awaiting thread when it is there: no task
    /// runs for it, and a cancelled await takes nothing (see `Attempt`).
    pub fn poll<A, U>(attempt: A, unwait: U) -> Self
    where
        A: FnMut(Python<'_>, Option<(wake::Waker, &Py<PyAny>)>) -> Option<PyResult<Py<PyAny>>>
            + Send
            + 'static,
        U: Fn(&Py<PyAny>) + Send + 'static,
    {
        Self {
            state: Mutex::new(State::Poll(Box::new(attempt), Box::new(unwait))),
        }
    }

    /// Asks `attempt` with a new loop future: its result, or the future to wait on.
    fn poll_wait(
        &self,
        py: Python<'_>,
        mut attempt: Attempt,
        unwait: Unwait,
    ) -> PyResult<Py<PyAny>> {
        let event_loop = wake::running_loop(py)?;
        let waker = wake::for_loop(py, &event_loop)?;
        let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
        future.setattr(pyo3::intern!(py, "_asyncio_future_blocking"), true)?;
        let future = future.unbind();
        match attempt(py, Some((waker, &future))) {
            Some(result) => Err(stop_iteration(result?)),
            None => {
                *self.state() = State::Polling(attempt, unwait, future.clone_ref(py));
                Ok(future)
            }
        }
    }

    /// An awaitable of a future already prepared; it starts when awaited, like any other.
    pub fn spawn<F>(fut: F) -> Self
    where
        F: Future<Output = Finisher> + Send + 'static,
    {
        Self::new(move |_| Ok(Box::pin(fut) as BoxFuture<Finisher>))
    }

    fn start(py: Python<'_>, start: Start) -> PyResult<State> {
        if EXITING.load(Ordering::SeqCst) {
            return Err(PyRuntimeError::new_err(
                "the interpreter is exiting: fastconverse starts no new async calls (a sync call still works)",
            ));
        }
        let event_loop = wake::running_loop(py)?;
        let waker = wake::for_loop(py, &event_loop)?;
        let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
        // Note: marked before any work starts, so that a failure here leaves nothing running.
        future.setattr(pyo3::intern!(py, "_asyncio_future_blocking"), true)?;
        let fut = start(py)?;
        let slot: Arc<Mutex<Option<Finisher>>> = Arc::new(Mutex::new(None));
        let (task_slot, future_ref) = (slot.clone(), future.clone().unbind());
        let id = TASK_IDS.fetch_add(1, Ordering::Relaxed);
        // Note: registered under the lock the task's end takes, so it cannot end unseen.
        let mut registry = tasks();
        let handle = get().spawn(async move {
            let _untrack = Untrack(id);
            let finish = caught(fut).await;
            *task_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(finish);
            waker.wake(future_ref);
        });
        let abort = handle.abort_handle();
        registry
            .get_or_insert_with(HashMap::new)
            .insert(id, abort.clone());
        drop(registry);
        Ok(State::Waiting {
            slot,
            future: future.unbind(),
            abort,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stop(&self) {
        let old = std::mem::replace(&mut *self.state(), State::Done);
        match &old {
            State::Waiting { abort, .. } => abort.abort(),
            State::Polling(_, unwait, future) => unwait(future),
            _ => {}
        }
        drop(old);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        match &*self.state() {
            State::Waiting { abort, .. } => abort.abort(),
            State::Polling(_, unwait, future) => unwait(future),
            _ => {}
        }
    }
}

fn stop_iteration(value: Py<PyAny>) -> PyErr {
    PyStopIteration::new_err((value,))
}

#[pymethods]
impl Bridge {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let taken = std::mem::replace(&mut *self.state(), State::Done);
        match taken {
            State::Idle(start) => {
                let waiting = Self::start(py, start)?;
                let future = match &waiting {
                    State::Waiting { future, .. } => future.clone_ref(py),
                    _ => unreachable!("start gives a waiting state"),
                };
                *self.state() = waiting;
                Ok(future)
            }
            State::Value(result) => Err(stop_iteration(result?)),
            State::Poll(attempt, unwait) => self.poll_wait(py, attempt, unwait),
            State::Polling(mut attempt, unwait, _) => match attempt(py, None) {
                Some(result) => Err(stop_iteration(result?)),
                // Woken with nothing there (another reader took it): wait again.
                None => self.poll_wait(py, attempt, unwait),
            },
            State::Waiting {
                slot,
                future,
                abort,
            } => {
                let finish = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                match finish {
                    Some(finish) => Err(stop_iteration(finish(py)?)),
                    None => {
                        // Woken without a result (a foreign loop's spurious step): wait on.
                        future.bind(py).setattr("_asyncio_future_blocking", true)?;
                        let again = future.clone_ref(py);
                        *self.state() = State::Waiting {
                            slot,
                            future,
                            abort,
                        };
                        Ok(again)
                    }
                }
            }
            State::Done => Err(PyRuntimeError::new_err(
                "cannot reuse an already awaited awaitable",
            )),
        }
    }

    fn send(&self, py: Python<'_>, _value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__next__(py)
    }

    /// The awaiting task was cancelled (or another exception thrown in): abort the work,
    /// drop its result unused, and let the exception through.
    #[pyo3(signature = (kind, value = None, _traceback = None))]
    fn throw(
        &self,
        kind: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.stop();
        let exc = if kind.is_instance_of::<pyo3::exceptions::PyBaseException>() {
            kind.clone()
        } else if let Some(v) =
            value.filter(|v| v.is_instance_of::<pyo3::exceptions::PyBaseException>())
        {
            v.clone()
        } else {
            let args = match value {
                Some(v) if !v.is_none() => PyTuple::new(kind.py(), [v])?,
                _ => PyTuple::empty(kind.py()),
            };
            kind.call1(args)?
        };
        Err(PyErr::from_value(exc))
    }

    fn close(&self) {
        self.stop();
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let Ok(state) = self.state.try_lock() else {
            return Ok(());
        };
        match &*state {
            State::Waiting { future, .. } | State::Polling(_, _, future) => visit.call(future),
            State::Value(Ok(value)) => visit.call(value),
            _ => Ok(()),
        }
    }

    fn __clear__(&self) {
        self.stop();
    }
}
