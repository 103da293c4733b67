//! The wire shape as JSON: what a store keeps, one message per record, bytes as base64. The
//! same content converters as boto3's dicts (`content_in`, `content_out`), so any block
//! Converse accepts round-trips through every store, and a record is loaded whole or not at
//! all.

use aws_sdk_bedrockruntime::types as t;
use aws_smithy_types::Document;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{Map, Value};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::document::{document_to_json, json_to_document, py_to_document};
use super::reader::{Node, Read, WireError};
use super::sink::{Key, Sink};
use super::{content_in, content_out};

impl<'a> Node for &'a Value {
    type Map = &'a Map<String, Value>;

    fn kind(&self) -> String {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a bool",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        }
        .to_owned()
    }

    fn is_null(&self) -> bool {
        Value::is_null(self)
    }

    fn as_map(&self) -> Option<Self::Map> {
        self.as_object()
    }

    fn entry(map: &Self::Map, key: &str) -> Read<Option<Self>> {
        Ok(map.get(key))
    }

    fn entries(map: &Self::Map) -> Read<Vec<(String, Self)>> {
        Ok(map.iter().map(|(k, v)| (k.clone(), v)).collect())
    }

    fn as_text(&self) -> Read<Option<String>> {
        Ok(self.as_str().map(str::to_owned))
    }

    fn as_items(&self) -> Read<Option<Vec<Self>>> {
        Ok(self.as_array().map(|a| a.iter().collect()))
    }

    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }

    fn as_int(&self) -> Option<i64> {
        self.as_i64()
    }

    fn as_float(&self) -> Option<f64> {
        self.as_f64()
    }

    fn as_blob(&self, path: &str) -> Read<Option<Vec<u8>>> {
        self.as_str()
            .map(|s| {
                B64.decode(s)
                    .map_err(|e| WireError::value(path, format!("invalid base64 ({e})")))
            })
            .transpose()
    }

    fn to_document(&self, _path: &str) -> Read<Document> {
        Ok(json_to_document((*self).clone()))
    }
}

/// Writes JSON; a block this version does not know is refused, not stored half.
pub struct JsonSink;

impl Sink for JsonSink {
    type Out = Value;
    type Map = Map<String, Value>;
    type Err = String;

    fn map(&self) -> Self::Map {
        Map::new()
    }

    fn put(&self, map: &mut Self::Map, key: &'static Key, value: Value) -> Result<(), String> {
        map.insert(key.name.to_owned(), value);
        Ok(())
    }

    fn done(&self, map: Self::Map) -> Value {
        Value::Object(map)
    }

    fn text(&self, s: &str) -> Result<Value, String> {
        Ok(Value::String(s.to_owned()))
    }

    fn blob(&self, bytes: &[u8]) -> Value {
        Value::String(B64.encode(bytes))
    }

    fn boolean(&self, b: bool) -> Value {
        Value::Bool(b)
    }

    fn int(&self, n: i64) -> Value {
        Value::from(n)
    }

    fn list(&self, items: Vec<Value>) -> Result<Value, String> {
        Ok(Value::Array(items))
    }

    fn document(&self, doc: &Document) -> Result<Value, String> {
        Ok(document_to_json(doc))
    }

    fn unknown(&self, what: &str) -> Result<Self::Map, String> {
        Err(format!("{what} this version cannot store"))
    }
}

/// A JSON object from a Python mapping (metadata), checked.
pub fn object_from_py(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Map<String, Value>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Map::new());
    };
    if !obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected a dict of JSON values, got {}",
            obj.get_type().name()?
        )));
    }
    // Checked as a Converse document (the error names where), read in the dict's order.
    py_to_document(obj, name)?;
    match pythonize::depythonize::<Value>(obj) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(PyTypeError::new_err(format!("{name}: expected a dict"))),
        Err(e) => Err(PyTypeError::new_err(format!("{name}: {e}"))),
    }
}

/// JSON data (metadata, a trace) as plain Python data.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize::pythonize(py, value)?)
}

/// A message as the JSON a store keeps.
pub fn encode_message(m: &t::Message) -> Result<String, String> {
    Ok(Value::Object(content_out::message(&JsonSink, m)?).to_string())
}

/// A stored message, checked whole; errors name where (`at`).
pub fn decode_message(text: &str, at: &str) -> Result<t::Message, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{at}: not JSON ({e})"))?;
    content_in::message(&&v, at).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_kind_round_trips() {
        let text = r#"{"role":"user","content":[{"text":"hi"},
            {"image":{"format":"png","source":{"bytes":"AAEC"}}},
            {"document":{"format":"txt","name":"d","source":{"text":"body"},"context":"c",
              "citations":{"enabled":true}}},
            {"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/k","bucketOwner":"1"}}}},
            {"audio":{"format":"mp3","source":{"bytes":"SUQz"}}},
            {"audio":{"format":"x-aac","source":{"s3Location":{"uri":"s3://b/a.aac"}}}},
            {"toolUse":{"toolUseId":"t1","name":"f","input":{"a":[1,2.5,null,true]}}},
            {"toolUse":{"toolUseId":"t2","name":"g","input":null}},
            {"toolResult":{"toolUseId":"t1","content":[{"text":"x"},{"json":{"k":"v"}}],"status":"error"}},
            {"cachePoint":{"type":"default","ttl":"1h"}},
            {"reasoningContent":{"reasoningText":{"text":"why","signature":"s"}}},
            {"reasoningContent":{"redactedContent":"AAE="}},
            {"guardContent":{"text":{"text":"g","qualifiers":["query"]}}}]}"#;
        let m = decode_message(text, "m").unwrap();
        let again = decode_message(&encode_message(&m).unwrap(), "m").unwrap();
        assert_eq!(m, again);
        assert_eq!(m.content().len(), 13);
    }

    #[test]
    fn a_foreign_record_is_refused_with_where() {
        let e = decode_message(
            r#"{"role":"user","content":[{"sticker":{}}]}"#,
            "messages[3]",
        )
        .unwrap_err();
        assert!(
            e.contains("messages[3].content[0]") && e.contains("sticker"),
            "{e}"
        );
        let e = decode_message(r#"{"role":"system","content":[]}"#, "m").unwrap_err();
        assert!(e.contains("m.role"), "{e}");
        assert!(decode_message("not json", "m")
            .unwrap_err()
            .contains("not JSON"));
        let e = decode_message(
            r#"{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"!!"}}}]}"#,
            "m",
        )
        .unwrap_err();
        assert!(
            e.contains("m.content[0].image.source.bytes: invalid base64"),
            "{e}"
        );
    }
}
