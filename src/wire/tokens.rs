//! Token counts as the SDK reports them (`TokenUsage`), in one plain type that replies,
//! conversations and the boto3-shaped dicts share.

use aws_sdk_bedrockruntime::types as t;

/// Token counts of one turn or, summed, of a conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub output: i64,
    pub total: i64,
    /// Cache counts: None when the service sent none (boto3 then shows none).
    pub cache_read: Option<i64>,
    pub cache_write: Option<i64>,
}

fn add_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

impl Tokens {
    pub fn from_sdk(u: Option<&t::TokenUsage>) -> Self {
        u.map(|u| Self {
            input: u.input_tokens() as i64,
            output: u.output_tokens() as i64,
            total: u.total_tokens() as i64,
            cache_read: u.cache_read_input_tokens().map(i64::from),
            cache_write: u.cache_write_input_tokens().map(i64::from),
        })
        .unwrap_or_default()
    }
}

impl std::ops::Add for Tokens {
    type Output = Self;

    fn add(self, o: Self) -> Self {
        Self {
            input: self.input + o.input,
            output: self.output + o.output,
            total: self.total + o.total,
            cache_read: add_opt(self.cache_read, o.cache_read),
            cache_write: add_opt(self.cache_write, o.cache_write),
        }
    }
}
