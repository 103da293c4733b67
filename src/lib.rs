//! fastconverse's native core. This file only wires modules into the Python extension.

use pyo3::prelude::*;

pub mod client;
pub mod config;
pub mod conversation;
pub mod errors;
pub mod events;
pub mod fake;
pub mod reply;
pub mod runtime;
pub mod stream;
pub mod wire;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("_drain", wrap_pyfunction!(runtime::drain, m)?)?;
    client::register(m)?;
    conversation::register(m)?;
    events::register(m)?;
    reply::register(m)?;
    fake::py::register(m)?;
    Ok(())
}
