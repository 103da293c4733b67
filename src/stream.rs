//! Reading a ConverseStream. A pump task on the runtime reads frames with the GIL released
//! and hands decoded events to Python through a channel; Python takes what has already
//! arrived without any thread hand-off, and waits (blocking or awaiting) only when the
//! channel is empty. `EventStream` is the boto3-shaped reader over it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::errors::ErrorInfo;
use crate::runtime;
use crate::wake;
use crate::wire::pyobj::py_repr;
use crate::wire::response;

pub type Receiver = aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
    ConverseStreamOutput,
    ConverseStreamOutputError,
>;

/// The code of an in-stream exception: the SDK knows it from `:exception-type` only, as
/// the variant (the payload carries just the message).
fn stream_error_code(err: &ConverseStreamOutputError) -> &'static str {
    match err {
        ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
        ConverseStreamOutputError::ValidationException(_) => "ValidationException",
        ConverseStreamOutputError::ModelStreamErrorException(_) => "ModelStreamErrorException",
        ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
        ConverseStreamOutputError::ServiceUnavailableException(_) => "ServiceUnavailableException",
        _ => "Unknown",
    }
}

fn interrupted(message: String) -> ErrorInfo {
    let mut info = ErrorInfo::new("StreamInterruptedError", message);
    info.retryable = true;
    info
}

/// Classifies an error that ended a stream.
pub fn stream_error<R: std::fmt::Debug>(err: &SdkError<ConverseStreamOutputError, R>) -> ErrorInfo {
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or_else(|| stream_error_code(e));
            // Note: an in-stream exception arrives inside a response that began with 200.
            ErrorInfo::service(code, e.message().unwrap_or("")).with_status(200)
        }
        // Anything else after the stream started means the connection broke.
        other => interrupted(format!(
            "the stream was cut before it ended: {}",
            crate::errors::readable(other)
        )),
    }
}

/// A stream whose response headers arrived.
pub struct Started {
    pub receiver: Receiver,
    pub request_id: Option<String>,
    /// The response's headers and the attempts it took (boto3's `ResponseMetadata`).
    pub seen: crate::exchange::Seen,
}

pub type StartFuture = Pin<Box<dyn Future<Output = Result<Started, ErrorInfo>> + Send>>;
/// Sends the request (again): the SDK's own retries apply until the headers arrive.
pub type Restart = Box<dyn FnMut() -> StartFuture + Send>;

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
    End {
        request_id: Option<String>,
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
}

/// How the pump reads.
pub struct PumpOptions {
    /// Longest wait for the next event (the SDK's receiver has none of its own, WIRE.md).
    pub idle_timeout: Duration,
    pub model_id: String,
    /// Attempts in all, counting the first; more than one needs a `Restart`.
    pub max_attempts: u32,
}

/// Events that may arrive before the answer starts; a retry after anything else would
/// repeat what the reader already saw.
fn is_content(event: &ConverseStreamOutput) -> bool {
    !matches!(event, ConverseStreamOutput::MessageStart(_))
}

/// Failures worth one more try when nothing of the answer was read yet.
fn transient(info: &ErrorInfo) -> bool {
    matches!(
        info.class,
        "ThrottlingError"
            | "InternalServerError"
            | "ServiceUnavailableError"
            | "StreamInterruptedError"
    )
}

/// Exponential backoff with jitter: about 0.1 s, 0.2 s, 0.4 s ... at most 5 s.
fn backoff(attempt: u32) -> Duration {
    let base = 0.1 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
    Duration::from_secs_f64(base.min(5.0) * (0.5 + fastrand::f64() * 0.5))
}

/// Events handed over in one wake-up at most: all that were decoded from the bytes already
/// received, so that neither side wakes the other once per event.
const BATCH: usize = 128;
/// Batches decoded ahead of the reader: with `BATCH`, at most 256 events wait in the channel,
/// enough to keep the reader fed, few enough that thousands of streams stay small in memory.
const CHANNEL: usize = 2;

