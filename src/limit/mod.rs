//! Rate limits that know Bedrock's quotas (requests and tokens per minute): every request a
//! client makes reserves its place first and waits its turn, asynchronously in the request
//! future (so a sync caller waits with the GIL released and Ctrl-C working, and an async
//! one without blocking its loop). Input tokens are estimated before a request and
//! corrected with the real usage after it; a throttle lowers the rate for a while.

pub mod gcra;
pub mod py;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
            // A wait that is cancelled (the caller's task, Ctrl-C) gives its place back.
            let place = Place {
                limiter: self,
                tokens,
            };
            tokio::time::sleep(wait).await;
            self.stats
                .waited_us
                .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
            std::mem::forget(place);
        }
    }

    /// Moves the reservations by `requests` and `tokens` (negative: gives back).
    fn adjust(&self, requests: f64, tokens: f64) {
        let q = self.quota;
        self.local().settle(&q, requests, tokens);
        if let Some(shared) = &self.shared {
            let shared = shared.clone();
            crate::runtime::get().spawn(async move {
                let _ = shared.settle(&q, requests, tokens).await;
            });
        }
    }

    /// A request reserved `reserved` tokens and used `used`: give back or take the rest.
    pub fn settle(&self, reserved: u64, used: u64) {
        let delta = used as f64 - reserved as f64;
        if delta != 0.0 && self.quota.tokens_per_minute.is_some() {
            self.adjust(0.0, delta);
        }
    }

    /// The service throttled one of this limiter's requests.
    pub fn throttled(self: &Arc<Self>) {
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

/// A reservation whose wait is under way: dropped before it ends (a cancelled wait), it
/// gives its place back.
struct Place<'a> {
    limiter: &'a Limiter,
    tokens: f64,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.limiter.adjust(-1.0, -self.tokens);
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

/// Waits for the limiter, when there is one; the request's reservation, to be settled by
/// whatever reads its answer.
pub async fn admit(limiter: Option<&Arc<Limiter>>, tokens: u64) -> Option<Reservation> {
    let limiter = limiter?;
    limiter.acquire(tokens).await;
    Some(Reservation {
        limiter: limiter.clone(),
        tokens,
    })
}

/// What a request sent under `reservation` gave: a refusal the service answered gives its
/// tokens back (it used none); a failure without an answer (a timeout, a cut connection)
/// keeps the estimate (the service may have read the prompt); an answer keeps the
/// reservation for its usage to settle.
// (the error is the call's own, passed straight through: boxing it here would only move it)
#[allow(clippy::result_large_err)]
pub fn answered<T>(
    reservation: Option<Reservation>,
    out: Result<T, crate::errors::ErrorInfo>,
) -> Result<(T, Option<Reservation>), crate::errors::ErrorInfo> {
    match out {
        Ok(answer) => Ok((answer, reservation)),
        Err(e) => {
            if let (Some(r), Some(_)) = (reservation, e.status) {
                r.unused();
            }
            Err(e)
        }
    }
}

/// A request's place, from the moment it may go until its answer settles it. Every way a
/// request can end settles it once:
/// - answered: its real use (input and output tokens) replaces the estimate (`used`);
/// - refused by the service before any of the answer (a throttle, a 5xx, a stream's
///   exception before its content, each attempt of a stream sent again): it used no
///   tokens, they go back (`unused`); its place in the request count stays, as the
///   service saw it;
/// - failed without an answer (a timeout, a cut connection), after part of the answer, or
///   cancelled once sent: the estimate stands as its use (the service may well have read
///   the prompt); dropping it says so.
#[must_use = "a reservation is settled by the answer"]
pub struct Reservation {
    limiter: Arc<Limiter>,
    tokens: u64,
}

impl Reservation {
    pub fn used(self, tokens: u64) {
        self.limiter.settle(self.tokens, tokens);
    }

    pub fn unused(self) {
        self.limiter.settle(self.tokens, 0);
    }

    /// The service throttled the request inside a stream (HTTP 429s are seen by the SDK's
    /// interceptor, retries included).
    pub fn throttled(&self) {
        self.limiter.throttled();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_ten_seconds() -> Limiter {
        let quota = Quota {
            requests_per_minute: Some(6.0),
            tokens_per_minute: Some(600.0),
            burst: 0.0,
        };
        Limiter::new(quota, None)
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_gives_its_place_back() {
        let l = every_ten_seconds();
        l.acquire(0).await; // goes at once; the next place is 10 s on
        let cut = tokio::time::timeout(Duration::from_millis(10), l.acquire(50)).await;
        assert!(cut.is_err(), "the second request had to wait");
        let g = *l.local();
        let now = l.now();
        // one request's place (10 s) is taken, not two; the 50 tokens went back too
        assert!((g.tat_requests - now - 10.0).abs() < 0.1, "{g:?} at {now}");
        assert!(g.tat_tokens <= now + 0.1, "{g:?} at {now}");
        assert_eq!(l.stats.waits.load(Ordering::Relaxed), 1);
        assert_eq!(l.stats.waited_us.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn usage_corrects_the_estimate() {
        let l = every_ten_seconds();
        l.acquire(500).await; // 50 s of tokens reserved
        l.settle(500, 100); // 10 s used
        let g = *l.local();
        assert!((g.tat_tokens - l.now() - 10.0).abs() < 0.1, "{g:?}");
    }
}
