//! The one tokio runtime of the process, shared by the client and FakeBedrock, and the two
//! ways Python waits on it: blocking (GIL released, Ctrl-C aware) and as an awaitable.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// The process-wide runtime (pyo3-async-runtimes' own, so awaitables and blocking calls
/// run on the same threads).
pub fn get() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// How often a blocked call looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `fut` on the runtime and waits for it with the GIL released. Ctrl-C (any pending
/// Python signal whose handler raises) aborts the future — dropping its connection — and
/// raises here. Works inside a running asyncio loop too (Jupyter): it never touches the loop.
pub fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    // Note: the receiver moves into each wait and back out, as `detach` needs `Send`.
    let mut rx = Some(rx);
    let task = get().spawn(async move {
        let _ = tx.send(fut.await);
    });
    loop {
        let (got, back) = py.detach(move || {
            let receiver = rx.take().expect("the receiver is put back after each wait");
            (receiver.recv_timeout(SIGNAL_CHECK), receiver)
        });
        rx = Some(back);
        match got {
            Ok(output) => return Ok(output),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(err) = py.check_signals() {
                    task.abort();
                    return Err(err);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the runtime dropped a call before it finished",
                ))
            }
        }
    }
}

/// An awaitable whose result is already known: the fast path of `__anext__` when an event
/// has arrived, without the cost of an asyncio future and a cross-thread wake-up.
#[pyclass(name = "Ready", module = "fastconverse._core", frozen)]
struct Ready {
    result: std::sync::Mutex<Option<PyResult<Py<PyAny>>>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let taken = self.result.lock().map(|mut r| r.take()).unwrap_or(None);
        match taken {
            Some(Ok(value)) => Err(pyo3::exceptions::PyStopIteration::new_err((value,))),
            Some(Err(err)) => Err(err),
            None => Err(pyo3::exceptions::PyStopIteration::new_err((py.None(),))),
        }
    }

    fn send(&self, py: Python<'_>, _value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        self.__next__(py)
    }
}

pub fn ready(py: Python<'_>, result: PyResult<Py<PyAny>>) -> PyResult<Bound<'_, PyAny>> {
    Ok(Py::new(
        py,
        Ready {
            result: std::sync::Mutex::new(Some(result)),
        },
    )?
    .into_bound(py)
    .into_any())
}

type PyFuture = std::pin::Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// Run on the loop's thread when the awaiting task is cancelled.
pub type OnCancel = Box<dyn FnOnce() + Send>;

type Start = Box<dyn FnOnce(Python<'_>) -> PyResult<(PyFuture, Option<OnCancel>)> + Send>;

/// An awaitable whose work starts only when awaited, so that methods returning it can be
/// called outside a running loop (like a coroutine). `start` runs on the awaiting thread, in
/// the order awaits happen; dropping it unawaited drops everything.
#[pyclass(name = "Pending", module = "fastconverse._core", frozen)]
struct Pending {
    start: std::sync::Mutex<Option<Start>>,
}

#[pymethods]
impl Pending {
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let start = self.start.lock().map(|mut f| f.take()).unwrap_or(None);
        let Some(start) = start else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this awaitable was already awaited",
            ));
        };
        let (fut, on_cancel) = start(py)?;
        spawn_with(py, fut, on_cancel)?.call_method0("__await__")
    }
}

static COROUTINE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// A coroutine that, once awaited, calls `start` and awaits the future it gives:
/// `asyncio.create_task` takes it, and Python warns as usual when it is never awaited.
pub fn awaitable<S, F>(py: Python<'_>, start: S) -> PyResult<Bound<'_, PyAny>>
where
    S: FnOnce(Python<'_>) -> PyResult<(F, Option<OnCancel>)> + Send + 'static,
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    let start: Start = Box::new(move |py| {
        let (fut, on_cancel) = start(py)?;
        Ok((Box::pin(fut) as PyFuture, on_cancel))
    });
    let pending = Py::new(
        py,
        Pending {
            start: std::sync::Mutex::new(Some(start)),
        },
    )?;
    let wrap = COROUTINE.get_or_try_init(py, || {
        py.import("fastconverse._aio")?
            .getattr("coroutine")
            .map(Bound::unbind)
    })?;
    wrap.bind(py).call1((pending,))
}

/// Completions of awaitables still on their way to the event loop.
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct InFlight;

impl InFlight {
    fn new() -> Self {
        IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

static DELIVER: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Runs `fut` on the runtime and returns an asyncio future of the running loop for its
/// result; cancelling that future aborts the task (and its HTTP request).
///
/// Note: instead of pyo3-async-runtimes' `future_into_py`, so that every hand-over of a
/// result to the loop is counted: `call_soon_threadsafe` releases the GIL while it wakes the
/// loop, and an interpreter that finalizes in that moment kills the runtime thread under
/// Rust frames (a crash at exit). `drain()`, run at exit, waits for the count to reach zero.
pub fn spawn<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    spawn_with(py, fut, None)
}

/// `spawn`, with `on_cancel` run at once when the awaiting task is cancelled.
pub fn spawn_with<F>(
    py: Python<'_>,
    fut: F,
    on_cancel: Option<OnCancel>,
) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let deliver = DELIVER
        .get_or_try_init(py, || {
            py.import("fastconverse._aio")?
                .getattr("deliver")
                .map(Bound::unbind)
        })?
        .clone_ref(py);
    let (loop_ref, future_ref) = (event_loop.unbind(), py_future.clone().unbind());
    let in_flight = InFlight::new();
    let task = get().spawn(async move {
        let _in_flight = in_flight;
        let result = fut.await;
        Python::attach(|py| {
            let (ok, value) = match result {
                Ok(value) => (true, value),
                Err(err) => (false, err.into_value(py).into_any()),
            };
            // Fails only when the loop is closed: then nobody waits for the result.
            let _ = loop_ref
                .bind(py)
                .call_method1("call_soon_threadsafe", (deliver, future_ref, ok, value));
        });
    });
    let abort = task.abort_handle();
    let on_cancel = std::sync::Mutex::new(on_cancel);
    let on_done = pyo3::types::PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, pyo3::types::PyTuple>, _kwargs| -> PyResult<()> {
            if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
                abort.abort();
                if let Some(f) = on_cancel.lock().ok().and_then(|mut f| f.take()) {
                    f();
                }
            }
            Ok(())
        },
    )?;
    py_future.call_method1("add_done_callback", (on_done,))?;
    Ok(py_future)
}

/// Waits (GIL released, at most `timeout` seconds) until no result is on its way to a loop.
#[pyfunction]
#[pyo3(signature = (timeout = 2.0))]
pub fn drain(py: Python<'_>, timeout: f64) {
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
    py.detach(|| {
        while IN_FLIGHT.load(std::sync::atomic::Ordering::Acquire) > 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
