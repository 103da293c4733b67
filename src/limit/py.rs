//! `fastconverse.RateLimit`: a quota shared by every conversation of the clients given it,
//! and with `redis_url=`, by every process and machine using the same URL and key.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::gcra::Quota;
use super::{redis, Limiter};

#[pyclass(name = "RateLimit", module = "fastconverse._core", frozen)]
pub struct PyRateLimit {
    pub limiter: Arc<Limiter>,
    shown: String,
}

fn per_minute(name: &str, value: Option<f64>) -> PyResult<Option<f64>> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(PyValueError::new_err(format!(
            "{name}: expected a number above 0 (or None for no limit), got {v}"
        ))),
        v => Ok(v),
    }
}

#[pymethods]
impl PyRateLimit {
    #[new]
    #[pyo3(signature = (requests_per_minute = None, tokens_per_minute = None, *, redis_url = None, key = "fastconverse:ratelimit".to_owned(), burst = 1.0))]
    fn new(
        requests_per_minute: Option<f64>,
        tokens_per_minute: Option<f64>,
        redis_url: Option<&str>,
        key: String,
        burst: f64,
    ) -> PyResult<Self> {
        let rpm = per_minute("requests_per_minute", requests_per_minute)?;
        let tpm = per_minute("tokens_per_minute", tokens_per_minute)?;
        if rpm.is_none() && tpm.is_none() {
            return Err(PyValueError::new_err(
                "RateLimit: give requests_per_minute, tokens_per_minute or both (your Bedrock quotas for the model)",
            ));
        }
        if !(burst.is_finite() && burst >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "burst: expected seconds of quota (>= 0), got {burst}"
            )));
        }
        let shared = redis_url
            .map(|url| {
                redis::Shared::open(url, &key).map_err(|e| {
                    PyValueError::new_err(format!(
                        "redis_url: not a Redis URL ({e}); expected redis://host:6379/0"
                    ))
                })
            })
            .transpose()?;
        let quota = Quota {
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
            burst,
        };
        let shown = format!(
            "RateLimit(requests_per_minute={}, tokens_per_minute={}{})",
            rpm.map_or("None".into(), |v| v.to_string()),
            tpm.map_or("None".into(), |v| v.to_string()),
            if shared.is_some() {
                ", shared in Redis"
            } else {
                ""
            },
        );
        Ok(Self {
            limiter: Arc::new(Limiter::new(quota, shared)),
            shown,
        })
    }

    #[getter]
    fn requests_per_minute(&self) -> Option<f64> {
        self.limiter.quota.requests_per_minute
    }

    #[getter]
    fn tokens_per_minute(&self) -> Option<f64> {
        self.limiter.quota.tokens_per_minute
    }

    /// What this process saw: `requests` it let through, `waits` among them that waited,
    /// `waited` (seconds in all), `throttles` from the service, `fallbacks` (calls the
    /// shared Redis state did not answer, limited by this process alone), and `rate`
    /// (the share of the quota in force after throttles, 1.0 when none).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.limiter.stats;
        let d = PyDict::new(py);
        d.set_item("requests", s.requests.load(Ordering::Relaxed))?;
        d.set_item("waits", s.waits.load(Ordering::Relaxed))?;
        d.set_item("waited", s.waited_us.load(Ordering::Relaxed) as f64 / 1e6)?;
        d.set_item("throttles", s.throttles.load(Ordering::Relaxed))?;
        d.set_item("fallbacks", s.fallbacks.load(Ordering::Relaxed))?;
        d.set_item("rate", self.limiter.factor())?;
        Ok(d)
    }

    fn __repr__(&self) -> &str {
        &self.shown
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRateLimit>()
}
