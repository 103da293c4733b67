//! Answers that continue an assistant prefix, as a client that resumes a cut stream asks:
//! the request ends with the answer so far (an assistant prefill), or with it and a user
//! message asking to continue (for models without prefill). FakeBedrock then answers the
//! rest: of a scripted turn it cut with a fault (remembered when it was sent), else of its
//! default model's answer. Anthropic's models refuse a prefill that ends in whitespace; so
//! does FakeBedrock, for their ids.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::Value;

use super::script::{Block, Turn};

/// Scripted turns a fault cut, remembered this many at most (the oldest go first).
const REMEMBERED: usize = 64;

/// What Bedrock answers, for Anthropic's models, to a prefill that ends in whitespace.
pub const TRAILING_WHITESPACE: &str = "final assistant content cannot end with trailing whitespace";

/// Anthropic's models refuse a final assistant message whose last text ends in whitespace.
pub fn check_prefill(model_id: &str, body: &Value) -> Result<(), String> {
    if !model_id.to_ascii_lowercase().contains("anthropic.") {
        return Ok(());
    }
    let last = body["messages"].as_array().and_then(|m| m.last());
    let Some(last) = last.filter(|m| m["role"] == "assistant") else {
        return Ok(());
    };
    let text = last["content"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|b| b["text"].as_str());
    match text {
        Some(text) if text.ends_with(char::is_whitespace) => Err(TRAILING_WHITESPACE.into()),
        _ => Ok(()),
    }
}

/// The answer so far that a request asks to continue, and the request without it: a final
/// assistant message, or an assistant message followed by a user text asking to continue.
pub fn prefix(body: &Value) -> Option<(&[Value], Value)> {
    let messages = body["messages"].as_array()?;
    let n = messages.len();
    let last = messages.last()?;
    let at = if last["role"] == "assistant" {
        n - 1
    } else {
        let content = last["content"].as_array()?;
        let asks = content.len() == 1
            && content[0]["text"]
                .as_str()
                .is_some_and(|t| t.to_ascii_lowercase().contains("continue"));
        if !asks || n < 2 || messages[n - 2]["role"] != "assistant" {
            return None;
        }
        n - 2
    };
    let mut base = body.clone();
    base["messages"] = Value::Array(messages[..at].to_vec());
    Some((messages[at]["content"].as_array()?.as_slice(), base))
}

/// The blocks of `script` after `prefix` (its last text may end where the script's text
/// goes on, its trailing whitespace left out); None when `prefix` is not how it begins.
pub fn rest(script: &[Block], prefix: &[Value]) -> Option<Vec<Block>> {
    if prefix.len() > script.len() {
        return None;
    }
    for (i, (said, block)) in prefix.iter().zip(script).enumerate() {
        match (said["text"].as_str(), block) {
            (Some(said), Block::Text(text)) if i + 1 == prefix.len() => {
                let rest = text.strip_prefix(said)?;
                let mut blocks = vec![Block::Text(rest.to_owned())];
                blocks.extend_from_slice(&script[i + 1..]);
                return Some(blocks);
            }
            _ if *said != block.to_json() => return None,
            _ => {}
        }
    }
    Some(script[prefix.len()..].to_vec())
}

/// Scripted turns that a fault cut, by model id.
#[derive(Default)]
pub struct Cuts(Mutex<VecDeque<(String, Turn)>>);

impl Cuts {
    /// Remembers `turn` when it is scripted to be cut, without its fault.
    pub fn remember(&self, model_id: &str, turn: &Turn) {
        if turn.stream_error.is_none() && turn.disconnect_after_events.is_none() {
            return;
        }
        let mut whole = turn.clone();
        whole.stream_error = None;
        whole.disconnect_after_events = None;
        whole.first_byte_delay = std::time::Duration::ZERO;
        let mut cuts = self.0.lock().unwrap();
        cuts.push_back((model_id.to_owned(), whole));
        while cuts.len() > REMEMBERED {
            cuts.pop_front();
        }
    }

    /// The rest of a remembered cut turn that `prefix` begins, for `model_id`: which one
    /// (for `forget`), and the turn that answers it.
    pub fn continuation(&self, model_id: &str, prefix: &[Value]) -> Option<(usize, Turn)> {
        let cuts = self.0.lock().unwrap();
        cuts.iter()
            .enumerate()
            .rev()
            .filter(|(_, (model, _))| model == model_id)
            .find_map(|(i, (_, turn))| {
                let blocks = rest(&turn.blocks, prefix)?;
                let stop_reason = Some(turn.stop_reason().to_owned());
                Some((
                    i,
                    Turn {
                        blocks,
                        stop_reason,
                        ..turn.clone()
                    },
                ))
            })
    }

    /// Forgets remembered turn `i` (it was continued).
    pub fn forget(&self, i: usize) {
        self.0.lock().unwrap().remove(i);
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The default model's answer to a request that may end with an answer to continue: the
/// rest of its answer to the request without it (or that whole answer, when the prefix is
/// not how it begins).
pub fn default_turn(body: &Value) -> Turn {
    let Some((said, base)) = prefix(body) else {
        return super::model::default_turn(body);
    };
    let mut turn = super::model::default_turn(&base);
    if let Some(blocks) = rest(&turn.blocks, said) {
        turn.stop_reason = Some(turn.stop_reason().to_owned());
        turn.blocks = blocks;
    }
    turn
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rest_of_a_script_after_its_prefix() {
        let script = vec![
            Block::Text("Hello there ".into()),
            Block::ToolUse {
                id: "t".into(),
                name: "n".into(),
                input: json!({"a": 1}),
            },
        ];
        let rest_of = |prefix: Value| rest(&script, prefix.as_array().unwrap());
        assert_eq!(
            rest_of(json!([{"text": "Hello th"}])),
            Some(vec![Block::Text("ere ".into()), script[1].clone()])
        );
        assert_eq!(
            rest_of(json!([{"text": "Hello there"}])),
            Some(vec![Block::Text(" ".into()), script[1].clone()])
        );
        assert_eq!(rest_of(json!([{"text": "Goodbye"}])), None);
        let whole = json!([{"text": "Hello there "}, script[1].to_json()]);
        assert_eq!(rest_of(whole), Some(vec![]));
    }

    #[test]
    fn anthropic_refuses_a_prefill_ending_in_whitespace() {
        let body = |text: &str| {
            json!({"messages": [
                {"role": "user", "content": [{"text": "hi"}]},
                {"role": "assistant", "content": [{"text": text}]},
            ]})
        };
        let claude = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
        assert_eq!(
            check_prefill(claude, &body("So ")),
            Err(TRAILING_WHITESPACE.into())
        );
        assert_eq!(check_prefill(claude, &body("So")), Ok(()));
        assert_eq!(check_prefill("meta.llama3", &body("So ")), Ok(()));
    }

    #[test]
    fn the_default_model_continues_its_own_answer() {
        let body = json!({"messages": [
            {"role": "user", "content": [{"text": "one two"}]},
            {"role": "assistant", "content": [{"text": "You said: on"}]},
        ]});
        assert_eq!(
            default_turn(&body).blocks,
            vec![Block::Text("e two".into())]
        );
        let asked = json!({"messages": [
            {"role": "user", "content": [{"text": "one two"}]},
            {"role": "assistant", "content": [{"text": "You said: one"}]},
            {"role": "user", "content": [{"text": "Please continue."}]},
        ]});
        assert_eq!(
            default_turn(&asked).blocks,
            vec![Block::Text(" two".into())]
        );
    }
}
