//! The SQLite store: one file on one machine, safe for several processes (WAL: readers do
//! not wait for the writer; writers take turns, waiting up to `timeout`). A turn is one
//! `BEGIN IMMEDIATE` transaction: the head's version is checked and bumped, the turn's
//! messages appended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};

use super::record::{head_of, matches, metadata_of};
use super::{Failure, Listing, Outcome, Record, Store, Write};
use crate::fork::ForkLocal;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fastconverse_conversations (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    head TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fastconverse_by_update
    ON fastconverse_conversations (updated DESC, id DESC);
CREATE TABLE IF NOT EXISTS fastconverse_messages (
    conversation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (conversation, seq)
) WITHOUT ROWID;
";

const CHECK: &str = "Check that the database file's folder exists and is writable, that the disk is not full, and that no other program holds a long write lock on it.";

pub struct SqliteStore {
    path: String,
    timeout: Duration,
    /// The connection, one per fork generation: a child after `fork()` opens its own at
    /// first use (SQLite forbids using the parent's) and never touches the parent's, not
    /// even its lock (a parent thread may have held it).
    conn: ForkLocal<Arc<Mutex<Option<Connection>>>>,
}

fn down(e: rusqlite::Error) -> Failure {
    Failure::down(e, CHECK)
}

impl SqliteStore {
    pub fn open(path: &str, timeout: Duration) -> Result<Self, Failure> {
        let conn = connect(path, timeout)?;
        Ok(Self {
            path: path.to_owned(),
            timeout,
            conn: ForkLocal::with(Arc::new(Mutex::new(Some(conn))), || {
                Arc::new(Mutex::new(None))
            }),
        })
    }

    /// Runs `f` on the connection off the runtime's threads (SQLite calls block).
    fn run<T, F>(&self, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        let conn = self.conn.get();
        let (path, timeout) = (self.path.clone(), self.timeout);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                let conn = match &mut *conn {
                    Some(open) => open,
                    // (the first use in a child after fork())
                    empty => empty.insert(connect(&path, timeout)?),
                };
                f(conn)
            })
            .await
            .unwrap_or_else(|e| Err(Failure::down(format!("the store call failed: {e}"), CHECK)))
        })
    }
}

/// Opens the database in WAL mode with the store's schema.
fn connect(path: &str, timeout: Duration) -> Result<Connection, Failure> {
    let conn = Connection::open(path).map_err(down)?;
    conn.busy_timeout(timeout).map_err(down)?;
    // Note: WAL lets readers in other processes go on while one writes; NORMAL
    // synchronous is WAL's recommended setting (a power cut may lose the last turns,
    // never corrupt the file).
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(down)?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(Failure::down(
            format!("{path}: could not switch to WAL mode (got {mode})"),
            CHECK,
        ));
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL;")
        .map_err(down)?;
    conn.execute_batch(SCHEMA).map_err(down)?;
    Ok(conn)
}

fn version_of(conn: &Connection, id: &str) -> Result<Option<u64>, Failure> {
    conn.query_row(
        "SELECT version FROM fastconverse_conversations WHERE id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
    .map_err(down)
}

fn save(conn: &mut Connection, w: Write) -> Result<u64, Failure> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(down)?;
    let changed = if w.base == 0 {
        tx.execute(
            "INSERT INTO fastconverse_conversations (id, version, created, updated, head, metadata)
             VALUES (?1, 1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
            params![w.id, w.created, w.updated, w.head, w.metadata],
        )
    } else {
        tx.execute(
            "UPDATE fastconverse_conversations SET version = version + 1, updated = ?3,
             head = ?4, metadata = ?5 WHERE id = ?1 AND version = ?2",
            params![w.id, w.base as i64, w.updated, w.head, w.metadata],
        )
    }
    .map_err(down)?;
    if changed == 0 {
        let theirs = version_of(&tx, &w.id)?;
        return Err(Failure::Conflict {
            ours: w.base,
            theirs,
        });
    }
    tx.execute(
        "DELETE FROM fastconverse_messages WHERE conversation = ?1 AND seq >= ?2",
        params![w.id, w.from as i64],
    )
    .map_err(down)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO fastconverse_messages (conversation, seq, body) VALUES (?1, ?2, ?3)",
            )
            .map_err(down)?;
        for (i, body) in w.added.iter().enumerate() {
            insert
                .execute(params![w.id, (w.from + i) as i64, body])
                .map_err(down)?;
        }
    }
    tx.commit().map_err(down)?;
    Ok(w.base + 1)
}

