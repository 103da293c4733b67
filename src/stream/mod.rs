//! Reading a stream: a ConverseStream's events or an InvokeModelWithResponseStream's chunks
//! (`kinds`). A pump task on the runtime (`pump`) reads frames with the GIL released and
//! hands decoded items to Python through a channel; Python takes what has already arrived
//! without any thread hand-off, and waits (parked or awaiting) only when the channel is
//! empty. An item is taken only on the reader's own thread, so a read that is cancelled or
//! interrupted leaves it for the next read. `EventStream` (`boto3`) is the boto3-shaped
//! reader over it, for both kinds; a turn reads through `turn::stream`.

mod boto3;
mod kinds;
mod pump;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use pyo3::prelude::*;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub use boto3::PyEventStream;
use kinds::interrupted;
pub use kinds::{ChunkReceiver, ConverseReceiver, Events};
pub use pump::transient;
use pump::{Waiter, Waiting, CHANNEL};

use crate::errors::ErrorInfo;
use crate::runtime;
use crate::wake;

/// A stream whose response headers arrived.
pub struct Started<R = ConverseReceiver> {
    pub receiver: R,
    pub request_id: Option<String>,
    /// The response's headers and the attempts it took (boto3's `ResponseMetadata`).
    pub seen: crate::exchange::Seen,
    /// Its place in the rate limiter, settled by the pump when the stream ends.
    pub reservation: Option<crate::limit::Reservation>,
}

pub type StartFuture<R = ConverseReceiver> =
    Pin<Box<dyn Future<Output = Result<Started<R>, ErrorInfo>> + Send>>;
/// Sends the request (again): the SDK's own retries apply until the headers arrive.
pub type Restart<R = ConverseReceiver> = Box<dyn FnMut() -> StartFuture<R> + Send>;

/// What the pump hands over. Kept small, as items move through a batch, the reader's queue
/// and the conversion: the SDK's event is 288 bytes, copied at every move.
pub enum Item {
    /// A text delta, the common event, unpacked on the pump's thread.
    Text {
        index: i32,
        text: String,
    },
    /// Any other event.
    Event(Box<ConverseStreamOutput>),
    /// A chunk of an InvokeModel stream: the model's own body format, as bytes.
    Chunk(Vec<u8>),
    /// An InvokeModel stream's event of a kind this version does not know.
    Unknown,
    End {
        request_id: Option<String>,
        /// The retries the stream took to start (boxed: the item stays small).
        retries: Option<Box<Vec<crate::exchange::Retry>>>,
    },
    Failed(Box<ErrorInfo>),
}

impl Item {
    fn from_event(event: ConverseStreamOutput) -> Self {
        use aws_sdk_bedrockruntime::types::{ContentBlockDelta, ContentBlockDeltaEvent};
        match event {
            ConverseStreamOutput::ContentBlockDelta(ContentBlockDeltaEvent {
                delta: Some(ContentBlockDelta::Text(text)),
                content_block_index: index,
                ..
            }) => Self::Text { index, text },
            other => Self::Event(Box::new(other)),
        }
    }

    pub fn failed(info: ErrorInfo) -> Self {
        Self::Failed(Box::new(info))
    }

    /// The tokens the request used, from a stream's metadata event.
    fn usage(&self) -> Option<u64> {
        match self {
            Self::Event(event) => match &**event {
                ConverseStreamOutput::Metadata(m) => m
                    .usage()
                    .map(|u| (u.input_tokens() + u.output_tokens()).max(0) as u64),
                _ => None,
            },
            _ => None,
        }
    }
}

/// How the pump reads.
pub struct PumpOptions {
    /// Longest wait for the next event (the SDK's receiver has none of its own, WIRE.md).
    pub idle_timeout: Duration,
    pub model_id: String,
    /// Attempts in all, counting the first; more than one needs a `Restart`.
    pub max_attempts: u32,
}

/// The reading end of a pump. Dropping it stops the pump and closes the connection.
pub struct Pump {
    rx: std::sync::Mutex<mpsc::Receiver<Vec<Item>>>,
    /// The rest of the last batch taken from the channel, in order.
    ready: std::sync::Mutex<VecDeque<Item>>,
    task: AbortHandle,
    done: AtomicBool,
    /// The readers awaiting the next batch.
    waiter: Waiter,
}

