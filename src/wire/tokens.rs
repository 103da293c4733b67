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
    /// `cacheDetails`: the cache writes by lifetime, when the service broke them down.
    pub cache_details: Option<CacheDetails>,
}

/// `usage.cacheDetails`: tokens written to the cache with each lifetime (`"5m"`, `"1h"`),
/// as the service listed them (an entry it sent with zero is kept, and so is their order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheDetails {
    pub five_minutes: Option<i64>,
    pub one_hour: Option<i64>,
    /// The service listed the one-hour entry first.
    pub hour_first: bool,
}

impl CacheDetails {
    fn from_sdk(details: &[t::CacheDetail]) -> Option<Self> {
        let mut d = CacheDetails::default();
        for detail in details {
            let n = i64::from(detail.input_tokens());
            match detail.ttl() {
                t::CacheTtl::OneHour => {
                    d.hour_first |= d.five_minutes.is_none();
                    d.one_hour = Some(d.one_hour.unwrap_or(0) + n);
                }
                // (a lifetime this build does not know is priced as the default, 5m)
                _ => d.five_minutes = Some(d.five_minutes.unwrap_or(0) + n),
            }
        }
        (!details.is_empty()).then_some(d)
    }

    /// The entries in the service's order: `("5m" | "1h", tokens)`.
    pub fn entries(&self) -> Vec<(&'static str, i64)> {
        let five = self.five_minutes.map(|n| ("5m", n));
        let hour = self.one_hour.map(|n| ("1h", n));
        let (first, second) = if self.hour_first {
            (hour, five)
        } else {
            (five, hour)
        };
        first.into_iter().chain(second).collect()
    }
}

fn add_details(a: Option<CacheDetails>, b: Option<CacheDetails>) -> Option<CacheDetails> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x),
        (Some(x), Some(y)) => Some(CacheDetails {
            five_minutes: add_opt(x.five_minutes, y.five_minutes),
            one_hour: add_opt(x.one_hour, y.one_hour),
            hour_first: x.hour_first,
        }),
    }
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
            cache_details: u.cache_details.as_deref().and_then(CacheDetails::from_sdk),
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
            cache_details: add_details(self.cache_details, o.cache_details),
        }
    }
}

/// `Usage(cache_details=...)`: boto3's list, `[{"ttl": "5m" | "1h", "inputTokens": n}]`.
pub fn cache_details_from_py(list: &pyo3::Bound<'_, pyo3::PyAny>) -> pyo3::PyResult<CacheDetails> {
    use super::pyobj::Obj;

    let mut d = CacheDetails::default();
    for (i, entry) in super::pyobj::as_list(list, "cache_details")?
        .iter()
        .enumerate()
    {
        let e = Obj::new(entry, format!("cache_details[{i}]"))?;
        e.only(&["ttl", "inputTokens"])?;
        let n = e.int("inputTokens")?.unwrap_or(0);
        match e.req_str("ttl")?.as_str() {
            "1h" => {
                d.hour_first |= d.five_minutes.is_none();
                d.one_hour = Some(d.one_hour.unwrap_or(0) + n);
            }
            "5m" => d.five_minutes = Some(d.five_minutes.unwrap_or(0) + n),
            other => {
                return Err(super::pyobj::value_error(
                    &e.at("ttl"),
                    format!("expected \"5m\" or \"1h\", got {other:?}"),
                ))
            }
        }
    }
    Ok(d)
}
