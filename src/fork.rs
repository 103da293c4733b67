//! Life after `fork()`: the child of a fork has none of the parent's threads, so whatever
//! belongs to the parent's runtime (connection pools, connections, tasks) is made again in
//! the child, per fork generation (`ForkLocal`), and the parent's is left alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;

/// How many times this process was forked into (0 in the first process): what was made
/// for another generation (connection pools, connections) is made again.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// The fork generation of this process (see `FORKS`).
pub fn forks() -> u64 {
    FORKS.load(Ordering::Acquire)
}

/// In a child after `os.fork()` (registered with `os.register_at_fork` by the package):
/// a new generation, a new runtime at the next call, new wakers.
#[pyfunction]
pub fn _after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
    crate::runtime::forget_after_fork();
    crate::wake::after_fork();
}

/// A value made once per fork generation (a connection pool, a connection): a child
/// after `fork()` makes its own at first use and leaves the parent's alone.
pub struct ForkLocal<T> {
    made: Mutex<Option<(u64, T)>>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T: Clone> ForkLocal<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            made: Mutex::new(None),
            make: Box::new(make),
        }
    }

    /// With `first` as this generation's value (made already, by the caller).
    pub fn with(first: T, make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            made: Mutex::new(Some((forks(), first))),
            make: Box::new(make),
        }
    }

    pub fn get(&self) -> T {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let now = forks();
        match made.as_ref() {
            Some((generation, value)) if *generation == now => value.clone(),
            _ => {
                // (another generation's value is forgotten, never dropped: its tasks and
                // sockets belong to the parent)
                std::mem::forget(made.take());
                let value = (self.make)();
                *made = Some((now, value.clone()));
                value
            }
        }
    }
}

impl<T> std::fmt::Debug for ForkLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForkLocal")
    }
}
