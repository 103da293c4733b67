//! The one tokio runtime of the process, shared by the client and FakeBedrock, and the two
//! ways Python waits on it: blocking (`wait`: GIL released, Ctrl-C aware) and awaiting
//! (`Bridge`: the one awaitable of the native module).
//!
//! Both catch panics (a panic becomes a `RuntimeError`, never a hang or a `PanicException`)
//! and both hand the caller a *finisher*: a closure that turns the Rust result into Python
//! objects on the caller's thread, in the caller's context. That is where a turn commits, so
//! a cancelled await or a Ctrl-C can never be followed by a commit.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, PyVisit};
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use crate::fork::PerFork;

use crate::wake::{self, EXITING, WAKING};

/// The process's runtime, made at first use and again in a child after `fork()` (the
/// parent's worker threads do not exist there: its runtime would never run a task). The
/// parent's is left as it is: dropping it would wait for those threads forever.
static RUNTIME: PerFork<OnceLock<&'static Runtime>> = PerFork::new(OnceLock::new);

/// The process-wide runtime, shared by the client and FakeBedrock.
pub fn get() -> &'static Runtime {
    RUNTIME.get().get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("fastconverse-runtime")
            .build()
            .expect("the tokio runtime could not start");
        Box::leak(Box::new(runtime))
    })
}

/// Turns a Rust result into a Python value, on the caller's thread.
pub type Finisher = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn panicked(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("fastconverse: an internal error ended this call ({text}); please report it")
}

/// `fut`, with a panic turned into an error finisher.
async fn caught<F>(fut: F) -> Finisher
where
    F: Future<Output = Finisher> + Send,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(finish) => finish,
        Err(payload) => {
            let text = panicked(payload);
            Box::new(move |_| Err(PyRuntimeError::new_err(text)))
        }
    }
}

/// Tasks whose results an awaitable waits for, so that interpreter exit can abort them.
static TASKS: PerFork<Mutex<Option<HashMap<u64, AbortHandle>>>> = PerFork::new(|| Mutex::new(None));
static TASK_IDS: AtomicU64 = AtomicU64::new(0);

fn tasks() -> std::sync::MutexGuard<'static, Option<HashMap<u64, AbortHandle>>> {
    TASKS.get().lock().unwrap_or_else(|e| e.into_inner())
}

/// Unregisters its task when the task ends, whichever way (an abort drops it too).
struct Untrack(u64);

impl Drop for Untrack {
    fn drop(&mut self) {
        if let Some(map) = tasks().as_mut() {
            map.remove(&self.0);
        }
    }
}

/// How often a blocked call looks for Ctrl-C.
pub(crate) const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `fut` on the runtime and waits for its output (GIL released, Ctrl-C aware, panics
/// become `RuntimeError`).
pub fn wait<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    // Note: the receiver moves into each wait and back out, as `detach` needs `Send`.
    let mut rx = Some(rx);
    let task = get().spawn(async move {
        let out = AssertUnwindSafe(fut).catch_unwind().await;
        let _ = tx.send(out);
    });
    loop {
        let (got, back) = py.detach(move || {
            let receiver = rx.take().expect("the receiver is put back after each wait");
            (receiver.recv_timeout(SIGNAL_CHECK), receiver)
        });
        rx = Some(back);
        match got {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(payload)) => return Err(PyRuntimeError::new_err(panicked(payload))),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(err) = py.check_signals() {
                    task.abort();
                    return Err(err);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the runtime dropped a call before it finished (the interpreter is exiting)",
                ))
            }
        }
    }
}

/// Runs `fut` to its end, waiting with the GIL released but *not* for Ctrl-C: for the
/// short writes whose outcome the caller must hear (a store's commit). Panics become
/// `RuntimeError`.
pub fn finish<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    py.detach(|| get().block_on(AssertUnwindSafe(fut).catch_unwind()))
        .map_err(|payload| PyRuntimeError::new_err(panicked(payload)))
}

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

/// At interpreter exit: aborts every task an awaitable still waits for, then waits (GIL
/// released, at most `timeout` seconds) until no wake-up of a loop is under way, so that no
/// runtime thread is inside Python when the interpreter finalizes.
#[pyfunction]
#[pyo3(signature = (timeout = 2.0))]
pub fn drain(py: Python<'_>, timeout: f64) {
    EXITING.store(true, Ordering::SeqCst);
    for abort in tasks().take().unwrap_or_default().into_values() {
        abort.abort();
    }
    let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::from_secs(2));
    let deadline = std::time::Instant::now() + timeout;
    py.detach(|| {
        while WAKING.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// The longest wait a user may ask for: about 31 years (longer ones overflow clocks).
const MAX_SECONDS: f64 = 1e9;

/// Seconds given by a user as a `Duration`: finite, positive (or zero when `zero_ok`) and
/// at most `MAX_SECONDS`; otherwise a `ValueError` naming the argument.
pub fn seconds(name: &str, value: f64, zero_ok: bool) -> PyResult<Duration> {
    let sign_ok = if zero_ok { value >= 0.0 } else { value > 0.0 };
    if sign_ok && value <= MAX_SECONDS {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name}: expected a number of seconds {} and at most {MAX_SECONDS:e}, got {value}",
            if zero_ok { ">= 0" } else { "> 0" },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_waited_future_is_a_runtime_error_not_a_hang() {
        Python::initialize();
        Python::attach(|py| {
            let err = wait(py, async { panic!("deliberate") }).unwrap_err();
            assert!(err.is_instance_of::<PyRuntimeError>(py));
            assert!(err.to_string().contains("deliberate"), "{err}");
            let caught = get().block_on(caught(async { panic!("inside") }));
            let err = caught(py).unwrap_err();
            assert!(err.to_string().contains("inside"), "{err}");
        });
    }

    #[test]
    fn seconds_are_checked_not_panicked_on() {
        Python::initialize();
        for bad in [1e300, f64::INFINITY, f64::NAN, -1.0] {
            assert!(seconds("t", bad, true).is_err());
        }
        assert!(seconds("t", 0.0, false).is_err());
        assert_eq!(seconds("t", 0.0, true).unwrap(), Duration::ZERO);
    }
}
