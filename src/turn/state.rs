//! What a conversation holds between turns, shared with its turns: the history, usage,
//! metrics, last reply and stored stamp (`State`, behind one lock), and the mapping between
//! it and a store's record. A turn commits into it; the conversation reads and resets it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;

use crate::context::metrics::Metrics;
use crate::reply::{PyReply, Tokens};
use crate::store::link::{Link, Snapshot, Stamp};
use crate::store::record::head_of;
use crate::store::{Failure, Record, Write};
use crate::turn::machine::Base;

/// Orders conversations by their last activity.
static CLOCK: AtomicU64 = AtomicU64::new(0);

pub fn tick() -> u64 {
    CLOCK.fetch_add(1, Ordering::Relaxed) + 1
}

pub struct State {
    /// The transcript, and where requests start in it.
    pub history: Base,
    /// The prompt tokens of the last request and how many messages it covered (exact
    /// figures from the service, for `context_tokens`).
    pub context: Option<(u64, usize)>,
    pub metrics: Metrics,
    pub model_id: String,
    pub usage: Tokens,
    /// Holds no Python object of its own (a Reply is plain data): no cycle can pass here.
    pub last_reply: Option<Py<PyReply>>,
    pub last_active: u64,
    /// The stored version, times and metadata.
    pub stamp: Stamp,
}

pub fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Note: no code panics while holding the lock; recover the data if one ever did.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loaded record as history, stamp, usage and model.
pub fn taken(record: Record) -> (Base, Stamp, Tokens, String) {
    let mut base = Base::from(record.messages);
    base.start = record.head.start;
    base.summary = record.head.summary.map(Arc::from);
    let stamp = Stamp {
        version: record.version,
        created: record.created,
        updated: record.updated,
        metadata: Arc::new(record.metadata),
        doubts: Vec::new(),
    };
    (base, stamp, record.head.usage.into(), record.head.model_id)
}

/// Takes in the store's version of the conversation (another worker's turns).
pub fn reload(state: &mut State, record: Record) {
    let (history, stamp, usage, model_id) = taken(record);
    state.history = history;
    state.stamp = stamp;
    state.usage = usage;
    state.model_id = model_id;
    state.context = None;
    state.last_reply = None;
}

/// A write of the conversation as `state` holds it (or with `history` instead), on top of
/// version `base`, from message `from` on.
pub fn state_write(
    state: &State,
    link: &Link,
    history: Option<&Base>,
    from: usize,
    base: u64,
) -> Result<Write, Failure> {
    let h = history.unwrap_or(&state.history);
    let snap = Snapshot {
        model_id: &state.model_id,
        stamp: &state.stamp,
    };
    let added = &h.messages[from.min(h.messages.len())..];
    link.write(
        &snap,
        added,
        h.start,
        h.summary.as_deref(),
        state.usage,
        from,
    )
    .map(|w| Write { base, ..w })
}

/// Undoes a write reported as failed that landed after all (its answer was lost, the write
/// was not): when the store is one version past the conversation and its head carries the
/// id of one of the conversation's doubted writes, the conversation's own history is
/// written on top. Whether it undid one; errors are the store's.
pub fn undo_landed(py: Python<'_>, state: &Mutex<State>, link: &Link) -> PyResult<bool> {
    let (ours, doubts) = {
        let s = lock(state);
        (s.stamp.version, s.stamp.doubts.clone())
    };
    if doubts.is_empty() {
        return Ok(false);
    }
    let fail = |f: Failure| f.info(&link.name(), &link.id).into_pyerr(py);
    let Some((v, head)) = link.head(py)?.map_err(fail)? else {
        return Ok(false);
    };
    let landed = head_of(&head).is_ok_and(|h| doubts.iter().any(|d| d.marker == h.write));
    if v != ours + 1 || !landed {
        return Ok(false);
    }
    let write = {
        let s = lock(state);
        state_write(&s, link, None, s.history.messages.len(), v)
    };
    // Note: if this write's answer is lost too, it may land later: it holds only what the
    // conversation holds, so taking it in then is right.
    let written = link.save(py, write.map_err(fail)?)?.map_err(fail)?;
    let mut s = lock(state);
    s.stamp.version = written.version;
    s.stamp.updated = written.updated;
    s.stamp.doubts.clear();
    Ok(true)
}
