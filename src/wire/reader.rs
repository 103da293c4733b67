//! Reading the Converse wire shape from any tree of data: boto3-shaped Python objects
//! (`pyobj`) or the JSON a store keeps (`json`). The content converters (`content_in`) are
//! written once against `Node`, and every accessor knows its path
//! (`messages[0].content[1].image.format`) so errors name the argument.

use std::fmt;

use aws_smithy_types::Document;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::PyErr;

/// A value in a tree of wire data.
pub trait Node: Sized + Clone {
    /// A mapping (a Python dict, a JSON object).
    type Map: Clone;
    /// The name of the value's kind, for errors ("dict", "int", "a string").
    fn kind(&self) -> String;
    fn is_null(&self) -> bool;
    fn as_map(&self) -> Option<Self::Map>;
    /// The value at `key`, null included.
    fn entry(map: &Self::Map, key: &str) -> Result<Option<Self>, WireError>;
    /// Every key with its value, nulls included, in order.
    fn entries(map: &Self::Map) -> Result<Vec<(String, Self)>, WireError>;
    fn as_text(&self) -> Result<Option<String>, WireError>;
    fn as_items(&self) -> Result<Option<Vec<Self>>, WireError>;
    fn as_bool(&self) -> Option<bool>;
    /// An integer (bool refused).
    fn as_int(&self) -> Option<i64>;
    /// A number, int or float (bool refused).
    fn as_float(&self) -> Option<f64>;
    /// The bytes of a blob: Python's bytes (or a str, as boto3 takes it), JSON's base64.
    fn as_blob(&self, path: &str) -> Result<Option<Vec<u8>>, WireError>;
    /// JSON-like data (a tool's input, a result's json block).
    fn to_document(&self, path: &str) -> Result<Document, WireError>;
}

/// Why wire data was refused; becomes Python's `TypeError`/`ValueError`, or a store's text.
#[derive(Debug)]
pub enum WireError {
    Type(String),
    Value(String),
    Py(PyErr),
}

impl WireError {
    pub fn value(path: &str, msg: impl fmt::Display) -> Self {
        WireError::Value(format!("{path}: {msg}"))
    }
}

impl From<PyErr> for WireError {
    fn from(e: PyErr) -> Self {
        WireError::Py(e)
    }
}

impl From<WireError> for PyErr {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Type(s) => PyTypeError::new_err(s),
            WireError::Value(s) => PyValueError::new_err(s),
            WireError::Py(e) => e,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Type(s) | WireError::Value(s) => f.write_str(s),
            WireError::Py(e) => write!(f, "{e}"),
        }
    }
}

pub type Read<T> = Result<T, WireError>;

/// A SDK builder's refusal, named by path.
pub fn built<T, E: fmt::Display>(r: Result<T, E>, path: &str) -> Read<T> {
    r.map_err(|e| WireError::value(path, e))
}

pub fn text<N: Node>(v: &N, path: &str) -> Read<String> {
    v.as_text()?
        .ok_or_else(|| WireError::value(path, format!("expected a str, got {}", v.kind())))
}

pub fn items<N: Node>(v: &N, path: &str) -> Read<Vec<N>> {
    v.as_items()?
        .ok_or_else(|| WireError::value(path, format!("expected a list, got {}", v.kind())))
}

/// A mapping at a known path.
pub struct Reader<N: Node> {
    pub dict: N::Map,
    pub path: String,
}

impl<N: Node> Reader<N> {
    pub fn new(node: &N, path: impl Into<String>) -> Read<Self> {
        let path = path.into();
        match node.as_map() {
            Some(dict) => Ok(Self { dict, path }),
            None => Err(WireError::Type(format!(
                "{path}: expected a dict, got {}",
                node.kind()
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
    pub fn only(&self, allowed: &[&str]) -> Read<()> {
        for (key, _) in N::entries(&self.dict)? {
            if !allowed.contains(&key.as_str()) {
                let call = if self.path.is_empty() {
                    "this call"
                } else {
                    &self.path
                };
                return Err(WireError::value(
                    &self.at(&key),
                    format!("unknown parameter; {call} takes: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The value at `key`; a missing key and null both give None.
    pub fn get(&self, key: &str) -> Read<Option<N>> {
        Ok(N::entry(&self.dict, key)?.filter(|v| !v.is_null()))
    }

    pub fn req(&self, key: &str) -> Read<N> {
        self.get(key)?
            .ok_or_else(|| WireError::value(&self.at(key), "is required"))
    }

    /// The value at `key`, null included (a document may be null); missing is refused.
    pub fn present(&self, key: &str) -> Read<N> {
        N::entry(&self.dict, key)?.ok_or_else(|| WireError::value(&self.at(key), "is required"))
    }

    pub fn str(&self, key: &str) -> Read<Option<String>> {
        self.get(key)?.map(|v| text(&v, &self.at(key))).transpose()
    }

    pub fn req_str(&self, key: &str) -> Read<String> {
        text(&self.req(key)?, &self.at(key))
    }

    pub fn obj(&self, key: &str) -> Read<Option<Self>> {
        self.get(key)?
            .map(|v| Reader::new(&v, self.at(key)))
            .transpose()
    }

    pub fn req_obj(&self, key: &str) -> Read<Self> {
        Reader::new(&self.req(key)?, self.at(key))
    }

    pub fn list(&self, key: &str) -> Read<Option<Vec<N>>> {
        self.get(key)?.map(|v| items(&v, &self.at(key))).transpose()
    }

    fn number<T>(&self, key: &str, what: &str, read: impl Fn(&N) -> Option<T>) -> Read<Option<T>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match read(&v) {
            Some(n) => Ok(Some(n)),
            None => Err(WireError::value(
                &self.at(key),
                format!("expected {what}, got {}", v.kind()),
            )),
        }
    }

    pub fn int(&self, key: &str) -> Read<Option<i64>> {
        self.number(key, "an int", N::as_int)
    }

    pub fn float(&self, key: &str) -> Read<Option<f64>> {
        self.number(key, "a number", N::as_float)
    }

    pub fn bool(&self, key: &str) -> Read<Option<bool>> {
        self.number(key, "a bool", N::as_bool)
    }

    /// The bytes at `key` (required).
    pub fn bytes(&self, key: &str) -> Read<Vec<u8>> {
        let v = self.req(key)?;
        let at = self.at(key);
        v.as_blob(&at)?
            .ok_or_else(|| WireError::value(&at, format!("expected bytes, got {}", v.kind())))
    }

    /// The one key of a union, and its value.
    pub fn union(&self, members: &[&str]) -> Read<(String, N)> {
        let mut set: Vec<(String, N)> = N::entries(&self.dict)?
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        if set.len() != 1 {
            let got = if set.is_empty() {
                "none".to_owned()
            } else {
                set.iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(WireError::value(
                &self.path,
                format!("must set exactly one of {}; got {got}", members.join(", ")),
            ));
        }
        let (key, value) = set.pop().expect("one key");
        if !members.contains(&key.as_str()) {
            return Err(WireError::value(
                &self.at(&key),
                format!("unknown member; expected one of {}", members.join(", ")),
            ));
        }
        Ok((key, value))
    }
}
