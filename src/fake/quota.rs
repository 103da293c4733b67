//! FakeBedrock's quotas (`quotas={"model": (rpm, tpm)}`): requests and input tokens per
//! minute per model, as token buckets holding one minute of quota and refilled
//! continuously. A request over either is refused as Bedrock refuses it: HTTP 429
//! `ThrottlingException` with Bedrock's texts (WIRE.md). The bucket shape is ours: Bedrock
//! does not document how it measures its minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::script::HttpError;

struct Bucket {
    per_minute: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: f64, now: Instant) -> Self {
        Self {
            per_minute,
            level: per_minute,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.duration_since(self.at).as_secs_f64();
        self.level = (self.level + secs * self.per_minute / 60.0).min(self.per_minute);
        self.at = now;
    }
}

type Buckets = (Option<Bucket>, Option<Bucket>);

/// Requests and input tokens per minute (either may be None).
pub type PerMinute = (Option<f64>, Option<f64>);

#[derive(Default)]
pub struct Quotas {
    /// Per model: the requests bucket and the tokens bucket.
    buckets: Mutex<HashMap<String, Buckets>>,
}

fn throttled(message: &str) -> HttpError {
    HttpError {
        code: "ThrottlingException".into(),
        status: 429,
        message: message.into(),
        extra: Default::default(),
    }
}

impl Quotas {
    pub fn new(quotas: HashMap<String, PerMinute>) -> Self {
        let now = Instant::now();
        let buckets = quotas
            .into_iter()
            .map(|(model, (rpm, tpm))| {
                let b = |q: Option<f64>| q.map(|q| Bucket::new(q, now));
                (model, (b(rpm), b(tpm)))
            })
            .collect();
        Self {
            buckets: Mutex::new(buckets),
        }
    }

    /// Takes a request of `tokens` input tokens from the model's quota, or refuses it.
    pub fn admit(&self, model_id: &str, tokens: u64) -> Result<(), HttpError> {
        let mut all = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some((requests, input)) = all.get_mut(model_id) else {
            return Ok(());
        };
        let now = Instant::now();
        if let Some(r) = requests.as_mut() {
            r.refill(now);
            if r.level < 1.0 {
                return Err(throttled(
                    "Too many requests, please wait before trying again.",
                ));
            }
        }
        if let Some(t) = input.as_mut() {
            t.refill(now);
            if t.level < tokens as f64 {
                return Err(throttled(
                    "Too many tokens, please wait before trying again.",
                ));
            }
            t.level -= tokens as f64;
        }
        if let Some(r) = requests.as_mut() {
            r.level -= 1.0;
        }
        Ok(())
    }
}
