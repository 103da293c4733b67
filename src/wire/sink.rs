//! Writing the Converse wire shape into any tree of data: boto3-shaped Python objects
//! (`pyobj`) or the JSON a store keeps (`json`). The content converters (`content_out`) are
//! written once against `Sink`.

use aws_smithy_types::Document;
use pyo3::prelude::*;
use pyo3::sync::Interned;
use pyo3::types::PyString;

/// A key of the wire shape, interned once for Python (as `pyo3::intern!` does).
pub struct Key {
    pub name: &'static str,
    interned: Interned,
}

impl Key {
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            interned: Interned::new(name),
        }
    }

    pub fn py<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        self.interned.get(py)
    }
}

/// `key!("toolUseId")`: a `&'static Key`, made once per place it is written.
macro_rules! key {
    ($name:literal) => {{
        static K: $crate::wire::sink::Key = $crate::wire::sink::Key::new($name);
        &K
    }};
}
pub(crate) use key;

/// Where wire data is written.
pub trait Sink {
    type Out;
    type Map;
    type Err;
    fn map(&self) -> Self::Map;
    fn put(
        &self,
        map: &mut Self::Map,
        key: &'static Key,
        value: Self::Out,
    ) -> Result<(), Self::Err>;
    fn done(&self, map: Self::Map) -> Self::Out;
    fn text(&self, s: &str) -> Result<Self::Out, Self::Err>;
    fn blob(&self, bytes: &[u8]) -> Self::Out;
    fn boolean(&self, b: bool) -> Self::Out;
    fn int(&self, n: i64) -> Self::Out;
    fn list(&self, items: Vec<Self::Out>) -> Result<Self::Out, Self::Err>;
    fn document(&self, doc: &Document) -> Result<Self::Out, Self::Err>;
    /// A union member this version does not know (`what` names the union).
    fn unknown(&self, what: &str) -> Result<Self::Map, Self::Err>;

    /// `{key: value}`.
    fn map1(&self, key: &'static Key, value: Self::Out) -> Result<Self::Map, Self::Err> {
        let mut m = self.map();
        self.put(&mut m, key, value)?;
        Ok(m)
    }

    fn put_text(&self, map: &mut Self::Map, key: &'static Key, s: &str) -> Result<(), Self::Err> {
        let v = self.text(s)?;
        self.put(map, key, v)
    }

    fn put_map(
        &self,
        map: &mut Self::Map,
        key: &'static Key,
        inner: Self::Map,
    ) -> Result<(), Self::Err> {
        let v = self.done(inner);
        self.put(map, key, v)
    }

    /// `{key: inner}`, the shape of every union member.
    fn wrap(&self, key: &'static Key, inner: Self::Map) -> Result<Self::Map, Self::Err> {
        let v = self.done(inner);
        self.map1(key, v)
    }
}
