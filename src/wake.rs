//! How a tokio task tells an asyncio loop that a result is ready, without taking the GIL.
//!
//! Each event loop gets one `LoopWaker`: a queue of the loop futures whose results are
//! ready, and (on Unix) a socket pair whose read end the loop watches with `add_reader`. A
//! worker thread pushes the future and, only when the queue was empty, writes one byte: no
//! GIL, no Python call, however many results finish before the loop looks. The loop then
//! drains the whole queue in one callback. Where a loop cannot watch a socket (Windows'
//! proactor loop) the first push of a batch takes the GIL and calls `call_soon_threadsafe`
//! instead, still once per batch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};
use pyo3::types::PyWeakrefReference;

/// Wake-ups of an event loop under way by the fallback path (`call_soon_threadsafe`
/// releases the GIL inside); interpreter exit waits for them.
pub static WAKING: AtomicUsize = AtomicUsize::new(0);

/// Set at interpreter exit: from then on no worker calls into Python.
pub static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A loop held weakly (a loop nobody keeps must go, closed by its own `__del__`), or
/// strongly when its type takes no weak references.
enum LoopRef {
    Weak(Py<PyWeakrefReference>),
    Strong(Py<PyAny>),
}

impl LoopRef {
    fn new(event_loop: &Bound<'_, PyAny>) -> Self {
        match PyWeakrefReference::new(event_loop) {
            Ok(weak) => Self::Weak(weak.unbind()),
            Err(_) => Self::Strong(event_loop.clone().unbind()),
        }
    }

    fn get<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        match self {
            Self::Weak(weak) => weak.bind(py).upgrade(),
            Self::Strong(strong) => Some(strong.bind(py).clone()),
        }
    }
}

/// How a waker wakes its loop.
enum Signal {
    /// A byte on a socket pair whose read end the loop watches (`add_reader`).
    #[cfg(unix)]
    Socket(
        std::os::unix::net::UnixStream,
        std::os::unix::net::UnixStream,
    ),
    /// `call_soon_threadsafe(drain)` on the loop, GIL taken.
    Soon,
}

struct Inner {
    /// Loop futures whose results are ready, in the order they became ready.
    ready: Mutex<Vec<Py<PyAny>>>,
    signal: OnceLock<Signal>,
    /// The loop and the bound `drain`, for `call_soon_threadsafe`: the fallback, and what a
    /// socket that could not be written falls back on.
    soon: OnceLock<(LoopRef, Py<PyAny>)>,
}

/// The waker of one event loop (see the module's note). Cheap to clone.
#[derive(Clone)]
pub struct Waker(Arc<Inner>);

impl Waker {
    /// `future` (of this waker's loop) is to be set done; callable from any thread, GIL or not.
    pub fn wake(&self, future: Py<PyAny>) {
        let first = {
            let mut ready = self.0.ready.lock().unwrap_or_else(|e| e.into_inner());
            ready.push(future);
            ready.len() == 1
        };
        if first {
            self.notify();
        }
    }

