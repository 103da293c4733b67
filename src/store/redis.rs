//! The Redis store: for many workers on many machines. A conversation is a hash (version,
//! times, head, metadata) and a list of messages; an index (a sorted set by update time)
//! lists them. A turn is one Lua script, so the version check and the write are atomic.
//! The connection is redis-rs' `ConnectionManager`: one multiplexed connection shared by
//! every call, reconnected in the background after a failure.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde_json::{Map, Value};

use super::record::{head_of, matches, metadata_of};
use super::{Failure, Listing, Outcome, Record, Store, Write};
use crate::fork::ForkLocal;

const CHECK: &str = "Check that the Redis server is running and reachable at this URL (host, port, password, database number).";

/// Checks the version and writes the turn. KEYS: hash, list, index. ARGV: base, id,
/// created, updated, head, metadata, from, ttl, then the messages.
const SAVE: &str = r#"
local v = redis.call('HGET', KEYS[1], 'version')
local base = tonumber(ARGV[1])
if base == 0 then
  if v then return {0, tonumber(v)} end
elseif not v then
  return {0, -1}
elseif tonumber(v) ~= base then
  return {0, tonumber(v)}
end
local from = tonumber(ARGV[7])
-- The record says the list holds at least `from` messages: a shorter one was evicted
-- apart from it (a maxmemory policy), and appending would make the record lie.
if base ~= 0 and from > 0 and redis.call('LLEN', KEYS[2]) < from then
  return {0, -2}
end
if from == 0 then
  redis.call('DEL', KEYS[2])
elseif redis.call('LLEN', KEYS[2]) > from then
  redis.call('LTRIM', KEYS[2], 0, from - 1)
end
for i = 9, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
local version = base + 1
redis.call('HSET', KEYS[1], 'version', version, 'updated', ARGV[4], 'head', ARGV[5], 'metadata', ARGV[6])
if base == 0 then redis.call('HSET', KEYS[1], 'created', ARGV[3]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
local ttl = tonumber(ARGV[8])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  -- The index forgets what expired, and goes itself when nothing was written for a ttl.
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[4]) - ttl))
  redis.call('EXPIRE', KEYS[3], ttl)
end
return {1, version}
"#;

pub struct RedisStore {
    shown: String,
    prefix: String,
    ttl: u64,
    timeout: Duration,
    conn: ForkLocal<ConnectionManager>,
    save: Script,
}

fn down(e: impl std::fmt::Display) -> Failure {
    Failure::down(e, CHECK)
}

/// The URL without its password (for messages and reprs).
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A connection to `url`, made at its first use (so a client starts while Redis is down,
/// and works once it is up): one multiplexed connection, reconnected in the background
/// after a failure, each call bounded by `timeout`. Shared by the store and the rate limit.
/// One per fork generation: a child after `fork()` connects anew (the parent's connection
/// is driven by a task of the parent's runtime, which never runs in the child).
pub fn connect(url: &str, timeout: Duration) -> Result<ForkLocal<ConnectionManager>, String> {
    let first = connect_once(url, timeout)?;
    let url = url.to_owned();
    Ok(ForkLocal::with(first, move || {
        connect_once(&url, timeout).expect("the URL was accepted before the fork")
    }))
}

fn connect_once(url: &str, timeout: Duration) -> Result<ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    let _inside = crate::runtime::get().enter();
    client
        .get_connection_manager_lazy(config)
        .map_err(|e| e.to_string())
}

