//! `_RequestStream`: one streamed request of a turn, as typed events. Events become Python
//! objects on the reader's thread, once each; the end of the stream takes the assembled
//! reply into the turn there too. A read that is cancelled while its event is on the way
//! breaks the stream: an event the reader never saw can never be committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use super::io::Resumer;
use super::resume::Resuming;
use crate::assembler::Assembler;
use crate::errors::ErrorInfo;
use crate::events;
use crate::runtime::Bridge;
use crate::stream::{self, Item, Pump};
use crate::wake;
use crate::wire::pyobj::py_repr;

/// What the stream tells its turn (the turn implements it: the stream never names it).
pub trait Taker: Send + Sync {
    /// The stream's first content arrived.
    fn first_token(&self);
    /// The stream's outcome; `unseen`: a failure before any content.
    fn on_reply(
        &self,
        py: Python<'_>,
        out: Result<crate::reply::ReplyData, ErrorInfo>,
        unseen: bool,
    ) -> PyResult<()>;
}

struct Shared {
    /// The pump of the request under way (a resumed stream's replaces the cut one's).
    pump: Mutex<Arc<Pump>>,
    assembler: Mutex<Assembler>,
    /// How the stream resumes, when it may.
    resuming: Option<Mutex<Resuming>>,
    /// The stream ended (read to its end, failed or closed).
    ended: AtomicBool,
    /// Content reached the reader (a failure now cannot be retried unseen).
    content: AtomicBool,
    model_id: String,
    turn: Box<dyn Taker>,
}

enum Step {
    Yield(Py<PyAny>),
    Stop,
}

impl Shared {
    fn assembler(&self) -> MutexGuard<'_, Assembler> {
        self.assembler.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pump(&self) -> Arc<Pump> {
        self.pump.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn resuming(&self) -> Option<MutexGuard<'_, Resuming>> {
        self.resuming
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// An item as the reader and the assembler take it: a resumed stream's renumbered onto
    /// the message so far; None for one that says nothing new.
    fn take(&self, item: Item) -> Option<Item> {
        match self.resuming() {
            Some(mut r) => r.map(item),
            None => Some(item),
        }
    }

    /// Resumes the stream after `info` when it may: the new request's pump replaces the
    /// cut one, and the reader gets a `Resumed` event.
    fn resume(&self, py: Python<'_>, info: &ErrorInfo) -> PyResult<Option<Py<PyAny>>> {
        let Some(mut resuming) = self.resuming() else {
            return Ok(None);
        };
        let started = {
            let mut assembler = self.assembler();
            resuming.start(&mut assembler, &self.model_id, info)
        };
        let Some((pump, event)) = started else {
            return Ok(None);
        };
        let pump = Arc::new(pump);
        *self.pump.lock().unwrap_or_else(|e| e.into_inner()) = pump.clone();
        drop(resuming);
        if self.ended.load(Ordering::Acquire) {
            pump.close(); // (closed meanwhile, from another thread)
        }
        Ok(Some(Py::new(py, event)?.into_any()))
    }

    /// What the reader gets for one item, on the reader's thread.
    fn step(&self, py: Python<'_>, item: Item) -> PyResult<Step> {
        if self.ended.load(Ordering::Acquire) {
            return Ok(Step::Stop);
        }
        match item {
            Item::Text { index, text } => {
                self.assemble(|a| a.push_text(index, &text));
                Ok(Step::Yield(events::text_delta(py, index, &text)?))
            }
            Item::Event(event) => {
                self.assemble(|a| a.push(&event));
                // Note: hidden events never get here (`hidden` takes them in first).
                Ok(match events::to_py(py, *event)? {
                    Some(obj) => Step::Yield(obj),
                    None => Step::Yield(py.None()),
                })
            }
            // (a turn reads a ConverseStream, which has no chunks: `hidden` drops any)
            Item::Chunk(_) | Item::Unknown => Ok(Step::Yield(py.None())),
            Item::End {
                request_id,
                retries,
            } => {
                self.ended.store(true, Ordering::Release);
                self.pump().close();
                let assembler = std::mem::take(&mut *self.assembler());
                let out = assembler
                    .finish(&self.model_id, request_id)
                    .map(|mut reply| {
                        reply.retries = retries.map(|r| *r).unwrap_or_default();
                        if let Some(r) = self.resuming() {
                            r.settle(&mut reply);
                        }
                        reply
                    })
                    .map_err(|e| *e);
                self.finish(py, out, false)?;
                Ok(Step::Stop)
            }
            Item::Failed(info) => {
                let unseen = !self.content.load(Ordering::Acquire);
                if !unseen && crate::turn::resume::resumable(&info) && self.assembler().stopped() {
                    if let Some(resuming) = self.resuming() {
                        // Only the metadata was lost: the answer is whole, keep it.
                        self.ended.store(true, Ordering::Release);
                        self.pump().close();
                        let assembler = std::mem::take(&mut *self.assembler());
                        let out = assembler
                            .finish(&self.model_id, info.request_id.clone())
                            .map(|mut reply| {
                                resuming.settle_unmetered(&mut reply);
                                reply
                            })
                            .map_err(|e| *e);
                        drop(resuming);
                        self.finish(py, out, false)?;
                        return Ok(Step::Stop);
                    }
                }
                if !unseen {
                    if let Some(event) = self.resume(py, &info)? {
                        return Ok(Step::Yield(event));
                    }
                }
                self.ended.store(true, Ordering::Release);
                let mut info = *info;
                if let Some(r) = self.resuming() {
                    r.settle_failure(&mut info);
                }
                self.finish(py, Err(info), unseen)?;
                Ok(Step::Stop)
            }
        }
    }

    /// Takes one event into the assembler; the stream's first content is the turn's first
    /// token.
    fn assemble(&self, push: impl FnOnce(&mut Assembler)) {
        let first = {
            let mut assembler = self.assembler();
            push(&mut assembler);
            !self.content.load(Ordering::Relaxed) && assembler.has_content()
        };
        if first {
            self.content.store(true, Ordering::Release);
            self.turn.first_token();
        }
    }

    /// Takes the outcome into the turn; `unseen`: a failure before any content, which
    /// the turn may retry (a context overflow).
    fn finish(
        &self,
        py: Python<'_>,
        out: Result<crate::reply::ReplyData, ErrorInfo>,
        unseen: bool,
    ) -> PyResult<()> {
        self.turn.on_reply(py, out, unseen)
    }

    /// Events the reader never sees (unknown kinds) are taken in here, off the reader's
    /// thread; they go to the assembler in order all the same.
    fn hidden(&self, item: &Item) -> bool {
        match item {
            Item::Event(event) if !events::shown(event) => {
                self.assembler().push(event);
                true
            }
            Item::Chunk(_) | Item::Unknown => true,
            _ => false,
        }
    }

    /// The next item shown to the reader, from `pump`; Err when `pump` is not the stream's
    /// pump any more (it was cut and the stream resumed: read the new one).
    fn shown(&self, pump: &Arc<Pump>, item: Item) -> Result<Option<Item>, ()> {
        if !Arc::ptr_eq(pump, &self.pump()) {
            return Err(());
        }
        Ok(self.take(item).filter(|item| !self.hidden(item)))
    }

    fn next_shown_now(&self) -> Option<Item> {
        loop {
            let pump = self.pump();
            let item = pump.try_next()?;
            if let Ok(Some(item)) = self.shown(&pump, item) {
                return Some(item);
            }
        }
    }

    /// The next item shown to the reader if one already arrived; otherwise `future` is set
    /// (through `waker`) when more arrives.
    fn next_shown_or_wake(
        &self,
        py: Python<'_>,
        waker: &wake::Waker,
        future: &Py<PyAny>,
    ) -> Option<Item> {
        loop {
            let pump = self.pump();
            let item = pump.next_or_wake(py, waker.clone(), future)?;
            if let Ok(Some(item)) = self.shown(&pump, item) {
                return Some(item);
            }
        }
    }

    /// What the reader gets for one item, as the result of an `__anext__`.
    fn to_result(&self, py: Python<'_>, item: Item) -> PyResult<Py<PyAny>> {
        match self.step(py, item)? {
            Step::Yield(obj) => Ok(obj),
            Step::Stop => Err(PyStopAsyncIteration::new_err(())),
        }
    }
}

#[pyclass(name = "_RequestStream", module = "fastconverse._core", frozen)]
pub struct PyRequestStream {
    shared: Arc<Shared>,
}

impl PyRequestStream {
    /// `resumer`: how the stream resumes, and how many times at most.
    pub fn new(
        pump: Pump,
        model_id: String,
        turn: Box<dyn Taker>,
        resumer: Option<(Resumer, u32)>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                pump: Mutex::new(Arc::new(pump)),
                assembler: Mutex::new(Assembler::default()),
                resuming: resumer.map(|(r, tries)| Mutex::new(Resuming::new(r, tries))),
                ended: AtomicBool::new(false),
                content: AtomicBool::new(false),
                model_id,
                turn,
            }),
        }
    }
}

