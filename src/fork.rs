//! Life after `fork()`: the child of a fork has none of the parent's threads, so whatever
//! belongs to the parent's runtime (connection pools, connections, tasks) is made again in
//! the child, per fork generation (`ForkLocal`), and the parent's is left alone.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
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
/// a new generation: a new runtime at the next call, and new task registry, wakers and
/// connections at their first use. It takes no lock.
#[pyfunction]
pub fn _after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// A slot per fork generation, reached through an atomic pointer: the child of a fork never
/// touches the parent's slot, whose lock a parent thread may have held when it forked (that
/// thread is not in the child: the lock would never be let go).
struct Slots<S> {
    current: AtomicPtr<(u64, S)>,
}

impl<S> Slots<S> {
    const fn new() -> Self {
        Self {
            current: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// This generation's slot, made by `make` at first use.
    fn get(&self, make: impl Fn() -> S) -> &S {
        loop {
            let now = forks();
            let seen = self.current.load(Ordering::Acquire);
            // SAFETY: a slot stored here is freed only by `free` (when its owner drops),
            // never while another thread may read it: owners are dropped when unused.
            if let Some(slot) = unsafe { seen.as_ref() } {
                if slot.0 == now {
                    return &slot.1;
                }
            }
            let fresh = Box::into_raw(Box::new((now, make())));
            match self
                .current
                .compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // (another generation's slot is forgotten, never dropped: what it holds
                // belongs to the parent)
                // SAFETY: `fresh` is ours, now shared; it lives until `free`.
                Ok(_) => return unsafe { &(*fresh).1 },
                // SAFETY: `fresh` was never shared.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        }
    }

    /// Frees this generation's slot (an older one is the parent's: it stays).
    fn free(&mut self) {
        let slot = std::mem::replace(self.current.get_mut(), std::ptr::null_mut());
        // SAFETY: `&mut self`: no reader is left; the slot came from `Box::into_raw`.
        if let Some(owned) = unsafe { slot.as_mut() } {
            if owned.0 == forks() {
                drop(unsafe { Box::from_raw(slot) });
            }
        }
    }
}

/// A process-wide value made again in each fork generation (the runtime's task registry,
/// the loop wakers): `get` never touches another generation's.
pub struct PerFork<T: 'static> {
    slots: Slots<T>,
    make: fn() -> T,
}

impl<T: 'static> PerFork<T> {
    pub const fn new(make: fn() -> T) -> Self {
        Self {
            slots: Slots::new(),
            make,
        }
    }

    pub fn get(&self) -> &T {
        self.slots.get(self.make)
    }
}

/// A value made once per fork generation (a connection pool, a connection): a child
/// after `fork()` makes its own at first use and leaves the parent's alone.
pub struct ForkLocal<T> {
    slots: Slots<Mutex<Option<T>>>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T: Clone> ForkLocal<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            slots: Slots::new(),
            make: Box::new(make),
        }
    }

    /// With `first` as this generation's value (made already, by the caller).
    pub fn with(first: T, make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let local = Self::new(make);
        local.slots.get(|| Mutex::new(Some(first.clone())));
        local
    }

    pub fn get(&self) -> T {
        let slot = self.slots.get(|| Mutex::new(None));
        let mut value = slot.lock().unwrap_or_else(|e| e.into_inner());
        value.get_or_insert_with(|| (self.make)()).clone()
    }
}

impl<T> Drop for ForkLocal<T> {
    fn drop(&mut self) {
        self.slots.free();
    }
}

impl<T> std::fmt::Debug for ForkLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForkLocal")
    }
}
