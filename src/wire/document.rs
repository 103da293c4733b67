//! `aws_smithy_types::Document` <-> Python objects, directly (no serde in between: the SDK's
//! Document has no stable serde, and going straight saves a copy of every tool input).

use std::collections::HashMap;

use aws_smithy_types::{Document, Number};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Converts JSON-like Python data (dict with str keys, list, tuple, str, int, float, bool,
/// None) to a Document. `path` names the argument in errors.
pub fn py_to_document(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Document> {
    if obj.is_none() {
        return Ok(Document::Null);
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Document::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Document::String(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Document::Number(Number::PosInt(u)));
        }
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Document::Number(Number::NegInt(i)));
        }
        return Err(PyValueError::new_err(format!(
            "{path}: integer {obj} does not fit in 64 bits"
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() {
            return Err(PyValueError::new_err(format!(
                "{path}: {v} is not valid JSON (NaN and infinities are not allowed)"
            )));
        }
        return Ok(Document::Number(Number::Float(v)));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = HashMap::with_capacity(d.len());
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
            let child = py_to_document(&v, &format!("{path}.{key}"))?;
            map.insert(key, child);
        }
        return Ok(Document::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(py_to_document(&item?, &format!("{path}[{i}]"))?);
        }
        return Ok(Document::Array(items));
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
                list.append(document_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Document::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, document_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Parsed JSON (a streamed tool input) -> Document.
pub fn json_to_document(value: serde_json::Value) -> Document {
    use serde_json::Value;
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Document::String(s),
        Value::Array(items) => Document::Array(items.into_iter().map(json_to_document).collect()),
        Value::Object(map) => Document::Object(
            map.into_iter()
                .map(|(k, v)| (k, json_to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Document -> JSON (for text that shows a tool's input or result).
pub fn document_to_json(doc: &Document) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), document_to_json(v)))
                .collect(),
        ),
    }
}
