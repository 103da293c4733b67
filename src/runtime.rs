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
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use crate::fork::PerFork;

use crate::wake::{EXITING, WAKING};

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

#[path = "runtime_bridge.rs"]
mod bridge;
pub use bridge::{Attempt, Bridge, Unwait};

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
