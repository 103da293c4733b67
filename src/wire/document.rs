//! `aws_smithy_types::Document` <-> Python objects and JSON. The SDK's Document keeps
//! objects in hash maps, so every Document made here has its written order kept beside it
//! (`key_order`), and every Document that leaves here goes out in that order.

use std::collections::HashMap;

use aws_smithy_types::{Document, Number};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use super::key_order;

/// Converts JSON-like Python data (dict with str keys, list, tuple, str, int, float, bool,
/// None) to a Document, keeping its order (`key_order`). `path` names the argument in errors.
pub fn py_to_document(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Document> {
    Ok(json_to_document(py_to_json(obj, path)?))
}

/// JSON-like Python data as ordered JSON, checked as a Converse document.
fn py_to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Err(PyValueError::new_err(format!(
            "{path}: integer {obj} does not fit in 64 bits"
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{path}: {v} is not valid JSON (NaN and infinities are not allowed)"
                ))
            });
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                PyValueError::new_err(format!(
                    "{path}: JSON object keys must be str, got {}",
                    k.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            let key = key.to_cow()?.into_owned();
            let child = py_to_json(&v, &format!("{path}.{key}"))?;
            map.insert(key, child);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(py_to_json(&item?, &format!("{path}[{i}]"))?);
        }
        return Ok(Value::Array(items));
    }
    Err(PyValueError::new_err(format!(
        "{path}: expected JSON data (dict, list, str, int, float, bool or None), got {}",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )))
}

/// Converts a Document to plain Python data.
pub fn document_to_py<'py>(py: Python<'py>, doc: &Document) -> PyResult<Bound<'py, PyAny>> {
    if let Some(json) = key_order::ordered(doc) {
        return Ok(pythonize::pythonize(py, &*json)?);
    }
    unordered_to_py(py, doc)
}

fn unordered_to_py<'py>(py: Python<'py>, doc: &Document) -> PyResult<Bound<'py, PyAny>> {
    Ok(match doc {
        Document::Null => py.None().into_bound(py),
        Document::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Document::String(s) => PyString::new(py, s).into_any(),
        Document::Number(Number::PosInt(u)) => u.into_pyobject(py)?.into_any(),
        Document::Number(Number::NegInt(i)) => i.into_pyobject(py)?.into_any(),
        Document::Number(Number::Float(f)) => PyFloat::new(py, *f).into_any(),
        Document::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(unordered_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Document::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, unordered_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Parsed JSON (a streamed tool input, a stored message's, Python data's) -> Document,
/// its order kept (`key_order`).
pub fn json_to_document(value: Value) -> Document {
    let doc = document_of(&value);
    key_order::keep(value);
    doc
}

fn document_of(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document_of).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), document_of(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Document -> JSON, in the order it was written when that is known.
pub fn document_to_json(doc: &Document) -> Value {
    match key_order::ordered(doc) {
        Some(json) => (*json).clone(),
        None => unordered_to_json(doc),
    }
}

fn unordered_to_json(doc: &Document) -> Value {
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(unordered_to_json).collect()),
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), unordered_to_json(v)))
                .collect(),
        ),
    }
}

/// `{**base, **given}` for two objects (another `given` replaces `base`), in that order.
pub fn merge(base: Option<&Document>, given: Document) -> Document {
    match (base.map(document_to_json), document_to_json(&given)) {
        (Some(Value::Object(mut base)), Value::Object(given)) => {
            base.extend(given);
            json_to_document(Value::Object(base))
        }
        _ => given,
    }
}