impl Pump {
    pub fn spawn<R: Events>(
        first: Option<Started<R>>,
        restart: Option<Restart<R>>,
        opts: PumpOptions,
    ) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let waiter = Waiter::default();
        let task = runtime::get()
            .spawn(pump::pump(
                tx,
                waiter.clone(),
                first.map(Box::new),
                restart,
                opts,
            ))
            .abort_handle();
        Self {
            rx: std::sync::Mutex::new(rx),
            ready: std::sync::Mutex::new(VecDeque::new()),
            task,
            done: AtomicBool::new(false),
            waiter,
        }
    }

    /// The next item if one already arrived; otherwise `future` is set (through `waker`)
    /// when the next batch arrives or the pump ends, and the reader asks again then.
    pub fn next_or_wake(
        &self,
        py: Python<'_>,
        waker: wake::Waker,
        future: &Py<PyAny>,
    ) -> Option<Item> {
        // Note: the waiter is in place before looking, so a batch handed over meanwhile wakes it.
        self.waiters()
            .push(Waiting::Loop(waker, future.clone_ref(py)));
        let item = self.try_next();
        if item.is_some() {
            self.unwait(future);
        }
        item
    }

    /// The reader of `future` no longer waits (its read was cancelled, or it got its item).
    pub fn unwait(&self, future: &Py<PyAny>) {
        let mut waiters = self.waiters();
        let gone: Vec<_> = waiters
            .extract_if(.., |w| matches!(w, Waiting::Loop(_, f) if f.is(future)))
            .collect();
        drop(waiters);
        drop(gone);
    }

    /// The current thread no longer waits.
    fn unwait_thread(&self) {
        let me = std::thread::current().id();
        self.waiters()
            .retain(|w| !matches!(w, Waiting::Thread(t) if t.id() == me));
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, VecDeque<Item>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the first item of a batch and keeps the rest for the next reads.
    fn take_batch(&self, batch: Option<Vec<Item>>) -> Item {
        let Some(batch) = batch else {
            return self.settle(None);
        };
        let mut ready = self.ready();
        if ready.is_empty() {
            *ready = VecDeque::from(batch);
        } else {
            ready.extend(batch);
        }
        let item = ready.pop_front();
        drop(ready);
        self.settle(item)
    }

    fn settle(&self, item: Option<Item>) -> Item {
        let item = item.unwrap_or_else(|| {
            // The pump ended without a word: only after close() or an abort.
            Item::failed(interrupted("the stream was closed".into()))
        });
        if !matches!(
            item,
            Item::Event(_) | Item::Text { .. } | Item::Chunk(_) | Item::Unknown
        ) {
            self.done.store(true, Ordering::Release);
        }
        item
    }

    /// The next item if one already arrived, without waiting.
    pub fn try_next(&self) -> Option<Item> {
        if self.done.load(Ordering::Acquire) {
            return Some(Item::End {
                request_id: None,
                retries: None,
            });
        }
        if let Some(item) = self.ready().pop_front() {
            return Some(self.settle(Some(item)));
        }
        // Note: held only to take a batch, never across a wait.
        let mut rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        // Another reader may have taken a batch while this one waited for the lock: its rest
        // comes first (and after the last batch, `try_recv` would find the channel closed).
        if let Some(item) = self.ready().pop_front() {
            return Some(self.settle(Some(item)));
        }
        match rx.try_recv() {
            Ok(batch) => Some(self.take_batch(Some(batch))),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => Some(self.take_batch(None)),
        }
    }

    /// Stops reading and closes the connection.
    pub fn close(&self) {
        self.done.store(true, Ordering::Release);
        self.task.abort();
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for the next item: at once when one is there, else parked with the GIL released
/// until the pump hands over a batch (Ctrl-C is looked at every `SIGNAL_CHECK`).
pub fn next_blocking(py: Python<'_>, pump: &Pump) -> PyResult<Item> {
    loop {
        if let Some(item) = pump.try_next() {
            return Ok(item);
        }
        // Note: the waiter is in place before looking again, so a batch handed over
        // meanwhile unparks this thread (or leaves it a token: `park` then returns at once).
        pump.waiters().push(Waiting::Thread(std::thread::current()));
        let item = pump.try_next();
        if item.is_none() {
            py.detach(|| std::thread::park_timeout(runtime::SIGNAL_CHECK));
        }
        pump.unwait_thread();
        if let Some(item) = item {
            return Ok(item);
        }
        py.check_signals()?;
    }
}
