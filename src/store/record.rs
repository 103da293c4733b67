//! What a store keeps of a conversation: a head (settings and state, one JSON object), its
//! metadata, and its messages one by one (a turn appends; nothing is rewritten).

use aws_sdk_bedrockruntime::types as t;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Failure;
use crate::reply::Tokens;
use crate::wire::json;

/// The format a head says it is in: anything else is refused, never half-loaded.
pub const FORMAT: &str = "fastconverse.conversation/1";

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredUsage {
    pub input: i64,
    pub output: i64,
    pub cache_read: Option<i64>,
    pub cache_write: Option<i64>,
    /// The cache writes by lifetime (absent in heads written before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hour_first: bool,
}

impl From<Tokens> for StoredUsage {
    fn from(t: Tokens) -> Self {
        Self {
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write: t.cache_write,
            cache_write_5m: t.cache_details.and_then(|d| d.five_minutes),
            cache_write_1h: t.cache_details.and_then(|d| d.one_hour),
            hour_first: t.cache_details.is_some_and(|d| d.hour_first),
        }
    }
}

impl From<StoredUsage> for Tokens {
    fn from(u: StoredUsage) -> Self {
        Tokens {
            input: u.input,
            output: u.output,
            total: u.input + u.output,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
            cache_details: (u.cache_write_5m.is_some() || u.cache_write_1h.is_some()).then_some(
                crate::wire::tokens::CacheDetails {
                    five_minutes: u.cache_write_5m,
                    one_hour: u.cache_write_1h,
                    hour_first: u.hour_first,
                },
            ),
        }
    }
}

/// A conversation's settings and state. `settings` is what `create_conversation` was given
/// that can be kept (tool *names* only: functions are code).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    pub format: String,
    pub model_id: String,
    pub settings: Value,
    /// Where requests start in the messages, and the summary of those before.
    pub start: usize,
    pub summary: Option<String>,
    pub usage: StoredUsage,
    /// How many messages there are (checked on load).
    pub messages: usize,
    /// The id of the write that left this head (to tell whether a write whose answer was
    /// lost landed).
    #[serde(default)]
    pub write: String,
}

/// One atomic write: the new head, and the messages from `from` on (those already stored
/// from there are replaced: a turn appends at the end, a reset replaces all).
#[derive(Debug, Clone)]
pub struct Write {
    pub id: String,
    /// The version this write is based on (0: a new conversation).
    pub base: u64,
    pub created: f64,
    pub updated: f64,
    pub head: String,
    pub metadata: String,
    pub from: usize,
    pub added: Vec<String>,
    /// The id the head carries (`Head::write`).
    pub marker: String,
}

/// A conversation as loaded, checked whole.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub version: u64,
    pub created: f64,
    pub updated: f64,
    pub head: Head,
    pub metadata: Map<String, Value>,
    pub messages: Vec<t::Message>,
}

/// A line of `list_conversations`.
#[derive(Debug, Clone)]
pub struct Listing {
    pub id: String,
    pub version: u64,
    pub created: f64,
    pub updated: f64,
    pub model_id: String,
    pub messages: usize,
    pub metadata: Map<String, Value>,
}

pub fn head_of(text: &str) -> Result<Head, Failure> {
    let head: Head = serde_json::from_str(text)
        .map_err(|e| Failure::Corrupt(format!("its head is not a fastconverse head ({e})")))?;
    if head.format != FORMAT {
        return Err(Failure::Corrupt(format!(
            "its format is {:?}; this version reads {FORMAT:?}",
            head.format
        )));
    }
    Ok(head)
}

pub fn metadata_of(text: &str) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Failure::Corrupt("its metadata is not a JSON object".into())),
    }
}

/// Whether `metadata` has every key and value of `wanted`.
pub fn matches(metadata: &Map<String, Value>, wanted: &Map<String, Value>) -> bool {
    wanted.iter().all(|(k, v)| metadata.get(k) == Some(v))
}

impl Record {
    /// A record from what a store read, refused whole if any part of it is wrong.
    pub fn decode(
        id: String,
        version: u64,
        (created, updated): (f64, f64),
        head: &str,
        metadata: &str,
        messages: &[String],
    ) -> Result<Self, Failure> {
        let head = head_of(head)?;
        if head.messages != messages.len() || head.start > messages.len() {
            return Err(Failure::Corrupt(format!(
                "its head says {} messages (requests from {}), the store holds {}",
                head.messages,
                head.start,
                messages.len()
            )));
        }
        let messages = messages
            .iter()
            .enumerate()
            .map(|(i, m)| json::decode_message(m, &format!("messages[{i}]")))
            .collect::<Result<Vec<_>, String>>()
            .map_err(Failure::Corrupt)?;
        Ok(Self {
            id,
            version,
            created,
            updated,
            head,
            metadata: metadata_of(metadata)?,
            messages,
        })
    }
}
