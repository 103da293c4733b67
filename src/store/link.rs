//! A conversation's link to its store: what it writes when a turn commits, and how it takes
//! in the store's newer version (after a conflict, or before a turn when another worker
//! wrote meanwhile).

use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use serde_json::{Map, Value};

use super::record::{Head, StoredUsage, FORMAT};
use super::{codec, now, Failure, Record, Shared, Write};
use crate::reply::Tokens;
use crate::runtime;
use crate::turn::machine::Base;

/// What a conversation knows of its stored record.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// The version its history is (0: not stored).
    pub version: u64,
    pub created: f64,
    pub updated: f64,
    pub metadata: Arc<Map<String, Value>>,
}

impl Stamp {
    pub fn new(metadata: Map<String, Value>) -> Self {
        let t = now();
        Self {
            version: 0,
            created: t,
            updated: t,
            metadata: Arc::new(metadata),
        }
    }
}

/// The state a write records.
pub struct Snapshot<'a> {
    pub model_id: &'a str,
    pub history: &'a Base,
    pub usage: Tokens,
    pub stamp: &'a Stamp,
}

pub struct Link {
    pub store: Shared,
    pub id: String,
    /// `create_conversation`'s settings that can be kept (JSON from the Python layer); the
    /// tool names change when the conversation is given other tools.
    pub settings: Mutex<Value>,
}

impl Link {
    /// A write of `added` after `now` (from: where they go), with the state after it.
    pub fn write(
        &self,
        before: &Snapshot<'_>,
        added: &[t::Message],
        start: usize,
        summary: Option<&str>,
        usage: Tokens,
        from: usize,
    ) -> Result<Write, Failure> {
        let added = added
            .iter()
            .map(codec::encode)
            .collect::<Result<Vec<_>, String>>()
            .map_err(|what| {
                Failure::down(
                    format!("the turn holds {what}"),
                    "This content block cannot be stored yet; please report it.",
                )
            })?;
        let head = Head {
            format: FORMAT.to_owned(),
            model_id: before.model_id.to_owned(),
            settings: self
                .settings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            start,
            summary: summary.map(str::to_owned),
            usage: StoredUsage::from(usage),
            messages: from + added.len(),
        };
        Ok(Write {
            id: self.id.clone(),
            base: before.stamp.version,
            created: before.stamp.created,
            updated: now().max(before.stamp.updated),
            head: serde_json::to_string(&head).expect("a head is plain data"),
            metadata: serde_json::to_string(&*before.stamp.metadata).expect("JSON data"),
            from,
            added,
        })
    }

    /// Writes, waiting with the GIL released. Not interruptible: once sent, a write's
    /// outcome is what the caller hears (the store's timeout bounds it).
    pub fn save(&self, py: Python<'_>, write: Write) -> PyResult<Result<u64, Failure>> {
        runtime::finish(py, self.store.save(write))
    }

    pub fn load(&self, py: Python<'_>) -> PyResult<Result<Option<Record>, Failure>> {
        runtime::wait(py, self.store.load(&self.id))
    }

    pub fn version(&self, py: Python<'_>) -> PyResult<Result<Option<u64>, Failure>> {
        runtime::wait(py, self.store.version(&self.id))
    }

    /// Keeps the names of the conversation's new tools (written with its next turn).
    pub fn set_tools(&self, names: Vec<String>, choice: Option<Value>) {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        if let Value::Object(m) = &mut *settings {
            m.insert("tools".into(), names.into());
            m.insert("tool_choice".into(), choice.unwrap_or(Value::Null));
        }
    }

    pub fn name(&self) -> String {
        self.store.describe()
    }
}

/// A loaded record as history and stamp.
pub fn taken(record: Record) -> (Base, Stamp, Tokens, String) {
    let mut base = Base::from(record.messages);
    base.start = record.head.start;
    base.summary = record.head.summary.map(Arc::from);
    let stamp = Stamp {
        version: record.version,
        created: record.created,
        updated: record.updated,
        metadata: Arc::new(record.metadata),
    };
    (base, stamp, record.head.usage.into(), record.head.model_id)
}