impl RedisStore {
    pub fn open(url: &str, prefix: &str, ttl: u64, timeout: Duration) -> Result<Self, String> {
        let conn = connect(url, timeout)?;
        Ok(Self {
            shown: shown(url),
            prefix: prefix.to_owned(),
            ttl,
            timeout,
            conn,
            save: Script::new(SAVE),
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn index(&self) -> String {
        format!("{}index", self.prefix)
    }

    /// `fut` with the store's timeout (a response that never comes is a failure too).
    fn timed<T, F>(&self, fut: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, Failure>> + Send + 'static,
    {
        let timeout = self.timeout;
        Box::pin(async move {
            tokio::time::timeout(timeout * 2, fut)
                .await
                .unwrap_or_else(|_| Err(down(format!("no answer within {timeout:?}"))))
        })
    }
}

type Row = (
    Option<u64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<String>,
);

impl Store for RedisStore {
    fn load(&self, id: &str) -> Outcome<Option<Record>> {
        let (hash, list) = (self.key("conv", id), self.key("msgs", id));
        let mut conn = self.conn.get();
        let id = id.to_owned();
        self.timed(async move {
            // MULTI/EXEC: the head and the messages of the same version.
            let (row, bodies): (Row, Vec<String>) = redis::pipe()
                .atomic()
                .hmget(
                    &hash,
                    &["version", "created", "updated", "head", "metadata"],
                )
                .lrange(&list, 0, -1)
                .query_async(&mut conn)
                .await
                .map_err(down)?;
            match row {
                (None, ..) => Ok(None),
                (Some(version), Some(created), Some(updated), Some(head), Some(metadata)) => {
                    Record::decode(id, version, (created, updated), &head, &metadata, &bodies)
                        .map(Some)
                }
                _ => Err(Failure::Corrupt("its hash lacks fields".into())),
            }
        })
    }

    fn version(&self, id: &str) -> Outcome<Option<u64>> {
        let hash = self.key("conv", id);
        let mut conn = self.conn.get();
        self.timed(async move { conn.hget(&hash, "version").await.map_err(down) })
    }

    fn save(&self, w: Write) -> Outcome<u64> {
        let keys = [
            self.key("conv", &w.id),
            self.key("msgs", &w.id),
            self.index(),
        ];
        let (script, ttl) = (self.save.clone(), self.ttl);
        let mut conn = self.conn.get();
        self.timed(async move {
            let mut invocation = script.prepare_invoke();
            for k in &keys {
                invocation.key(k);
            }
            invocation
                .arg(w.base)
                .arg(&w.id)
                .arg(w.created)
                .arg(w.updated)
                .arg(&w.head)
                .arg(&w.metadata)
                .arg(w.from)
                .arg(ttl);
            for m in &w.added {
                invocation.arg(m);
            }
            let (ok, version): (i64, i64) =
                invocation.invoke_async(&mut conn).await.map_err(down)?;
            if ok == 1 {
                Ok(version as u64)
            } else if version == -2 {
                Err(Failure::Corrupt(format!(
                    "Redis no longer holds all its messages (fewer than the {} its record \
                     counts): they were evicted or expired apart from it; check Redis's \
                     maxmemory-policy (volatile-* or noeviction keeps them), then delete \
                     the conversation or restore it",
                    w.from
                )))
            } else {
                Err(Failure::Conflict {
                    ours: w.base,
                    theirs: (version >= 0).then_some(version as u64),
                })
            }
        })
    }

    fn list(
        &self,
        max: usize,
        wanted: Map<String, Value>,
        after: Option<(f64, String)>,
    ) -> Outcome<Vec<Listing>> {
        let index = self.index();
        let prefix = self.prefix.clone();
        let mut conn = self.conn.get();
        self.timed(async move {
            let (top, after) = match after {
                Some((t, id)) => (t.to_string(), Some((t, id))),
                None => ("+inf".to_owned(), None),
            };
            let mut out = Vec::new();
            let mut expired: Vec<String> = Vec::new();
            let mut offset = 0isize;
            const CHUNK: isize = 100;
            while out.len() < max {
                let ids: Vec<(String, f64)> = conn
                    .zrevrangebyscore_limit_withscores(&index, &top, "-inf", offset, CHUNK)
                    .await
                    .map_err(down)?;
                if ids.is_empty() {
                    break;
                }
                offset += ids.len() as isize;
                let mut pipe = redis::pipe();
                for (id, _) in &ids {
                    pipe.hmget(
                        format!("{prefix}conv:{id}"),
                        &["version", "created", "updated", "head", "metadata"],
                    );
                }
                let rows: Vec<Row> = pipe.query_async(&mut conn).await.map_err(down)?;
                for ((id, score), row) in ids.into_iter().zip(rows) {
                    // Equal times come in descending id order: skip up to the cursor's id.
                    if after.as_ref().is_some_and(|(t, a)| score == *t && id >= *a) {
                        continue;
                    }
                    // A conversation whose keys expired (ttl) leaves the index here.
                    let (Some(version), Some(created), Some(updated), Some(head), Some(meta)) = row
                    else {
                        if row.0.is_none() {
                            expired.push(id);
                        }
                        continue;
                    };
                    // Note: a record that is not ours is left out (loading it says why).
                    let Ok(metadata) = metadata_of(&meta) else {
                        continue;
                    };
                    if !matches(&metadata, &wanted) {
                        continue;
                    }
                    let Ok(head) = head_of(&head) else {
                        continue;
                    };
                    out.push(Listing {
                        id,
                        version,
                        created,
                        updated,
                        model_id: head.model_id,
                        messages: head.messages,
                        metadata,
                    });
                    if out.len() == max {
                        break;
                    }
                }
            }
            if !expired.is_empty() {
                let _: Result<i64, _> = conn.zrem(&index, &expired).await;
            }
            Ok(out)
        })
    }

    fn delete(&self, id: &str) -> Outcome<bool> {
        let (hash, list, index) = (self.key("conv", id), self.key("msgs", id), self.index());
        let id = id.to_owned();
        let mut conn = self.conn.get();
        self.timed(async move {
            let (n, _, _): (i64, i64, i64) = redis::pipe()
                .atomic()
                .del(&hash)
                .del(&list)
                .zrem(&index, &id)
                .query_async(&mut conn)
                .await
                .map_err(down)?;
            Ok(n > 0)
        })
    }

    fn head(&self, id: &str) -> Outcome<Option<(u64, String)>> {
        let hash = self.key("conv", id);
        let mut conn = self.conn.get();
        self.timed(async move {
            let (version, head): (Option<u64>, Option<String>) = conn
                .hmget(&hash, &["version", "head"])
                .await
                .map_err(down)?;
            Ok(version.zip(head))
        })
    }

    fn describe(&self) -> String {
        format!("RedisStore({:?})", self.shown)
    }
}
