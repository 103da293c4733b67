//! The stores as Python sees them: `SQLiteStore(path)`, `RedisStore(url, prefix=, ttl=)`
//! (both `fastconverse.Store`), and what `ConverseClient(store=...)` accepts.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use serde_json::Value;

use super::redis::RedisStore;
use super::sqlite::SqliteStore;
use super::{Failure, Record, Shared};
use crate::runtime;
use crate::wire::json;

const TEN_YEARS: f64 = 315_360_000.0;

/// Where conversations are kept. Built by `SQLiteStore(...)` or `RedisStore(...)`.
#[pyclass(name = "Store", module = "fastconverse._core", subclass, frozen)]
pub struct PyStore {
    pub store: Shared,
}

fn timeout(value: f64) -> PyResult<std::time::Duration> {
    runtime::seconds("timeout", value, false)
}

fn failed(py: Python<'_>, store: &Shared, id: &str, f: Failure) -> PyErr {
    f.info(&store.describe(), id).into_pyerr(py)
}

#[pymethods]
impl PyStore {
    fn __repr__(&self) -> String {
        self.store.describe()
    }

    /// A conversation's record, or None (for `ConverseClient.get_conversation`).
    fn _load(&self, py: Python<'_>, id: &str) -> PyResult<Option<PyStored>> {
        match runtime::wait(py, self.store.load(id))? {
            Ok(record) => Ok(record.map(|r| PyStored {
                record: Mutex::new(Some(r)),
            })),
            Err(f) => Err(failed(py, &self.store, id, f)),
        }
    }

    /// Up to `max` listings `(id, version, created, updated, model_id, messages, metadata)`.
    #[pyo3(signature = (max, metadata = None, after = None))]
    fn _list<'py>(
        &self,
        py: Python<'py>,
        max: usize,
        metadata: Option<&Bound<'py, PyAny>>,
        after: Option<(f64, String)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let wanted = json::object_from_py(metadata, "metadata")?;
        let rows = runtime::wait(py, self.store.list(max, wanted, after))?
            .map_err(|f| failed(py, &self.store, "", f))?;
        let out = PyList::empty(py);
        for l in rows {
            out.append(PyTuple::new(
                py,
                [
                    l.id.into_pyobject(py)?.into_any(),
                    l.version.into_pyobject(py)?.into_any(),
                    l.created.into_pyobject(py)?.into_any(),
                    l.updated.into_pyobject(py)?.into_any(),
                    l.model_id.into_pyobject(py)?.into_any(),
                    l.messages.into_pyobject(py)?.into_any(),
                    json::to_py(py, &Value::Object(l.metadata))?,
                ],
            )?)?;
        }
        Ok(out)
    }

    fn _delete(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        runtime::wait(py, self.store.delete(id))?.map_err(|f| failed(py, &self.store, id, f))
    }
}

/// `SQLiteStore(path, *, timeout=5.0)`: conversations in one SQLite file (WAL mode), for
/// one machine; several processes may share the file.
#[pyclass(name = "SQLiteStore", module = "fastconverse._core", extends = PyStore, frozen)]
pub struct PySqliteStore {
    #[pyo3(get)]
    path: String,
}

#[pymethods]
impl PySqliteStore {
    #[new]
    #[pyo3(signature = (path, *, timeout = 5.0))]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        timeout: f64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let path: String = py
            .import("os")?
            .call_method1("fspath", (path,))
            .and_then(|p| p.extract())
            .map_err(|_| PyTypeError::new_err("path: expected a file path (str or os.PathLike)"))?;
        if path.trim().is_empty() {
            return Err(PyValueError::new_err("path: must not be empty"));
        }
        let t = self::timeout(timeout)?;
        if t.as_millis() > i32::MAX as u128 {
            return Err(PyValueError::new_err(format!(
                "timeout: at most {} seconds, got {timeout}",
                i32::MAX / 1000
            )));
        }
        let opened = py.detach(|| SqliteStore::open(&path, t));
        let store =
            opened.map_err(|f| f.info(&format!("SQLiteStore({path:?})"), "").into_pyerr(py))?;
        Ok(PyClassInitializer::from(PyStore {
            store: Arc::new(store),
        })
        .add_subclass(Self { path }))
    }
}

