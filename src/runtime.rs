//! The one tokio runtime of the process, shared by the client and FakeBedrock.

use tokio::runtime::Runtime;

/// The process-wide runtime (pyo3-async-runtimes' own, so awaitables and blocking calls
/// run on the same threads).
pub fn get() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}
