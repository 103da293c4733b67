//! Rate limits that know Bedrock's quotas (requests and tokens per minute): every request a
//! client makes reserves its place first and waits its turn, asynchronously in the request
//! future (so a sync caller waits with the GIL released and Ctrl-C working, and an async
//! one without blocking its loop). Input tokens are estimated before a request and
//! corrected with the real usage after it; a throttle lowers the rate for a while.

pub mod gcra;
pub mod py;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gcra::{Gcra, Quota};

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub waits: AtomicU64,
    pub waited_us: AtomicU64,
    pub throttles: AtomicU64,
    /// Calls the shared (Redis) state did not answer: those fell back to this process's.
    pub fallbacks: AtomicU64,
}

pub struct Limiter {
    pub quota: Quota,
    local: Mutex<Gcra>,
    epoch: Instant,
    shared: Option<redis::Shared>,
    pub stats: Stats,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("quota", &self.quota)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Limiter {
    pub fn new(quota: Quota, shared: Option<redis::Shared>) -> Self {
        Self {
            quota,
            local: Mutex::new(Gcra::default()),
            epoch: Instant::now(),
            shared,
            stats: Stats::default(),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Gcra> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request of about `tokens` input tokens may go.
    pub async fn acquire(&self, tokens: u64) {
        let tokens = tokens as f64;
        let shared = match &self.shared {
            Some(s) => s.reserve(&self.quota, tokens).await.ok(),
            None => None,
        };
        let wait = match shared {
            Some(wait) => wait,
            None => {
                if self.shared.is_some() {
                    self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                }
                let now = self.now();
                self.local().reserve(&self.quota, now, tokens)
            }
        };
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if wait > 0.0 {
            let wait = Duration::from_secs_f64(wait.min(3600.0));
            self.stats.waits.fetch_add(1, Ordering::Relaxed);
            self.stats
                .waited_us
                .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// A request reserved `reserved` tokens and used `used`: give back or take the rest.
    pub fn settle(self: &std::sync::Arc<Self>, reserved: u64, used: u64) {
        let delta = used as f64 - reserved as f64;
        if delta == 0.0 || self.quota.tokens_per_minute.is_none() {
            return;
        }
        if self.shared.is_some() {
            let me = self.clone();
            crate::runtime::get().spawn(async move {
                if let Some(s) = &me.shared {
                    if s.settle(&me.quota, delta).await.is_err() {
                        me.local().settle(&me.quota, delta);
                    }
                }
            });
        } else {
            self.local().settle(&self.quota, delta);
        }
    }

    /// The service throttled one of this limiter's requests.
    pub fn throttled(self: &std::sync::Arc<Self>) {
        self.stats.throttles.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        self.local().throttled(now);
        if self.shared.is_some() {
            let me = self.clone();
            crate::runtime::get().spawn(async move {
                if let Some(s) = &me.shared {
                    let _ = s.throttled().await;
                }
            });
        }
    }

    /// The share of the quota in force in this process (after throttles).
    pub fn factor(&self) -> f64 {
        let now = self.now();
        self.local().factor(now)
    }
}

/// The estimate of a request's input tokens (what it reserves before it goes).
pub fn request_tokens(
    messages: &[aws_sdk_bedrockruntime::types::Message],
    system: &[aws_sdk_bedrockruntime::types::SystemContentBlock],
    tools: Option<&aws_sdk_bedrockruntime::types::ToolConfiguration>,
) -> u64 {
    use crate::context::estimate::{message_tokens, system_tokens, tools_tokens};
    messages.iter().map(message_tokens).sum::<u64>()
        + system_tokens(system)
        + tools.map_or(0, |t| tools_tokens(t.tools()))
}

/// Waits for the limiter, when there is one.
pub async fn admit(limiter: Option<&std::sync::Arc<Limiter>>, tokens: u64) {
    if let Some(l) = limiter {
        l.acquire(tokens).await;
    }
}
