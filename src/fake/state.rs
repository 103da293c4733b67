//! What FakeBedrock answers to a request: the scripted turn queues, validation, the default
//! model, token usage and prompt caching, and the log of received requests.

use super::quota::Quotas;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::auth::AuthConfig;
use super::script::{EventCursor, HttpError, Turn, Usage};
use super::{tokens, validate};

/// FakeBedrock's settings.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    pub auth: AuthConfig,
    /// When set, only these model ids are served; others get "The provided model identifier is invalid."
    pub models: Option<Vec<String>>,
    /// Context window (input tokens) per model id.
    pub context_windows: HashMap<String, u64>,
    /// Context window of models not in `context_windows`; None means unlimited.
    pub default_context_window: Option<u64>,
    /// When set, only these model ids support CountTokens.
    pub count_tokens_models: Option<Vec<String>>,
    /// Requests and input tokens per minute, per model id.
    pub quotas: HashMap<String, super::quota::PerMinute>,
    /// How many received requests are kept (the newest); None keeps all.
    pub max_recorded: Option<usize>,
}

/// One request FakeBedrock received, as it received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `Converse`, `ConverseStream`, `CountTokens`, or the raw path's last segment.
    pub operation: String,
    /// The decoded model id (`None` when the path had none).
    pub model_id: Option<String>,
    pub method: String,
    /// The path exactly as received (still percent-encoded).
    pub path: String,
    /// The JSON body (Null when the body was not JSON).
    pub body: Value,
    /// The body as received (shares the received buffer).
    pub raw_body: bytes::Bytes,
    /// Headers as received, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The `x-amzn-RequestId` the answer carries.
    pub request_id: String,
}

/// What to send back.
pub enum Outcome {
    Json(Value),
    Error(HttpError),
    Stream(Box<EventCursor>),
    /// Close the connection without answering.
    Disconnect,
}

#[derive(Default)]
struct Queues {
    shared: VecDeque<Turn>,
    by_model: HashMap<String, VecDeque<Turn>>,
}

pub struct State {
    pub config: FakeConfig,
    queues: Mutex<Queues>,
    /// Shared, never copied: reading `requests` costs a pointer per request.
    requests: Mutex<VecDeque<Arc<RecordedRequest>>>,
    cached_prefixes: Mutex<HashSet<u64>>,
    request_counter: AtomicU64,
    request_id_seed: u64,
    quotas: Quotas,
    /// Reasoning the fake has sent, by signature (or `redacted:` + data): a request may
    /// only send it back unchanged, as with Anthropic's signed thinking blocks.
    reasoning: Mutex<std::collections::HashMap<String, String>>,
    /// Scripted turns a fault cut, which a request may ask to continue.
    cuts: super::prefill::Cuts,
}

pub fn validation(message: impl Into<String>) -> HttpError {
    HttpError {
        code: "ValidationException".into(),
        status: 400,
        message: message.into(),
        extra: Default::default(),
    }
}

