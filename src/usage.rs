//! `Usage`: token counts of one reply or, summed, of a conversation, as Python sees them.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::wire::response;
pub use crate::wire::tokens::Tokens;

/// Token usage: of one reply (`reply.usage`) or of a whole conversation (`conv.usage`).
#[pyclass(
    name = "Usage",
    module = "fastconverse._core",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, PartialEq)]
pub struct PyUsage(pub Tokens);

#[pymethods]
impl PyUsage {
    #[new]
    #[pyo3(signature = (input_tokens = 0, output_tokens = 0, total_tokens = None, cache_read_input_tokens = None, cache_write_input_tokens = None, cache_details = None))]
    fn new(
        input_tokens: i64,
        output_tokens: i64,
        total_tokens: Option<i64>,
        cache_read_input_tokens: Option<i64>,
        cache_write_input_tokens: Option<i64>,
        cache_details: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let cache_details = cache_details
            .filter(|d| !d.is_none())
            .map(crate::wire::tokens::cache_details_from_py)
            .transpose()?;
        Ok(Self(Tokens {
            input: input_tokens,
            output: output_tokens,
            total: total_tokens.unwrap_or(
                input_tokens
                    + output_tokens
                    + cache_read_input_tokens.unwrap_or(0)
                    + cache_write_input_tokens.unwrap_or(0),
            ),
            cache_read: cache_read_input_tokens,
            cache_write: cache_write_input_tokens,
            cache_details,
        }))
    }

    /// boto3's `cacheDetails`: `[{"ttl": "5m" | "1h", "inputTokens": n}]`, the cache writes
    /// by lifetime, or None when the service did not break them down.
    #[getter]
    fn cache_details<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.0.cache_details.is_none() {
            return Ok(None);
        }
        response::usage(py, &self.0)?.get_item("cacheDetails")
    }

    #[getter]
    fn input_tokens(&self) -> i64 {
        self.0.input
    }
    #[getter]
    fn output_tokens(&self) -> i64 {
        self.0.output
    }
    #[getter]
    fn total_tokens(&self) -> i64 {
        self.0.total
    }
    #[getter]
    fn cache_read_input_tokens(&self) -> i64 {
        self.0.cache_read.unwrap_or(0)
    }
    #[getter]
    fn cache_write_input_tokens(&self) -> i64 {
        self.0.cache_write.unwrap_or(0)
    }

    fn __add__(&self, other: &Bound<'_, PyAny>) -> Option<Self> {
        other
            .cast::<PyUsage>()
            .ok()
            .map(|o| Self(self.0 + o.get().0))
    }

    /// boto3's `usage` dict (cache counts when the service sent them).
    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        response::usage(py, &self.0)
    }

    pub fn __repr__(&self) -> String {
        let mut s = format!(
            "Usage(input_tokens={}, output_tokens={}, total_tokens={}",
            self.0.input, self.0.output, self.0.total
        );
        if self.0.cache_read.is_some() || self.0.cache_write.is_some() {
            s += &format!(
                ", cache_read_input_tokens={}, cache_write_input_tokens={}",
                self.0.cache_read.unwrap_or(0),
                self.0.cache_write.unwrap_or(0)
            );
        }
        s + ")"
    }
}
