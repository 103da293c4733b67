//! Conversation stores: where a conversation outlives the process. One small trait, two
//! stores (SQLite on one machine, Redis across machines); the conversation code sees only
//! the trait. A turn is written when it commits, as one atomic write that carries the
//! version it was based on (optimistic concurrency): a write based on an old version is
//! refused as a conflict, never merged.

pub mod link;
pub mod py;
pub mod record;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use crate::errors::ErrorInfo;
use crate::runtime::BoxFuture;
pub use record::{Head, Listing, Record, Write};

/// Why a store call failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The store is down, unreachable or refused the call: the cause, and what to check.
    Down { cause: String, check: &'static str },
    /// The record is not one this version can load (corrupt, or written by something else).
    Corrupt(String),
    /// The write was based on `ours`, the store holds `theirs` (None: deleted meanwhile).
    Conflict { ours: u64, theirs: Option<u64> },
    /// The turn holds something this version cannot write (retrying will not help).
    Unstorable(String),
}

impl Failure {
    pub fn down(cause: impl std::fmt::Display, check: &'static str) -> Self {
        Self::Down {
            cause: cause.to_string(),
            check,
        }
    }

    /// The exception it becomes (a conflict is built by the commit, which knows the reply).
    pub fn info(&self, store: &str, id: &str) -> ErrorInfo {
        match self {
            Failure::Down { cause, check } => {
                let mut info =
                    ErrorInfo::new("StoreError", format!("{store}: {cause}")).with_hint(check);
                info.retryable = true;
                info
            }
            Failure::Corrupt(what) => ErrorInfo::new(
                "StoreError",
                format!("{store}: conversation {id:?} is damaged in the store: {what}."),
            )
            .with_hint("Nothing was loaded from it or written to it (a record written by another program, or changed behind fastconverse's back)."),
            Failure::Conflict { ours, theirs } => {
                let shown = theirs.map_or("none (it was deleted)".to_owned(), |v| v.to_string());
                let mut info = ErrorInfo::new(
                    "ConversationConflictError",
                    format!("conversation {id:?} changed in the store meanwhile (this conversation was at version {ours}, the store has {shown})"),
                );
                info.versions = Some((*ours, *theirs));
                info
            }
            Failure::Unstorable(what) => ErrorInfo::new(
                "StoreError",
                format!("{store}: conversation {id:?} cannot be written: {what}"),
            )
            .with_hint("This content cannot be stored by this version; please report it."),
        }
    }
}

pub type Outcome<T> = BoxFuture<Result<T, Failure>>;

/// What a conversation store does. Every call is one round trip (or one transaction).
pub trait Store: Send + Sync + 'static {
    /// A conversation, whole (None when there is none).
    fn load(&self, id: &str) -> Outcome<Option<Record>>;
    /// The version the store holds (None when there is none): the cheap check a turn
    /// makes before it starts, so that a worker continues the newest history.
    fn version(&self, id: &str) -> Outcome<Option<u64>>;
    /// Writes a turn (or a new conversation: `base == 0`) atomically; the new version.
    fn save(&self, write: Write) -> Outcome<u64>;
    /// Conversations, the most recently updated first, after `after` (updated, id), whose
    /// metadata has every key and value of `metadata`.
    fn list(
        &self,
        max: usize,
        metadata: serde_json::Map<String, serde_json::Value>,
        after: Option<(f64, String)>,
    ) -> Outcome<Vec<Listing>>;
    /// Removes a conversation; whether there was one.
    fn delete(&self, id: &str) -> Outcome<bool>;
    /// The version and head the store holds (None when there is none).
    fn head(&self, id: &str) -> Outcome<Option<(u64, String)>>;
    /// Where it is, for messages (never credentials).
    fn describe(&self) -> String;
}

pub type Shared = Arc<dyn Store>;

/// Seconds since the epoch, for created/updated times.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
