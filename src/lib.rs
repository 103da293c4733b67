//! fastconverse's native core. This file only wires modules into the Python extension.
//!
//! The layers, top to bottom; a module uses only modules of the layers below it (no import
//! circles: a new `use` that points up is a design problem to solve, not to allow):
//!
//! 1. `client`: `ConverseClient`'s native half (boto3-shaped calls, InvokeModel).
//! 2. `conversation`: a conversation's settings, history and token counts; begins turns.
//! 3. `settings`: a conversation's and a turn's settings, read from Python arguments.
//! 4. `turn`, `config`: the turn machine, its requests, its shared state and its Python
//!    face; the SDK client's settings.
//! 5. `limit`: rate limits (local, or shared through Redis).
//! 6. `store`, `stream`, `assembler`: stores; the stream pump; a reply built from events.
//! 7. `context`, `errors`, `events`: memory policies, estimates, cache points, metrics;
//!    the one definition of each error; typed stream events.
//! 8. `reply`, `citation`, `history`, `http_client`, `fake`: replies and their citations;
//!    user messages; the HTTP client under the SDK; FakeBedrock (a server of its own, on
//!    the layers below).
//! 9. `wire`, `runtime`: the only place that knows both the SDK's and boto3's shapes; the
//!    one tokio runtime and the bridges to Python's waits.
//! 10. `exchange`, `wake`, `fork`: what one HTTP exchange showed; the asyncio loop waker;
//!     what a child after `fork()` makes again.

use pyo3::prelude::*;

pub mod assembler;
pub mod citation;
pub mod client;
pub mod config;
pub mod context;
pub mod conversation;
pub mod errors;
pub mod events;
pub mod exchange;
pub mod fake;
pub mod fork;
pub mod history;
pub mod http_client;
pub mod limit;
pub mod reply;
pub mod runtime;
pub mod settings;
pub mod store;
pub mod stream;
pub mod turn;
pub mod usage;
pub mod wake;
pub mod wire;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("_drain", wrap_pyfunction!(runtime::drain, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(fork::_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(wire::request::check_block, m)?)?;
    m.add_function(wrap_pyfunction!(events::_text_delta, m)?)?;
    m.add_function(wrap_pyfunction!(settings::check_serving, m)?)?;
    m.add_function(wrap_pyfunction!(client::invoke::_invoke_model, m)?)?;
    m.add_function(wrap_pyfunction!(
        client::invoke::_invoke_model_with_response_stream,
        m
    )?)?;
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