    fn notify(&self) {
        #[cfg(unix)]
        if let Some(Signal::Socket(_, tx)) = self.0.signal.get() {
            use std::io::Write;
            match (&*tx).write(&[1]) {
                Ok(_) => return,
                // A full buffer: a byte is already waiting, and that is all it takes.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // Any other failure: this batch goes the portable way, or none would follow.
                Err(_) => {}
            }
        }
        let Some((event_loop, drain)) = self.0.soon.get() else {
            return;
        };
        WAKING.fetch_add(1, Ordering::SeqCst);
        if !EXITING.load(Ordering::SeqCst) {
            Python::attach(|py| {
                // Fails only when the loop is gone or closed: then nobody waits for the result.
                if let Some(event_loop) = event_loop.get(py) {
                    let _ = event_loop.call_method1("call_soon_threadsafe", (drain,));
                }
            });
        }
        WAKING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The Python side of a waker: what the loop calls when the waker's socket is readable.
#[pyclass(name = "_LoopWaker", module = "fastconverse._core", frozen)]
pub struct PyLoopWaker {
    /// Weak: the loop holds this object, and the waker's fallback holds the loop.
    waker: Weak<Inner>,
}

#[pymethods]
impl PyLoopWaker {
    /// Sets done every future whose result became ready (a cancelled one is left alone).
    /// Every future is seen to even when one fails; the first failure is raised after.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let Some(inner) = self.waker.upgrade() else {
            return Ok(());
        };
        #[cfg(unix)]
        if let Some(Signal::Socket(rx, _)) = inner.signal.get() {
            use std::io::Read;
            let mut sink = [0u8; 256];
            // Note: emptied before the queue is taken, so a push after the take writes anew.
            while matches!((&*rx).read(&mut sink), Ok(n) if n > 0) {}
        }
        let ready = std::mem::take(&mut *inner.ready.lock().unwrap_or_else(|e| e.into_inner()));
        let mut first_error = None;
        for future in ready {
            let future = future.bind(py);
            let woken = future
                .call_method0(pyo3::intern!(py, "done"))
                .and_then(|done| done.is_truthy())
                .and_then(|done| match done {
                    true => Ok(()),
                    false => future
                        .call_method1(pyo3::intern!(py, "set_result"), (py.None(),))
                        .map(drop),
                });
            if let Err(e) = woken {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The wakers of the event loops seen so far, with their loops (weakly).
/// One registry per fork generation: a child after `fork()` never takes the parent's lock
/// (a parent thread may have held it), and its loops get wakers of their own.
static WAKERS: crate::fork::PerFork<Mutex<Vec<(LoopRef, Waker)>>> =
    crate::fork::PerFork::new(|| Mutex::new(Vec::new()));
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The running event loop of this thread (asyncio's `RuntimeError` when there is none).
pub fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            py.import("asyncio")?
                .getattr("get_running_loop")
                .map(Bound::unbind)
        })?
        .bind(py)
        .call0()
}

/// Whether a registry entry's loop is gone or closed (a loop that cannot say is kept).
fn gone(py: Python<'_>, event_loop: &LoopRef) -> bool {
    match event_loop.get(py) {
        None => true,
        Some(l) => l
            .call_method0("is_closed")
            .and_then(|c| c.is_truthy())
            .unwrap_or(false),
    }
}

/// The waker of `event_loop`, made on first use. Loops gone or closed since are forgotten
/// then (their sockets closed).
pub fn for_loop(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Waker> {
    // Note: the lock is awaited with the GIL released, as the Python calls made under it may
    // let another thread run, and that thread may be waiting here.
    let mut wakers = WAKERS
        .get()
        .lock_py_attached(py)
        .unwrap_or_else(|e| e.into_inner());
    let found = wakers
        .iter()
        .find(|(l, _)| l.get(py).is_some_and(|l| l.is(event_loop)));
    if let Some((_, waker)) = found {
        return Ok(waker.clone());
    }
    let (forgotten, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut *wakers)
        .into_iter()
        .partition(|(l, _)| gone(py, l));
    *wakers = kept;
    let made = make(py, event_loop);
    if let Ok(waker) = &made {
        wakers.push((LoopRef::new(event_loop), waker.clone()));
    }
    drop(wakers);
    // Note: dropped after the lock, as it may free Python objects whose finalizers run code.
    drop(forgotten);
    made
}

fn make(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Waker> {
    let waker = Waker(Arc::new(Inner {
        ready: Mutex::new(Vec::new()),
        signal: OnceLock::new(),
        soon: OnceLock::new(),
    }));
    let drain = Bound::new(
        py,
        PyLoopWaker {
            waker: Arc::downgrade(&waker.0),
        },
    )?
    .getattr("drain")?;
    let _ = waker
        .0
        .soon
        .set((LoopRef::new(event_loop), drain.clone().unbind()));
    #[cfg(unix)]
    {
        let (rx, tx) = std::os::unix::net::UnixStream::pair()
            .and_then(|(rx, tx)| {
                rx.set_nonblocking(true)?;
                tx.set_nonblocking(true)?;
                Ok((rx, tx))
            })
            .map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!(
                    "fastconverse could not make the socket pair that wakes the event loop: {e}"
                ))
            })?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&rx);
        // Note: registered in an empty context, so that the loop's handle keeps none of the
        // first caller's context variables alive.
        let empty = py.import("contextvars")?.getattr("Context")?.call0()?;
        let add_reader = event_loop.getattr("add_reader")?;
        match empty.call_method1("run", (add_reader, fd, &drain)) {
            Ok(_) => {
                let _ = waker.0.signal.set(Signal::Socket(rx, tx));
                return Ok(waker);
            }
            // Note: a loop that cannot watch sockets (a proactor) is woken the portable way.
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py) => {}
            Err(e) => return Err(e),
        }
    }
    let _ = waker.0.signal.set(Signal::Soon);
    Ok(waker)
}
