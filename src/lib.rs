//! fastconverse's native core. This file only wires modules into the Python extension.

use pyo3::prelude::*;

pub mod assembler;
pub mod client;
pub mod config;
pub mod context;
pub mod conversation;
pub mod errors;
pub mod events;
pub mod exchange;
pub mod fake;
pub mod history;
pub mod http_client;
pub mod limit;
pub mod reply;
pub mod runtime;
pub mod settings;
pub mod store;
pub mod stream;
pub mod turn;
pub mod wake;
pub mod wire;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("_drain", wrap_pyfunction!(runtime::drain, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(wire::request::check_block, m)?)?;
    m.add_function(wrap_pyfunction!(client::invoke::_invoke_model, m)?)?;
    m.add_function(wrap_pyfunction!(
        client::invoke::_invoke_model_with_response_stream,
        m
    )?)?;
    m.add_class::<client::invoke::PyChunkStream>()?;
    client::register(m)?;
    conversation::register(m)?;
    events::register(m)?;
    context::py::register(m)?;
    store::py::register(m)?;
    limit::py::register(m)?;
    m.add_class::<runtime::Bridge>()?;
    m.add_class::<turn::py::PyTurn>()?;
    m.add_class::<turn::stream::PyRequestStream>()?;
    turn::step::register(m)?;
    reply::register(m)?;
    fake::py::register(m)?;
    Ok(())
}