/// `RedisStore(url, *, prefix="fastconverse:", ttl=None, timeout=5.0)`: conversations in
/// Redis, for workers on many machines. `ttl` (seconds) expires a conversation that many
/// seconds after its last turn.
#[pyclass(name = "RedisStore", module = "fastconverse._core", extends = PyStore, frozen)]
pub struct PyRedisStore {
    #[pyo3(get)]
    prefix: String,
    #[pyo3(get)]
    ttl: Option<u64>,
}

#[pymethods]
impl PyRedisStore {
    #[new]
    #[pyo3(signature = (url, *, prefix = "fastconverse:".to_owned(), ttl = None, timeout = 5.0))]
    fn new(
        url: &str,
        prefix: String,
        ttl: Option<f64>,
        timeout: f64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let ttl = match ttl {
            None => None,
            // (Redis takes a ttl of up to about 292 years; ten are plenty)
            Some(t) if t.is_finite() && (1.0..=TEN_YEARS).contains(&t) => Some(t.ceil() as u64),
            Some(t) => {
                return Err(PyValueError::new_err(format!(
                    "ttl: expected seconds (1 to {TEN_YEARS}) or None, got {t}"
                )))
            }
        };
        let store = RedisStore::open(url, &prefix, ttl.unwrap_or(0), self::timeout(timeout)?)
            .map_err(|e| {
                PyValueError::new_err(format!(
                    "url: not a Redis URL ({e}); expected redis://host:6379/0"
                ))
            })?;
        Ok(PyClassInitializer::from(PyStore {
            store: Arc::new(store),
        })
        .add_subclass(Self { prefix, ttl }))
    }
}

/// A loaded conversation, on its way into a `Conversation` (taken once).
#[pyclass(name = "_Stored", module = "fastconverse._core", frozen)]
pub struct PyStored {
    record: Mutex<Option<Record>>,
}

impl PyStored {
    pub fn take(&self) -> PyResult<Record> {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| {
                pyo3::exceptions::PyRuntimeError::new_err("this record was used already")
            })
    }

    fn with<T>(&self, f: impl FnOnce(&Record) -> T) -> PyResult<T> {
        let r = self.record.lock().unwrap_or_else(|e| e.into_inner());
        r.as_ref().map(f).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("this record was used already")
        })
    }
}

#[pymethods]
impl PyStored {
    /// The settings `create_conversation` was given, as JSON text.
    #[getter]
    fn settings(&self) -> PyResult<String> {
        self.with(|r| r.head.settings.to_string())
    }
}

/// The store `ConverseClient(store=...)` names: None (memory), a path, a Redis URL, or a
/// `Store`.
pub fn store_from(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Py<PyStore>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(store) = obj.cast::<PyStore>() {
        return Ok(Some(store.clone().unbind()));
    }
    let is_text = obj.is_instance_of::<PyString>();
    let text: Option<String> = if is_text { Some(obj.extract()?) } else { None };
    if let Some(url) = text.as_deref().filter(|t| {
        ["redis://", "rediss://", "unix://", "redis+unix://"]
            .iter()
            .any(|s| t.starts_with(s))
    }) {
        let store = Bound::new(
            py,
            PyRedisStore::new(url, "fastconverse:".into(), None, 5.0)?,
        )?;
        return Ok(Some(store.into_super().unbind()));
    }
    if is_text
        || py
            .import("os")?
            .getattr("PathLike")?
            .is_instance(obj)
            .unwrap_or(false)
    {
        let store = Bound::new(py, PySqliteStore::new(py, obj, 5.0)?)?;
        return Ok(Some(store.into_super().unbind()));
    }
    Err(PyTypeError::new_err(format!(
        "store: expected None, a SQLite file path, a redis:// URL, SQLiteStore(...) or RedisStore(...), got {}",
        obj.get_type().name()?
    )))
}

/// `ConverseClient(store=...)`, checked: a `Store` or None.
#[pyfunction]
#[pyo3(name = "_store_from")]
fn py_store_from(
    py: Python<'_>,
    store: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<PyStore>>> {
    store_from(py, store)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_store_from, m)?)?;
    m.add_class::<PyStore>()?;
    m.add_class::<PySqliteStore>()?;
    m.add_class::<PyRedisStore>()?;
    m.add_class::<PyStored>()
}
