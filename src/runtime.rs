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

/// An awaitable that starts its future only when awaited, so that methods returning it can
/// be called outside a running loop (like a coroutine); dropping it unawaited drops the
/// future, and cancelling the awaiting task drops it too.
#[pyclass(name = "Pending", module = "fastconverse._core", frozen)]
struct Pending {
    fut: std::sync::Mutex<Option<PyFuture>>,
}

#[pymethods]
impl Pending {
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.fut.lock().map(|mut f| f.take()).unwrap_or(None);
        let Some(fut) = fut else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this awaitable was already awaited",
            ));
        };
        pyo3_async_runtimes::tokio::future_into_py(py, fut)?.call_method0("__await__")
    }
}

static COROUTINE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// A coroutine running `fut` once awaited: `asyncio.create_task` takes it, and Python warns
/// as usual when it is never awaited.
pub fn awaitable<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    let pending = Py::new(
        py,
        Pending {
            fut: std::sync::Mutex::new(Some(Box::pin(fut))),
        },
    )?;
    let wrap = COROUTINE.get_or_try_init(py, || {
        py.import("fastconverse._aio")?
            .getattr("coroutine")
            .map(Bound::unbind)
    })?;
    wrap.bind(py).call1((pending,))
}
