//! The limiter's state in Redis, so that every process and machine given the same URL and
//! key shares one quota. The arithmetic is `gcra.rs`'s, in Lua, on the server's clock (one
//! clock for every machine); each call is one script, so reservations never interleave.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

use super::gcra::{Quota, BACKOFF, FLOOR, RECOVERY};

/// The factor in force (see `Gcra::factor`), as Lua.
const FACTOR: &str = r#"
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function factor(h, now, recovery)
  local low, at = tonumber(h[3]) or 0, tonumber(h[4]) or 0
  if low <= 0 or low >= 1 then return 1 end
  return math.min(1, low + (1 - low) * math.max(0, now - at) / recovery)
end
local function num(x) return string.format('%.6f', x) end
"#;

/// KEYS: the state hash. ARGV: rpm ('' for none), tpm, burst, tokens, recovery.
const RESERVE: &str = r#"
local now = clock()
local h = redis.call('HMGET', KEYS[1], 'tr', 'tt', 'low', 'at')
local f = factor(h, now, tonumber(ARGV[5]))
local tr, tt, go = tonumber(h[1]) or 0, tonumber(h[2]) or 0, now
if ARGV[1] ~= '' then
  tr = math.max(tr, now)
  go = math.max(go, tr - tonumber(ARGV[3]))
  tr = tr + 60 / (tonumber(ARGV[1]) * f)
end
if ARGV[2] ~= '' then
  tt = math.max(tt, now)
  go = math.max(go, tt - tonumber(ARGV[3]))
  tt = tt + tonumber(ARGV[4]) * 60 / (tonumber(ARGV[2]) * f)
end
redis.call('HSET', KEYS[1], 'tr', num(tr), 'tt', num(tt))
redis.call('EXPIRE', KEYS[1], 3600)
return num(go - now)
"#;

/// ARGV: rpm, tpm ('' for none), then the requests and tokens to add (negative: to give
/// back).
const SETTLE: &str = r#"
local h = redis.call('HMGET', KEYS[1], 'tr', 'tt')
if ARGV[1] ~= '' and h[1] then
  redis.call('HSET', KEYS[1], 'tr', num(tonumber(h[1]) + tonumber(ARGV[3]) * 60 / tonumber(ARGV[1])))
end
if ARGV[2] ~= '' and h[2] then
  redis.call('HSET', KEYS[1], 'tt', num(tonumber(h[2]) + tonumber(ARGV[4]) * 60 / tonumber(ARGV[2])))
end
return '1'
"#;

/// ARGV: recovery, backoff, floor.
const THROTTLED: &str = r#"
local now = clock()
local h = redis.call('HMGET', KEYS[1], 'tr', 'tt', 'low', 'at')
local low = math.max(tonumber(ARGV[3]), factor(h, now, tonumber(ARGV[1])) * tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'low', num(low), 'at', num(now))
redis.call('EXPIRE', KEYS[1], 3600)
return num(low)
"#;

#[derive(Clone)]
pub struct Shared {
    key: String,
    conn: std::sync::Arc<crate::fork::ForkLocal<ConnectionManager>>,
    reserve: Script,
    settle: Script,
    throttled: Script,
    timeout: Duration,
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

impl Shared {
    pub fn open(url: &str, key: &str) -> Result<Self, String> {
        let timeout = Duration::from_secs(1);
        let conn = std::sync::Arc::new(crate::store::redis::connect(url, timeout)?);
        Ok(Self {
            key: key.to_owned(),
            conn,
            reserve: Script::new(&format!("{FACTOR}{RESERVE}")),
            settle: Script::new(&format!("{FACTOR}{SETTLE}")),
            throttled: Script::new(&format!("{FACTOR}{THROTTLED}")),
            timeout,
        })
    }

    async fn run(&self, script: &Script, args: Vec<String>) -> Result<f64, String> {
        let mut conn = self.conn.get();
        let mut call = script.key(&self.key);
        for a in &args {
            call.arg(a);
        }
        let out: Result<String, _> =
            match tokio::time::timeout(self.timeout, call.invoke_async(&mut conn)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => return Err("no answer within 1 s".into()),
            };
        out?.parse::<f64>().map_err(|e| e.to_string())
    }

    /// Seconds to wait before the request goes.
    pub async fn reserve(&self, q: &Quota, tokens: f64) -> Result<f64, String> {
        let args = vec![
            opt(q.requests_per_minute),
            opt(q.tokens_per_minute),
            q.burst.to_string(),
            tokens.to_string(),
            RECOVERY.to_string(),
        ];
        self.run(&self.reserve, args).await
    }

    pub async fn settle(&self, q: &Quota, requests: f64, tokens: f64) -> Result<(), String> {
        let args = vec![
            opt(q.requests_per_minute),
            opt(q.tokens_per_minute),
            requests.to_string(),
            tokens.to_string(),
        ];
        self.run(&self.settle, args).await.map(|_| ())
    }

    pub async fn throttled(&self) -> Result<f64, String> {
        let args = vec![RECOVERY.to_string(), BACKOFF.to_string(), FLOOR.to_string()];
        self.run(&self.throttled, args).await
    }
}
