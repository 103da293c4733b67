//! The pump: a task on the runtime that reads a stream's frames with the GIL released,
//! retries what may be retried before any content, and hands the decoded items over in
//! batches, waking the readers that wait.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::sync::mpsc;

use super::kinds::{interrupted, Events, Received};
use super::{Item, PumpOptions, Restart, Started};
use crate::errors::ErrorInfo;
use crate::wake;

/// Failures worth one more try when nothing of the answer was read yet.
pub fn transient(info: &ErrorInfo) -> bool {
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
pub(super) const CHANNEL: usize = 2;

/// What `receiver.next()` gave: an item, the end (`Ok(None)`), an error, or the idle timeout.
type Next = Result<Result<Option<Received>, ErrorInfo>, tokio::time::error::Elapsed>;

/// A reader waiting for the next batch.
pub(super) enum Waiting {
    /// Awaiting on an event loop: its loop future is set.
    Loop(wake::Waker, Py<PyAny>),
    /// Blocked in `next_blocking`: the thread is unparked.
    Thread(std::thread::Thread),
}

/// The readers waiting, woken when the pump hands over a batch or ends (each then takes what
/// is there, on its own thread; one that finds nothing waits again). Usually one; two tasks
/// or threads may read one stream at once.
pub(super) type Waiter = Arc<std::sync::Mutex<Vec<Waiting>>>;

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

pub(super) async fn pump<R: Events>(
    tx: mpsc::Sender<Vec<Item>>,
    waiter: Waiter,
    mut first: Option<Box<Started<R>>>,
    mut restart: Option<Restart<R>>,
    opts: PumpOptions,
) {
    use futures_util::FutureExt;

    let _end = WakeAtEnd(waiter.clone());

    let mut attempt = 0;
    let mut saw_start = false;
    let mut saw_content = false;
    let mut batch: Vec<Item> = Vec::new();
    // The SDK's retries of each start, and the pump's own restarts.
    let mut retries: Vec<crate::exchange::Retry> = Vec::new();
    let mut foreign: Option<String>;
    // The tokens the stream's metadata says the request used.
    let mut used: Option<u64> = None;
    loop {
        attempt += 1;
        let started = match first.take() {
            Some(s) => Ok(s),
            None => match restart.as_mut() {
                Some(restart) => restart().await.map(Box::new),
                None => return,
            },
        };
        let (mut receiver, request_id, mut reservation) = match started {
            Ok(s) => {
                retries.extend(s.seen.retries.iter().cloned());
                // (an answer that is no event stream fails at its first read: say so then)
                foreign =
                    crate::errors::foreign_answer(&s.seen, "application/vnd.amazon.eventstream");
                (Box::new(s.receiver), s.request_id, s.reservation)
            }
            Err(mut info) => {
                // (the restarts before this start, then the SDK's retries of it)
                retries.append(&mut info.retries);
                info.retries = retries;
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
                        next = tokio::time::timeout(opts.idle_timeout, receiver.next()) => next,
                        // The reader went away: stop reading, which closes the connection.
                        _ = tx.closed() => return,
                    }
                } else {
                    // Note: `next()` only awaits the body's next chunk, so dropping it
                    // unfinished loses nothing; it is ready at once while whole frames are
                    // buffered.
                    match receiver.next().now_or_never() {
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
                    Ok(Ok(Some(Received::Content(item)))) => {
                        saw_content = true;
                        Ok(Some(item))
                    }
                    Ok(Ok(Some(Received::Start(item)))) => {
                        if saw_start {
                            continue; // a retried stream repeats messageStart
                        }
                        saw_start = true;
                        Ok(Some(item))
                    }
                    Ok(Ok(None)) => Ok(None),
                    Ok(Err(err)) => Err(Box::new(err)),
                    Err(_) => Err(Box::new(interrupted(format!(
                        "no event arrived for {:?} (read_timeout)",
                        opts.idle_timeout
                    )))),
                }
            };
            match read {
                Ok(Some(item)) => {
                    used = item.usage().or(used);
                    batch.push(item);
                    if batch.len() >= BATCH && !hand(&tx, std::mem::take(&mut batch), &waiter).await
                    {
                        return;
                    }
                }
                Ok(None) => {
                    // (without a usage event, the estimate stands)
                    if let (Some(r), Some(used)) = (reservation.take(), used) {
                        r.used(used);
                    }
                    let retries =
                        (!retries.is_empty()).then(|| Box::new(std::mem::take(&mut retries)));
                    batch.push(Item::End {
                        request_id,
                        retries,
                    });
                    hand(&tx, batch, &waiter).await;
                    return;
                }
                Err(failure) => break failure,
            }
        };
        let failure = match foreign.take() {
            Some(message) if !saw_start && !saw_content => {
                let mut info = ErrorInfo::new("EndpointError", message);
                info.status = Some(200);
                Box::new(info)
            }
            _ => failure,
        };
        let mut failure = Box::new(
            failure
                .with_model(Some(&opts.model_id))
                .with_operation(R::OPERATION),
        );
        if let Some(r) = reservation.take() {
            // (an in-stream throttle came with the 200 the stream began with)
            if failure.class == "ThrottlingError" && failure.status == Some(200) {
                r.throttled();
            }
            // Refused before any of the answer, the service used nothing; after it, or
            // without an answer (a cut connection), the estimate stands.
            if !saw_content && failure.status.is_some() {
                r.unused();
            }
        }
        failure.request_id = failure.request_id.take().or(request_id);
        if saw_content || attempt >= opts.max_attempts || restart.is_none() || !transient(&failure)
        {
            failure.retries = std::mem::take(&mut retries);
            batch.push(Item::Failed(failure));
            hand(&tx, batch, &waiter).await;
            return;
        }
        drop(receiver);
        if !batch.is_empty() && !hand(&tx, std::mem::take(&mut batch), &waiter).await {
            return;
        }
        retries.push(crate::exchange::Retry {
            reason: failure
                .code
                .clone()
                .unwrap_or_else(|| failure.class.to_owned()),
            waited: backoff(attempt),
        });
        tokio::time::sleep(backoff(attempt)).await;
    }
}
