//! The rate arithmetic, with no clock of its own: GCRA (the generic cell rate algorithm) on
//! two dimensions, requests and tokens per minute. Each request reserves its place at once
//! (so concurrent callers queue fairly) and is told how long to wait before it goes. A
//! throttle from the service lowers the rate, which then recovers over `RECOVERY` seconds,
//! like botocore's adaptive mode.
//!
//! The Redis limiter runs the same arithmetic in Lua (`redis.rs`): keep the two in step.

/// Seconds a lowered rate takes to climb back to the quota.
pub const RECOVERY: f64 = 30.0;
/// A throttle multiplies the rate by this, down to `FLOOR` of the quota.
pub const BACKOFF: f64 = 0.7;
pub const FLOOR: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub requests_per_minute: Option<f64>,
    pub tokens_per_minute: Option<f64>,
    /// Seconds of quota that may go at once (GCRA's tolerance).
    pub burst: f64,
}

/// The limiter's state: theoretical arrival times (seconds on the caller's clock) and the
/// rate factor after the last throttle.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gcra {
    pub tat_requests: f64,
    pub tat_tokens: f64,
    /// The factor a throttle left, and when (0: no throttle yet).
    pub low: f64,
    pub throttled_at: f64,
}

impl Gcra {
    /// The share of the quota in force at `now` (1: all of it).
    pub fn factor(&self, now: f64) -> f64 {
        if self.low <= 0.0 || self.low >= 1.0 {
            return 1.0;
        }
        let climbed = (now - self.throttled_at).max(0.0) / RECOVERY;
        (self.low + (1.0 - self.low) * climbed).min(1.0)
    }

    /// Reserves a request of `tokens` at `now`; the seconds to wait before sending it.
    /// A request may go once its place (the theoretical arrival time) is within `burst`
    /// of now; it then pushes the place on by its share of the minute.
    pub fn reserve(&mut self, q: &Quota, now: f64, tokens: f64) -> f64 {
        let f = self.factor(now);
        let mut go = now;
        if let Some(rpm) = q.requests_per_minute {
            let place = self.tat_requests.max(now);
            go = go.max(place - q.burst);
            self.tat_requests = place + 60.0 / (rpm * f);
        }
        if let Some(tpm) = q.tokens_per_minute {
            let place = self.tat_tokens.max(now);
            go = go.max(place - q.burst);
            self.tat_tokens = place + tokens * 60.0 / (tpm * f);
        }
        go - now
    }

    /// Corrects reservations: `requests` and `tokens` more (or, negative, fewer) than
    /// were reserved (a request's real tokens; a cancelled wait gives its place back).
    pub fn settle(&mut self, q: &Quota, requests: f64, tokens: f64) {
        if let Some(rpm) = q.requests_per_minute {
            self.tat_requests += requests * 60.0 / rpm;
        }
        if let Some(tpm) = q.tokens_per_minute {
            self.tat_tokens += tokens * 60.0 / tpm;
        }
    }

    /// The service throttled a request at `now`: lower the rate for a while.
    pub fn throttled(&mut self, now: f64) {
        self.low = (self.factor(now) * BACKOFF).max(FLOOR);
        self.throttled_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(rpm: Option<f64>, tpm: Option<f64>) -> Quota {
        Quota {
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
            burst: 1.0,
        }
    }

    #[test]
    fn a_steady_caller_gets_the_quota_and_no_more() {
        let q = quota(Some(600.0), None); // 10 a second
        let (mut g, mut now, mut sent) = (Gcra::default(), 0.0, 0);
        while now < 60.0 {
            let wait = g.reserve(&q, now, 0.0);
            now += wait.max(0.0);
            sent += 1;
        }
        // a minute of quota, plus the one-second burst at the start
        assert!((600..=611).contains(&sent), "{sent}");
    }

    #[test]
    fn tokens_bind_when_requests_are_large() {
        let q = quota(Some(6000.0), Some(60_000.0)); // 1,000 tokens a second
        let mut g = Gcra::default();
        let waits: Vec<f64> = (0..5).map(|_| g.reserve(&q, 0.0, 2000.0)).collect();
        // each request is two seconds of tokens; one second's worth may go early
        let expected = [0.0, 1.0, 3.0, 5.0, 7.0];
        for (w, e) in waits.iter().zip(expected) {
            assert!((w - e).abs() < 1e-9, "{waits:?}");
        }
        g.settle(&q, 0.0, -2000.0); // the last one used nothing after all
        assert!((g.reserve(&q, 0.0, 0.0) - 7.0).abs() < 1e-9, "{g:?}");
    }

    #[test]
    fn a_throttle_slows_down_then_recovers() {
        let q = quota(Some(60.0), None);
        let mut g = Gcra::default();
        g.throttled(100.0);
        assert!((g.factor(100.0) - BACKOFF).abs() < 1e-9);
        g.throttled(100.0);
        assert!((g.factor(100.0) - BACKOFF * BACKOFF).abs() < 1e-9);
        assert!((g.factor(100.0 + RECOVERY) - 1.0).abs() < 1e-9);
        g.tat_requests = 100.0;
        assert_eq!(g.reserve(&q, 100.0, 0.0), 0.0);
        // one a second at full rate; at 49% of it the next place is 2.04 s on
        let step = g.tat_requests - 100.0;
        assert!((step - 1.0 / (BACKOFF * BACKOFF)).abs() < 1e-9, "{step}");
        for _ in 0..20 {
            g.throttled(200.0);
        }
        assert!((g.factor(200.0) - FLOOR).abs() < 1e-9);
    }
}
