//! A turn's step that asks a Python memory policy (`MemoryPolicy.select`) where its requests
//! start.

use pyo3::prelude::*;

use super::PyTurn;
use crate::context::py::PyHistoryView;
use crate::errors::ErrorInfo;

impl PyTurn {
    /// Lets the Python policy choose where the turn's requests start.
    pub(super) fn run_select(&self, py: Python<'_>) -> PyResult<()> {
        let view = {
            let inner = self.inner();
            let h = inner.machine.history();
            PyHistoryView {
                messages: inner.machine.base.messages.clone(),
                tokens: inner.machine.base.tokens.clone(),
                start: h.start,
                pending: h.added_tokens,
                pending_starts: h.is_cut(h.len()),
            }
        };
        let select = self
            .select
            .as_ref()
            .ok_or_else(|| ErrorInfo::internal("no memory policy to ask").into_pyerr(py))?;
        let len = view.messages.len() - view.start;
        let chosen = select.call1(py, (view,)).and_then(|v| {
            let v = v.bind(py);
            let index = if v.is_instance_of::<pyo3::types::PyBool>() {
                None
            } else {
                v.extract::<i64>().ok()
            };
            // A negative index counts from the end, as in Python (-10: the last ten).
            index
                .map(|i| if i < 0 { (len as i64 + i).max(0) as usize } else { i as usize })
                .ok_or_else(|| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "memory policy: select(view) must return the index of the first message to keep (an int; negative counts from the end), got {}",
                        v.repr().map(|r| r.to_string()).unwrap_or_default()
                    ))
                })
        });
        let mut inner = self.inner();
        match chosen {
            Ok(index) => {
                inner.machine.select(index);
                Ok(())
            }
            Err(err) => {
                inner.end(); // (the driver's `with turn:` counts the failure)
                Err(err)
            }
        }
    }
}
