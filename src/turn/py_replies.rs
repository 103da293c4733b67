//! The side of `_Turn` its requests call: the due request taken, a reply or a failure taken
//! in (on the caller's thread, or as a finisher in the awaiting task). A child of `py`.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;

use super::{ended, no_request, Inner, PyTurn};
use crate::errors::ErrorInfo;
use crate::reply::ReplyData;
use crate::runtime::Finisher;
use crate::store::link::Link;
use crate::turn::exchanged::{Clock, Exchanged};
use crate::turn::io::{self, Backend};
use crate::turn::machine::{Machine, RequestParts};
use crate::turn::state::{lock, State};
use crate::turn::stream::Taker;
use crate::turn::TurnGuard;

impl PyTurn {
    pub fn new(
        machine: Machine,
        guard: TurnGuard,
        state: Arc<Mutex<State>>,
        backend: Backend,
        select: Option<Py<PyAny>>,
        link: Option<Arc<Link>>,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner {
                machine,
                guard: Some(guard),
                ready: None,
                counted: false,
                closed: false,
                committed: false,
                clock: Clock::default(),
                last: None,
            }),
            state,
            backend,
            select,
            link,
        }
    }

    /// Ends the turn with an error, counted in the conversation's metrics.
    pub(super) fn fail(
        &self,
        py: Python<'_>,
        mut inner: MutexGuard<'_, Inner>,
        info: ErrorInfo,
    ) -> PyErr {
        inner.end();
        drop(inner);
        self.count_failure(&info);
        info.into_pyerr(py)
    }

    pub(super) fn count_failure(&self, info: &ErrorInfo) {
        self.inner().counted = true;
        let code = info.code.as_deref().unwrap_or(info.class);
        lock(&self.state).metrics.failed(code);
    }

    /// The first content of a streamed turn arrived.
    pub fn first_token(&self) {
        let mut inner = self.inner();
        inner.machine.first_token();
        inner.clock.first_token();
    }

    pub(super) fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The due request, and the tokens it reserves from the rate limiter.
    pub(super) fn take_request(&self) -> PyResult<(RequestParts, u64)> {
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            return Err(ended());
        }
        let parts = inner.ready.take().map(|p| *p).ok_or_else(no_request)?;
        inner.clock.start();
        let tokens = io::tokens(&self.backend, &parts);
        Ok((parts, tokens))
    }

    /// Takes in what a request gave, on the caller's thread. A failure ends the turn,
    /// unless the turn recovers (a context overflow before any content: `unseen`).
    pub fn on_reply(
        &self,
        py: Python<'_>,
        out: Result<ReplyData, ErrorInfo>,
        unseen: bool,
    ) -> PyResult<()> {
        let mut inner = self.inner();
        if inner.machine.is_ended() {
            // Note: a reply that comes after `close()` (from another thread, while its stream
            // was being read) is dropped quietly, as `close()` promises.
            return if inner.closed { Ok(()) } else { Err(ended()) };
        }
        let facts = Exchanged::of(&inner.clock, inner.machine.model_id(), &out);
        inner.last = Some(facts);
        let result = match out {
            Ok(reply) => inner.machine.on_reply(reply),
            Err(info) => inner.machine.on_error(info, unseen),
        };
        match result {
            Ok(()) => Ok(()),
            Err(info) => Err(self.fail(py, inner, *info)),
        }
    }

    pub fn model_id(&self) -> String {
        self.inner().machine.model_id().to_owned()
    }
}

impl Taker for Py<PyTurn> {
    fn first_token(&self) {
        self.get().first_token();
    }

    fn on_reply(
        &self,
        py: Python<'_>,
        out: Result<ReplyData, ErrorInfo>,
        unseen: bool,
    ) -> PyResult<()> {
        self.get().on_reply(py, out, unseen)
    }
}

/// The finisher of a request: takes the reply into the turn, in the awaiting task.
pub(super) fn record(turn: Py<PyTurn>, out: Result<ReplyData, ErrorInfo>) -> Finisher {
    Box::new(move |py| {
        turn.get().on_reply(py, out, true)?;
        Ok(py.None())
    })
}
