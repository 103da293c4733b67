//! What one request of a turn came to, for `after_response` hooks: kept by the turn when
//! the reply (or the failure) is taken in, on the caller's thread, and read after the fact,
//! so that no Python ever runs on a runtime worker.

use std::time::{Duration, Instant};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::ErrorInfo;
use crate::exchange::Retry;
use crate::reply::{PyUsage, ReplyData, Tokens};

/// The clock of the request under way.
#[derive(Default)]
pub struct Clock {
    sent: Option<Instant>,
    first: Option<Duration>,
}

impl Clock {
    pub fn start(&mut self) {
        *self = Self {
            sent: Some(Instant::now()),
            first: None,
        };
    }

    /// The request's first content arrived (streams).
    pub fn first_token(&mut self) {
        if self.first.is_none() {
            self.first = self.sent.map(|s| s.elapsed());
        }
    }
}

#[derive(Clone)]
pub struct Exchanged {
    model_id: String,
    request_id: Option<String>,
    usage: Option<Tokens>,
    stop_reason: Option<String>,
    /// The service's own figure (`metrics.latencyMs`).
    latency_ms: Option<i64>,
    elapsed: Option<Duration>,
    first: Option<Duration>,
    retries: Vec<Retry>,
    /// The failure's code (or class), for a failed request.
    error: Option<String>,
}

impl Exchanged {
    pub fn of(clock: &Clock, model_id: &str, out: &Result<ReplyData, ErrorInfo>) -> Self {
        let mut facts = Self {
            model_id: model_id.to_owned(),
            request_id: None,
            usage: None,
            stop_reason: None,
            latency_ms: None,
            elapsed: clock.sent.map(|s| s.elapsed()),
            first: clock.first,
            retries: Vec::new(),
            error: None,
        };
        match out {
            Ok(reply) => {
                facts.model_id.clone_from(&reply.model_id);
                facts.request_id.clone_from(&reply.request_id);
                facts.usage = Some(reply.usage);
                facts.stop_reason = Some(reply.stop_reason.clone());
                facts.latency_ms = reply.latency_ms;
                facts.retries.clone_from(&reply.retries);
            }
            Err(info) => {
                facts.request_id.clone_from(&info.request_id);
                facts.error = Some(info.code.clone().unwrap_or_else(|| info.class.to_owned()));
                facts.retries.clone_from(&info.retries);
            }
        }
        facts
    }

    /// The facts as the keyword arguments of `fastconverse.hooks.Response`.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "model_id"), &self.model_id)?;
        d.set_item(intern!(py, "request_id"), &self.request_id)?;
        d.set_item(intern!(py, "usage"), self.usage.map(PyUsage))?;
        d.set_item(intern!(py, "stop_reason"), &self.stop_reason)?;
        d.set_item(intern!(py, "latency_ms"), self.latency_ms)?;
        d.set_item(
            intern!(py, "elapsed"),
            self.elapsed.map(|e| e.as_secs_f64()),
        )?;
        d.set_item(
            intern!(py, "time_to_first_token"),
            self.first.map(|e| e.as_secs_f64()),
        )?;
        let retries = PyList::empty(py);
        for retry in &self.retries {
            let r = PyDict::new(py);
            r.set_item(intern!(py, "reason"), &retry.reason)?;
            r.set_item(intern!(py, "waited"), retry.waited.as_secs_f64())?;
            retries.append(r)?;
        }
        d.set_item(intern!(py, "retries"), retries)?;
        d.set_item(intern!(py, "error_code"), &self.error)?;
        Ok(d)
    }
}
