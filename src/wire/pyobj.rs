//! The wire shape as boto3-shaped Python objects: reading arguments (`Node`, with errors
//! that name the argument) and writing results (`PySink`).

use aws_smithy_types::Document;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString, PyTuple};

use super::document::{document_to_py, py_to_document};
use super::reader::{items, text, Node, Read, Reader};
use super::sink::{key, Key, Sink};

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

pub fn value_error(path: &str, msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{path}: {msg}"))
}

/// boto3-shaped Python arguments, read with the paths their errors name.
pub type Obj<'py> = Reader<Bound<'py, PyAny>>;

impl<'py> Node for Bound<'py, PyAny> {
    type Map = Bound<'py, PyDict>;

    fn kind(&self) -> String {
        type_name(self)
    }

    fn is_null(&self) -> bool {
        self.is_none()
    }

    fn as_map(&self) -> Option<Self::Map> {
        self.cast::<PyDict>().ok().cloned()
    }

    fn entry(map: &Self::Map, key: &str) -> Read<Option<Self>> {
        Ok(map.get_item(key)?)
    }

    fn entries(map: &Self::Map) -> Read<Vec<(String, Self)>> {
        map.iter()
            .map(|(k, v)| Ok((k.extract::<String>()?, v)))
            .collect()
    }

    fn as_text(&self) -> Read<Option<String>> {
        match self.cast::<PyString>() {
            Ok(s) => Ok(Some(s.to_cow()?.into_owned())),
            Err(_) => Ok(None),
        }
    }

    fn as_items(&self) -> Read<Option<Vec<Self>>> {
        if self.is_instance_of::<PyList>() || self.is_instance_of::<PyTuple>() {
            Ok(Some(self.try_iter()?.collect::<PyResult<_>>()?))
        } else {
            Ok(None)
        }
    }

    fn as_bool(&self) -> Option<bool> {
        self.cast::<PyBool>().ok().map(|b| b.is_true())
    }

    fn as_int(&self) -> Option<i64> {
        // Python counts a bool as an int; the API does not.
        if self.is_instance_of::<PyBool>() {
            return None;
        }
        self.extract().ok()
    }

    fn as_float(&self) -> Option<f64> {
        if self.is_instance_of::<PyBool>() {
            return None;
        }
        self.extract().ok()
    }

    /// `bytes`/`bytearray`, or a `str`: boto3 sends a str given for a blob as its UTF-8
    /// bytes (it base64-encodes them on the wire itself), so code ported from boto3 means
    /// the text, not base64.
    fn as_blob(&self, _path: &str) -> Read<Option<Vec<u8>>> {
        if let Ok(b) = self.cast::<PyBytes>() {
            return Ok(Some(b.as_bytes().to_vec()));
        }
        if let Ok(s) = self.cast::<PyString>() {
            return Ok(Some(s.to_cow()?.as_bytes().to_vec()));
        }
        Ok(self.extract::<Vec<u8>>().ok())
    }

    fn to_document(&self, path: &str) -> Read<Document> {
        Ok(py_to_document(self, path)?)
    }
}

/// Writes boto3-shaped Python dicts (bytes as `bytes`).
pub struct PySink<'py>(pub Python<'py>);

impl<'py> Sink for PySink<'py> {
    type Out = Bound<'py, PyAny>;
    type Map = Bound<'py, PyDict>;
    type Err = PyErr;

    fn map(&self) -> Self::Map {
        PyDict::new(self.0)
    }

    fn put(&self, map: &mut Self::Map, key: &'static Key, value: Self::Out) -> PyResult<()> {
        map.set_item(key.py(self.0), value)
    }

    fn done(&self, map: Self::Map) -> Self::Out {
        map.into_any()
    }

    fn text(&self, s: &str) -> PyResult<Self::Out> {
        Ok(PyString::new(self.0, s).into_any())
    }

    fn blob(&self, bytes: &[u8]) -> Self::Out {
        PyBytes::new(self.0, bytes).into_any()
    }

    fn boolean(&self, b: bool) -> Self::Out {
        PyBool::new(self.0, b).to_owned().into_any()
    }

    fn int(&self, n: i64) -> Self::Out {
        n.into_pyobject(self.0)
            .expect("an int always converts")
            .into_any()
    }

    fn list(&self, items: Vec<Self::Out>) -> PyResult<Self::Out> {
        Ok(PyList::new(self.0, items)?.into_any())
    }

    fn document(&self, doc: &Document) -> PyResult<Self::Out> {
        document_to_py(self.0, doc)
    }

    /// botocore's marker for a union member it does not know.
    fn unknown(&self, _what: &str) -> PyResult<Self::Map> {
        let inner = self.map1(key!("name"), self.text("Unknown")?)?;
        self.wrap(key!("SDK_UNKNOWN_MEMBER"), inner)
    }
}

pub fn as_str(v: &Bound<'_, PyAny>, path: &str) -> PyResult<String> {
    Ok(text(v, path)?)
}

pub fn as_list<'py>(v: &Bound<'py, PyAny>, path: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    Ok(items(v, path)?)
}

/// `repr()` of a Python str, for `__repr__`s that read like Python's own.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::py_repr;

    #[test]
    fn reprs_read_like_pythons() {
        assert_eq!(py_repr("Hello "), "'Hello '");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c\n\\"), "'a\\'b\"c\\n\\\\'");
        assert_eq!(py_repr("\u{1}é"), "'\\x01é'");
    }
}