#[pymethods]
impl PyRequestStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let shared = &self.shared;
        loop {
            let pump = shared.pump();
            let item = stream::next_blocking(py, &pump)?;
            let Ok(Some(item)) = shared.shown(&pump, item) else {
                continue;
            };
            return match shared.step(py, item)? {
                Step::Yield(obj) => Ok(obj),
                Step::Stop => Err(PyStopIteration::new_err(())),
            };
        }
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Bridge> {
        if let Some(item) = self.shared.next_shown_now() {
            return Ok(Bridge::value(self.shared.to_result(py, item)));
        }
        let (shared, unwaiting) = (self.shared.clone(), self.shared.clone());
        // Note: the item is taken on the awaiting thread, so a cancelled read loses nothing.
        Ok(Bridge::poll(
            move |py, wait| {
                let item = match wait {
                    Some((waker, future)) => shared.next_shown_or_wake(py, &waker, future),
                    None => shared.next_shown_now(),
                }?;
                Some(shared.to_result(py, item))
            },
            move |future: &Py<PyAny>| unwaiting.pump().unwait(future),
        ))
    }

    /// Stops reading and closes the connection; the turn gets no reply from it.
    fn close(&self) {
        self.shared.ended.store(true, Ordering::Release);
        self.shared.pump().close();
    }

    #[getter]
    fn done(&self) -> bool {
        self.shared.ended.load(Ordering::Acquire) || self.shared.pump().is_done()
    }

    fn __repr__(&self) -> String {
        format!(
            "_RequestStream(model_id={})",
            py_repr(&self.shared.model_id)
        )
    }
}
