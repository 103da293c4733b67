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