impl State {
    pub fn new(config: FakeConfig) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self {
            quotas: Quotas::new(config.quotas.clone()),
            config,
            queues: Mutex::default(),
            requests: Mutex::default(),
            cached_prefixes: Mutex::default(),
            request_counter: AtomicU64::new(0),
            request_id_seed: seed,
            reasoning: Mutex::default(),
            cuts: Default::default(),
        }
    }

    /// A fresh request id in the UUID form the service uses.
    pub fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        let mut h = DefaultHasher::new();
        (self.request_id_seed, n).hash(&mut h);
        let r = h.finish();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (r >> 32) as u32,
            (r >> 16) as u16,
            (r & 0xfff) as u16,
            (n & 0xfff) as u16,
            n
        )
    }

    pub fn enqueue(&self, turn: Turn, model_id: Option<String>) {
        let mut q = self.queues.lock().unwrap();
        match model_id {
            Some(model) => q.by_model.entry(model).or_default().push_back(turn),
            None => q.shared.push_back(turn),
        }
    }

    /// Scripted turns not yet answered.
    pub fn pending(&self) -> usize {
        let q = self.queues.lock().unwrap();
        q.shared.len() + q.by_model.values().map(VecDeque::len).sum::<usize>()
    }

    pub fn requests(&self) -> Vec<Arc<RecordedRequest>> {
        self.requests.lock().unwrap().iter().cloned().collect()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Forgets scripted turns, received requests and the prompt cache.
    pub fn reset(&self) {
        *self.queues.lock().unwrap() = Queues::default();
        self.requests.lock().unwrap().clear();
        self.cached_prefixes.lock().unwrap().clear();
        self.cuts.clear();
    }

    pub fn record(&self, request: RecordedRequest) {
        let mut requests = self.requests.lock().unwrap();
        requests.push_back(Arc::new(request));
        if let Some(max) = self.config.max_recorded {
            while requests.len() > max {
                requests.pop_front();
            }
        }
    }

    /// The next scripted turn for `model_id`: its own queue first, then the shared one.
    fn pop_turn(&self, model_id: &str) -> Option<(Turn, Option<String>)> {
        let mut q = self.queues.lock().unwrap();
        if let Some(turn) = q.by_model.get_mut(model_id).and_then(VecDeque::pop_front) {
            return Some((turn, Some(model_id.to_owned())));
        }
        q.shared.pop_front().map(|turn| (turn, None))
    }

    /// Puts a popped turn back where it came from, at the front.
    fn unpop_turn(&self, popped: Option<(Turn, Option<String>)>) {
        let Some((turn, model)) = popped else { return };
        let mut q = self.queues.lock().unwrap();
        match model {
            Some(model) => q.by_model.entry(model).or_default().push_front(turn),
            None => q.shared.push_front(turn),
        }
    }

    fn check_model(&self, model_id: &str) -> Result<(), HttpError> {
        match &self.config.models {
            Some(models) if !models.iter().any(|m| m == model_id) => {
                Err(validation("The provided model identifier is invalid."))
            }
            _ => Ok(()),
        }
    }

    fn context_window(&self, model_id: &str) -> Option<u64> {
        self.config
            .context_windows
            .get(model_id)
            .copied()
            .or(self.config.default_context_window)
    }

    /// Usage of the prompt, splitting off what the prompt cache reads or writes.
    fn prompt_usage(&self, model_id: &str, body: &Value) -> Usage {
        super::caching::prompt_usage(&mut self.cached_prefixes.lock().unwrap(), model_id, body)
    }

    /// Answers Converse (`stream == false`) or ConverseStream.
    pub fn converse(&self, model_id: &str, body: &Value, stream: bool) -> (Outcome, Duration) {
        let (turn, prompt) = match self.turn_for(model_id, body) {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        let delay = turn.first_byte_delay;
        let outcome = if stream {
            Outcome::Stream(Box::new(EventCursor::new(turn, prompt)))
        } else {
            Self::whole(&turn).unwrap_or_else(|| Outcome::Json(turn.converse_response(prompt)))
        };
        (outcome, delay)
    }

    /// Answers InvokeModel (`stream == false`) or InvokeModelWithResponseStream, for
    /// Anthropic Messages bodies.
    pub fn invoke(
        &self,
        model_id: &str,
        body: &Value,
        stream: bool,
        request_id: &str,
    ) -> (Outcome, Duration) {
        let converse = match super::invoke::as_converse(body) {
            Ok(c) => c,
            Err(message) => return (Outcome::Error(validation(message)), Duration::ZERO),
        };
        let (turn, prompt) = match self.turn_for(model_id, &converse) {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        let delay = turn.first_byte_delay;
        let usage = turn.usage(prompt);
        let outcome = if stream {
            let events = super::invoke::events(&turn, usage, model_id, request_id);
            Outcome::Stream(Box::new(EventCursor::chunks(turn, prompt, events)))
        } else {
            Self::whole(&turn).unwrap_or_else(|| {
                Outcome::Json(super::invoke::response(&turn, usage, model_id, request_id))
            })
        };
        (outcome, delay)
    }

    /// A whole (not streamed) answer's scripted failure: a turn scripted to fail
    /// mid-stream fails the same way without a stream.
    fn whole(turn: &Turn) -> Option<Outcome> {
        if let Some(err) = &turn.stream_error {
            let known = crate::wire::error_codes::lookup(err.code).expect("stream codes are known");
            Some(Outcome::Error(HttpError {
                code: err.code.into(),
                status: known.status,
                message: err.message.clone(),
                extra: Default::default(),
            }))
        } else if turn.disconnect_after_events.is_some() {
            Some(Outcome::Disconnect)
        } else {
            None
        }
    }

    /// The turn that answers a (Converse-shaped) request, or the refusal.
    fn turn_for(&self, model_id: &str, body: &Value) -> Result<(Turn, Usage), (Outcome, Duration)> {
        if let Err(e) = self.check_model(model_id) {
            return Err((Outcome::Error(e), Duration::ZERO));
        }
        // A request that continues a cut scripted turn gets its rest, not the next in line.
        let continued = super::prefill::prefix(body)
            .and_then(|(said, _)| self.cuts.continuation(model_id, said));
        let scripted = match continued {
            Some(_) => None,
            None => self.pop_turn(model_id),
        };
        if let Some((turn, _)) = &scripted {
            if let Some(err) = &turn.http_error {
                return Err((Outcome::Error(err.clone()), turn.first_byte_delay));
            }
        }
        let checked = validate::validate_converse(body)
            .and_then(|()| super::prefill::check_prefill(model_id, body))
            .and_then(|()| super::reasoning::check_forced_tool(body))
            .and_then(|()| {
                let issued = self.reasoning.lock().unwrap();
                super::reasoning::check_round_trip(body, &issued)
            });
        if let Err(message) = checked {
            // The request never reached the model: its scripted answer stays queued.
            self.unpop_turn(scripted);
            return Err((Outcome::Error(validation(message)), Duration::ZERO));
        }
        if let Some(window) = self.context_window(model_id) {
            let input = tokens::input_tokens(body);
            let max = body["inferenceConfig"]["maxTokens"].as_u64().unwrap_or(0);
            let message = if input > window {
                Some("Input is too long for requested model.".to_owned())
            } else if input + max > window {
                Some(format!(
                    "input length and `max_tokens` exceed context limit: {input} + {max} > {window}, decrease input length or `max_tokens` and try again"
                ))
            } else {
                None
            };
            if let Some(message) = message {
                self.unpop_turn(scripted);
                return Err((Outcome::Error(validation(message)), Duration::ZERO));
            }
        }
        if let Err(e) = self.quotas.admit(model_id, tokens::input_tokens(body)) {
            self.unpop_turn(scripted);
            return Err((Outcome::Error(e), Duration::ZERO));
        }
        let mut turn = match (continued, scripted) {
            (Some((i, turn)), _) => {
                self.cuts.forget(i);
                turn
            }
            (None, Some((turn, _))) => turn,
            (None, None) => super::prefill::default_turn(body),
        };
        self.cuts.remember(model_id, &turn);
        let traced = body["guardrailConfig"]["trace"]
            .as_str()
            .is_some_and(|t| t.starts_with("enabled"));
        if !traced {
            turn.trace = None;
        }
        turn.served = ["serviceTier", "performanceConfig"]
            .into_iter()
            .filter_map(|k| body.get(k).map(|v| (k.to_owned(), v.clone())))
            .collect();
        super::reasoning::remember(&turn, &mut self.reasoning.lock().unwrap());
        let prompt = self.prompt_usage(model_id, body);
        Ok((turn, prompt))
    }

    /// Answers CountTokens.
    pub fn count_tokens(&self, model_id: &str, body: &Value) -> Outcome {
        if let Err(e) = self.check_model(model_id) {
            return Outcome::Error(e);
        }
        if let Some(models) = &self.config.count_tokens_models {
            if !models.iter().any(|m| m == model_id) {
                // As Bedrock answers for models without token counting (inference profiles
                // among them), quoted by strands-agents and bifrost.
                return Outcome::Error(validation(
                    "The provided model doesn't support counting tokens.",
                ));
            }
        }
        let input = &body["input"];
        if let Some(converse) = input.get("converse") {
            if let Err(message) = validate::validate_converse(converse) {
                return Outcome::Error(validation(message));
            }
            return Outcome::Json(json!({ "inputTokens": tokens::input_tokens(converse) }));
        }
        if let Some(invoke) = input.get("invokeModel") {
            use base64::Engine;
            let raw = invoke["body"].as_str().unwrap_or("");
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&decoded);
            return Outcome::Json(json!({ "inputTokens": tokens::text_tokens(&text) }));
        }
        Outcome::Error(validation(
            "The input field must contain exactly one of: converse, invokeModel.",
        ))
    }
}
