//! Reading boto3-shaped Python arguments with errors that name the argument: every
//! accessor knows its path (`messages[0].content[1].image.format`).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

pub fn value_error(path: &str, msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{path}: {msg}"))
}

/// A dict argument at a known path.
pub struct Obj<'py> {
    pub dict: Bound<'py, PyDict>,
    pub path: String,
}

impl<'py> Obj<'py> {
    pub fn new(obj: &Bound<'py, PyAny>, path: impl Into<String>) -> PyResult<Self> {
        let path = path.into();
        match obj.cast::<PyDict>() {
            Ok(d) => Ok(Self {
                dict: d.clone(),
                path,
            }),
            Err(_) => Err(PyTypeError::new_err(format!(
                "{path}: expected a dict, got {}",
                type_name(obj)
            ))),
        }
    }

    pub fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Refuses keys the API does not define, as boto3 does.
    pub fn only(&self, allowed: &[&str]) -> PyResult<()> {
        for key in self.dict.keys() {
            let key: String = key.extract()?;
            if !allowed.contains(&key.as_str()) {
                return Err(value_error(
                    &self.at(&key),
                    format!(
                        "unknown parameter; {} takes: {}",
                        if self.path.is_empty() {
                            "this call"
                        } else {
                            &self.path
                        },
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The value at `key`; a missing key and None both give None.
    pub fn get(&self, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.dict.get_item(key)?.filter(|v| !v.is_none()))
    }

    pub fn req(&self, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.get(key)?
            .ok_or_else(|| value_error(&self.at(key), "is required"))
    }

    pub fn str(&self, key: &str) -> PyResult<Option<String>> {
        self.get(key)?
            .map(|v| as_str(&v, &self.at(key)))
            .transpose()
    }

    pub fn req_str(&self, key: &str) -> PyResult<String> {
        as_str(&self.req(key)?, &self.at(key))
    }

    pub fn obj(&self, key: &str) -> PyResult<Option<Obj<'py>>> {
        self.get(key)?
            .map(|v| Obj::new(&v, self.at(key)))
            .transpose()
    }

    pub fn req_obj(&self, key: &str) -> PyResult<Obj<'py>> {
        Obj::new(&self.req(key)?, self.at(key))
    }

    pub fn list(&self, key: &str) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
        self.get(key)?
            .map(|v| as_list(&v, &self.at(key)))
            .transpose()
    }

    /// A number at `key` (bool refused, though Python counts it as an int).
    fn number<T>(&self, key: &str, what: &str) -> PyResult<Option<T>>
    where
        T: for<'a> FromPyObject<'a, 'py>,
    {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        let bad = |got: String| value_error(&self.at(key), format!("expected {what}, got {got}"));
        if v.is_instance_of::<pyo3::types::PyBool>() {
            return Err(bad("bool".into()));
        }
        v.extract::<T>().map(Some).map_err(|_| bad(type_name(&v)))
    }

    pub fn int(&self, key: &str) -> PyResult<Option<i64>> {
        self.number(key, "an int")
    }

    pub fn float(&self, key: &str) -> PyResult<Option<f64>> {
        self.number(key, "a number")
    }

    pub fn bool(&self, key: &str) -> PyResult<Option<bool>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => v
                .cast::<pyo3::types::PyBool>()
                .map(|b| Some(b.is_true()))
                .map_err(|_| {
                    value_error(
                        &self.at(key),
                        format!("expected a bool, got {}", type_name(&v)),
                    )
                }),
        }
    }

    /// Bytes at `key`: `bytes`/`bytearray`, or a base64 `str` as in the JSON wire format.
    pub fn bytes(&self, key: &str) -> PyResult<Vec<u8>> {
        let v = self.req(key)?;
        if let Ok(b) = v.cast::<PyBytes>() {
            return Ok(b.as_bytes().to_vec());
        }
        if let Ok(b) = v.extract::<Vec<u8>>() {
            if !v.is_instance_of::<PyString>() {
                return Ok(b);
            }
        }
        if let Ok(s) = v.cast::<PyString>() {
            // Note: boto3 sends a str given for a blob as its UTF-8 bytes (it base64-encodes
            // them on the wire itself), so code ported from boto3 means the text, not base64.
            return Ok(s.to_cow()?.as_bytes().to_vec());
        }
        Err(value_error(
            &self.at(key),
            format!("expected bytes, got {}", type_name(&v)),
        ))
    }

    /// The one key of a union, and its value.
    pub fn union(&self, members: &[&str]) -> PyResult<(String, Bound<'py, PyAny>)> {
        let keys: Vec<String> = self
            .dict
            .iter()
            .filter(|(_, v)| !v.is_none())
            .map(|(k, _)| k.extract())
            .collect::<PyResult<_>>()?;
        if keys.len() != 1 {
            return Err(value_error(
                &self.path,
                format!(
                    "must set exactly one of {}; got {}",
                    members.join(", "),
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        keys.join(", ")
                    }
                ),
            ));
        }
        let key = keys.into_iter().next().expect("one key");
        if !members.contains(&key.as_str()) {
            return Err(value_error(
                &self.at(&key),
                format!("unknown member; expected one of {}", members.join(", ")),
            ));
        }
        let value = self.req(&key)?;
        Ok((key, value))
    }
}

pub fn as_str(v: &Bound<'_, PyAny>, path: &str) -> PyResult<String> {
    v.cast::<PyString>()
        .map_err(|_| value_error(path, format!("expected a str, got {}", type_name(v))))?
        .to_cow()
        .map(|c| c.into_owned())
}

pub fn as_list<'py>(v: &Bound<'py, PyAny>, path: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        v.try_iter()?.collect()
    } else {
        Err(value_error(
            path,
            format!("expected a list, got {}", type_name(v)),
        ))
    }
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