/// What `receiver.recv()` gave: an event, the end (`Ok(None)`), an error, or the idle timeout.
type Next = Result<
    Result<
        Option<ConverseStreamOutput>,
        SdkError<ConverseStreamOutputError, aws_smithy_types::event_stream::RawMessage>,
    >,
    tokio::time::error::Elapsed,
>;

/// A reader waiting for the next batch.
enum Waiting {
    /// Awaiting on an event loop: its loop future is set.
    Loop(wake::Waker, Py<PyAny>),
    /// Blocked in `next_blocking`: the thread is unparked.
    Thread(std::thread::Thread),
}

/// The readers waiting, woken when the pump hands over a batch or ends (each then takes what
/// is there, on its own thread; one that finds nothing waits again). Usually one; two tasks
/// or threads may read one stream at once.
type Waiter = Arc<std::sync::Mutex<Vec<Waiting>>>;

fn wake_waiter(waiter: &Waiter) {
    let waiting = std::mem::take(&mut *waiter.lock().unwrap_or_else(|e| e.into_inner()));
    for w in waiting {
        match w {
            Waiting::Loop(waker, future) => waker.wake(future),
            Waiting::Thread(thread) => thread.unpark(),
        }
    }
}

/// Wakes the waiting reader when the pump ends, however it ends (an abort included).
struct WakeAtEnd(Waiter);

impl Drop for WakeAtEnd {
    fn drop(&mut self) {
        wake_waiter(&self.0);
    }
}

/// Hands `batch` to the reader and wakes it if it awaits; false when the reader went away.
async fn hand(tx: &mpsc::Sender<Vec<Item>>, batch: Vec<Item>, waiter: &Waiter) -> bool {
    let sent = tx.send(batch).await.is_ok();
    wake_waiter(waiter);
    sent
}

