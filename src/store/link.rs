//! A conversation's link to its store: what it writes when a turn commits, and how it takes
//! in the store's newer version (after a conflict, or before a turn when another worker
//! wrote meanwhile).

use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use serde_json::{Map, Value};

use super::record::{Head, StoredUsage, FORMAT};
use super::{now, Failure, Record, Shared, Write};
use crate::reply::Tokens;
use crate::runtime;
use crate::wire::json;

/// What a conversation knows of its stored record.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// The version its history is (0: not stored).
    pub version: u64,
    pub created: f64,
    pub updated: f64,
    pub metadata: Arc<Map<String, Value>>,
    /// Writes reported as failed whose answers were lost: they may still land. All are
    /// based on `version` (a success or a reload clears them).
    pub doubts: Vec<Doubt>,
}

/// A write whose outcome is unknown, by the id its head carries.
#[derive(Debug, Clone)]
pub struct Doubt {
    pub marker: String,
}

impl Doubt {
    pub fn of(write: &Write) -> Self {
        Self {
            marker: write.marker.clone(),
        }
    }
}

impl Stamp {
    pub fn new(metadata: Map<String, Value>) -> Self {
        let t = now();
        Self {
            version: 0,
            created: t,
            updated: t,
            metadata: Arc::new(metadata),
            doubts: Vec::new(),
        }
    }
}

/// The state a write records.
pub struct Snapshot<'a> {
    pub model_id: &'a str,
    pub stamp: &'a Stamp,
}

/// A write's outcome: the new version and the update time it recorded.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub version: u64,
    pub updated: f64,
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
            .map(json::encode_message)
            .collect::<Result<Vec<_>, String>>()
            .map_err(|what| Failure::Unstorable(format!("the turn holds {what}")))?;
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
            write: uuid::Uuid::new_v4().to_string(),
        };
        let marker = head.write.clone();
        Ok(Write {
            id: self.id.clone(),
            base: before.stamp.version,
            created: before.stamp.created,
            updated: now().max(before.stamp.updated),
            head: serde_json::to_string(&head).expect("a head is plain data"),
            metadata: serde_json::to_string(&*before.stamp.metadata).expect("JSON data"),
            from,
            added,
            marker,
        })
    }

    /// Writes, waiting with the GIL released. Not interruptible: once sent, a write's
    /// outcome is what the caller hears (the store's timeout bounds it). A write whose
    /// answer was lost (a timeout, a dropped connection) may still have landed: the head is
    /// read back, and a head carrying this write's id means it did.
    pub fn save(&self, py: Python<'_>, write: Write) -> PyResult<Result<Written, Failure>> {
        let (id, base, updated) = (write.id.clone(), write.base, write.updated);
        let marker = super::record::head_of(&write.head)
            .map(|h| h.write)
            .unwrap_or_default();
        let store = self.store.clone();
        runtime::finish(py, async move {
            let written = |version| Written { version, updated };
            match store.save(write).await {
                Ok(version) => Ok(written(version)),
                Err(Failure::Down { cause, check }) => match store.head(&id).await {
                    Ok(Some((version, head)))
                        if version == base + 1
                            && super::record::head_of(&head).is_ok_and(|h| h.write == marker) =>
                    {
                        Ok(written(version))
                    }
                    _ => Err(Failure::Down { cause, check }),
                },
                Err(other) => Err(other),
            }
        })
    }

    /// Loads the store's version, waiting to the end (after a conflict, the caller hears
    /// the conflict, not an interrupt).
    pub fn reload(&self, py: Python<'_>) -> PyResult<Result<Option<Record>, Failure>> {
        runtime::finish(py, self.store.load(&self.id))
    }

    pub fn load(&self, py: Python<'_>) -> PyResult<Result<Option<Record>, Failure>> {
        runtime::wait(py, self.store.load(&self.id))
    }

    /// The version and head the store holds.
    pub fn head(&self, py: Python<'_>) -> PyResult<Result<Option<(u64, String)>, Failure>> {
        runtime::wait(py, self.store.head(&self.id))
    }

    pub fn version(&self, py: Python<'_>) -> PyResult<Result<Option<u64>, Failure>> {
        runtime::wait(py, self.store.version(&self.id))
    }

    /// Keeps the names of the conversation's new tools (written with its next turn).
    pub fn set_tools(&self, names: Vec<String>, choice: Option<Value>, max_rounds: u32) {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        if let Value::Object(m) = &mut *settings {
            m.insert("tools".into(), names.into());
            m.insert("tool_choice".into(), choice.unwrap_or(Value::Null));
            m.insert("max_tool_rounds".into(), max_rounds.into());
        }
    }

    pub fn name(&self) -> String {
        self.store.describe()
    }
}