fn load(conn: &mut Connection, id: &str) -> Result<Option<Record>, Failure> {
    // One read transaction: the head and the messages of the same version.
    let tx = conn.transaction().map_err(down)?;
    let row = tx
        .query_row(
            "SELECT version, created, updated, head, metadata FROM fastconverse_conversations WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()
        .map_err(down)?;
    let Some((version, created, updated, head, metadata)) = row else {
        return Ok(None);
    };
    let bodies = {
        let mut q = tx
            .prepare_cached(
                "SELECT body FROM fastconverse_messages WHERE conversation = ?1 ORDER BY seq",
            )
            .map_err(down)?;
        let rows = q.query_map([id], |r| r.get::<_, String>(0)).map_err(down)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(down)?
    };
    tx.finish().map_err(down)?;
    Record::decode(
        id.to_owned(),
        version as u64,
        (created, updated),
        &head,
        &metadata,
        &bodies,
    )
    .map(Some)
}

fn list(
    conn: &mut Connection,
    max: usize,
    wanted: &Map<String, Value>,
    after: Option<(f64, String)>,
) -> Result<Vec<Listing>, Failure> {
    let (after_t, after_id) = after.unwrap_or((f64::INFINITY, String::new()));
    let mut q = conn
        .prepare_cached(
            "SELECT id, version, created, updated, head, metadata FROM fastconverse_conversations
             WHERE updated < ?1 OR (updated = ?1 AND id < ?2) ORDER BY updated DESC, id DESC",
        )
        .map_err(down)?;
    let mut rows = q.query(params![after_t, after_id]).map_err(down)?;
    let mut out = Vec::new();
    while out.len() < max {
        let Some(r) = rows.next().map_err(down)? else {
            break;
        };
        // Note: a row that is not ours is left out of the listing (loading it says why).
        let Ok(metadata) = metadata_of(&r.get::<_, String>(5).map_err(down)?) else {
            continue;
        };
        if !matches(&metadata, wanted) {
            continue;
        }
        let Ok(head) = head_of(&r.get::<_, String>(4).map_err(down)?) else {
            continue;
        };
        out.push(Listing {
            id: r.get(0).map_err(down)?,
            version: r.get::<_, i64>(1).map_err(down)? as u64,
            created: r.get(2).map_err(down)?,
            updated: r.get(3).map_err(down)?,
            model_id: head.model_id,
            messages: head.messages,
            metadata,
        });
    }
    Ok(out)
}

impl Store for SqliteStore {
    fn load(&self, id: &str) -> Outcome<Option<Record>> {
        let id = id.to_owned();
        self.run(move |c| load(c, &id))
    }

    fn version(&self, id: &str) -> Outcome<Option<u64>> {
        let id = id.to_owned();
        self.run(move |c| version_of(c, &id))
    }

    fn save(&self, write: Write) -> Outcome<u64> {
        self.run(move |c| save(c, write))
    }

    fn list(
        &self,
        max: usize,
        metadata: Map<String, Value>,
        after: Option<(f64, String)>,
    ) -> Outcome<Vec<Listing>> {
        self.run(move |c| list(c, max, &metadata, after))
    }

    fn delete(&self, id: &str) -> Outcome<bool> {
        let id = id.to_owned();
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(down)?;
            let n = tx
                .execute(
                    "DELETE FROM fastconverse_conversations WHERE id = ?1",
                    [&id],
                )
                .map_err(down)?;
            tx.execute(
                "DELETE FROM fastconverse_messages WHERE conversation = ?1",
                [&id],
            )
            .map_err(down)?;
            tx.commit().map_err(down)?;
            Ok(n > 0)
        })
    }

    fn head(&self, id: &str) -> Outcome<Option<(u64, String)>> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT version, head FROM fastconverse_conversations WHERE id = ?1",
                [&id],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(down)
        })
    }

    fn describe(&self) -> String {
        format!("SQLiteStore({:?})", self.path)
    }
}