async fn pump(
    tx: mpsc::Sender<Vec<Item>>,
    waiter: Waiter,
    mut first: Option<Box<Started>>,
    mut restart: Option<Restart>,
    opts: PumpOptions,
) {
    use futures_util::FutureExt;

    let _end = WakeAtEnd(waiter.clone());

    let mut attempt = 0;
    let mut saw_start = false;
    let mut saw_content = false;
    let mut batch: Vec<Item> = Vec::new();
    loop {
        attempt += 1;
        let started = match first.take() {
            Some(s) => Ok(s),
            None => match restart.as_mut() {
                Some(restart) => restart().await.map(Box::new),
                None => return,
            },
        };
        let (mut receiver, request_id) = match started {
            Ok(s) => (Box::new(s.receiver), s.request_id),
            Err(info) => {
                batch.push(Item::failed(info));
                hand(&tx, batch, &waiter).await;
                return;
            }
        };
        let failure = loop {
            // Note: the read item is taken apart in this block, so that neither it (288 bytes)
            // nor what it holds stays in the pump's state across the awaits below: thousands
            // of streams keep one pump each.
            let read = {
                let next: Next = if batch.is_empty() {
                    tokio::select! {
                        // Note: the next event first; `closed()` is only looked at while waiting.
                        biased;
                        next = tokio::time::timeout(opts.idle_timeout, receiver.recv()) => next,
                        // The reader went away: stop reading, which closes the connection.
                        _ = tx.closed() => return,
                    }
                } else {
                    // Note: `recv()` only awaits the body's next chunk, so dropping it
                    // unfinished loses nothing; it is ready at once while whole frames are
                    // buffered.
                    match receiver.recv().now_or_never() {
                        Some(next) => Ok(next),
                        None => {
                            // Nothing more has arrived: hand over what was read.
                            if !hand(&tx, std::mem::take(&mut batch), &waiter).await {
                                return;
                            }
                            continue;
                        }
                    }
                };
                match next {
                    Ok(Ok(Some(event))) => {
                        if is_content(&event) {
                            saw_content = true;
                        } else if saw_start {
                            continue; // a retried stream repeats messageStart
                        } else {
                            saw_start = true;
                        }
                        Ok(Some(Item::from_event(event)))
                    }
                    Ok(Ok(None)) => Ok(None),
                    Ok(Err(err)) => Err(Box::new(stream_error(&err))),
                    Err(_) => Err(Box::new(interrupted(format!(
                        "no event arrived for {:?}",
                        opts.idle_timeout
                    )))),
                }
            };
            match read {
                Ok(Some(item)) => {
                    batch.push(item);
                    if batch.len() >= BATCH && !hand(&tx, std::mem::take(&mut batch), &waiter).await
                    {
                        return;
                    }
                }
                Ok(None) => {
                    batch.push(Item::End { request_id });
                    hand(&tx, batch, &waiter).await;
                    return;
                }
                Err(failure) => break failure,
            }
        };
        let mut failure = Box::new(failure.with_model(Some(&opts.model_id)));
        failure.request_id = failure.request_id.take().or(request_id);
        if saw_content || attempt >= opts.max_attempts || restart.is_none() || !transient(&failure)
        {
            batch.push(Item::Failed(failure));
            hand(&tx, batch, &waiter).await;
            return;
        }
        drop(receiver);
        if !batch.is_empty() && !hand(&tx, std::mem::take(&mut batch), &waiter).await {
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
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
    pub fn spawn(first: Option<Started>, restart: Option<Restart>, opts: PumpOptions) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let waiter = Waiter::default();
        let task = runtime::get()
            .spawn(pump(tx, waiter.clone(), first.map(Box::new), restart, opts))
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
        if !matches!(item, Item::Event(_) | Item::Text { .. }) {
            self.done.store(true, Ordering::Release);
        }
        item
    }

    /// The next item if one already arrived, without waiting.
    pub fn try_next(&self) -> Option<Item> {
        if self.done.load(Ordering::Acquire) {
            return Some(Item::End { request_id: None });
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

/// `response["stream"]` of `converse_stream`: iterate it with `for` or `async for`.
#[pyclass(name = "EventStream", module = "fastconverse._core", frozen)]
pub struct PyEventStream {
    pump: std::sync::Arc<Pump>,
    model_id: String,
}

impl PyEventStream {
    pub fn new(started: Started, idle_timeout: Duration, model_id: String) -> Self {
        let opts = PumpOptions {
            idle_timeout,
            model_id: model_id.clone(),
            max_attempts: 1,
        };
        Self {
            pump: std::sync::Arc::new(Pump::spawn(Some(started), None, opts)),
            model_id,
        }
    }
}

fn event_dict(py: Python<'_>, item: Item) -> PyResult<Option<Py<PyAny>>> {
    match item {
        Item::Text { index, text } => Ok(Some(
            response::text_delta_event(py, index, &text)?
                .into_any()
                .unbind(),
        )),
        Item::Event(event) => Ok(Some(
            response::stream_event(py, &event)?.into_any().unbind(),
        )),
        Item::End { .. } => Ok(None),
        Item::Failed(info) => Err(info.into_pyerr(py)),
    }
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let item = next_blocking(py, &self.pump)?;
        event_dict(py, item)?.ok_or_else(|| PyStopIteration::new_err(()))
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> runtime::Bridge {
        fn to_py(py: Python<'_>, item: Item) -> PyResult<Py<PyAny>> {
            event_dict(py, item)?.ok_or_else(|| PyStopAsyncIteration::new_err(()))
        }
        if let Some(item) = self.pump.try_next() {
            return runtime::Bridge::value(to_py(py, item));
        }
        let (pump, unwaiting) = (self.pump.clone(), self.pump.clone());
        runtime::Bridge::poll(
            move |py, wait| {
                let item = match wait {
                    Some((waker, future)) => pump.next_or_wake(py, waker, future),
                    None => pump.try_next(),
                }?;
                Some(to_py(py, item))
            },
            move |future: &Py<PyAny>| unwaiting.unwait(future),
        )
    }

    /// Stops reading and closes the connection (also done when the stream is dropped).
    fn close(&self) {
        self.pump.close();
    }

    fn __repr__(&self) -> String {
        format!("EventStream(model_id={})", py_repr(&self.model_id))
    }
}
