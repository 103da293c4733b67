//! Prompt caching: `cachePoint` blocks where they pay off. After the system prompt and after
//! the tools (both fixed for a conversation), and in the history at the end of this request
//! (written now, read by the next request) and at the end of the previous request's last
//! message (read now). Bedrock allows four per request; points the user placed count too.

use aws_sdk_bedrockruntime::types as t;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::wire::pyobj::{as_list, value_error};

/// The most cache points one request may carry.
pub const MAX_POINTS: usize = 4;

/// A cache point's lifetime: Bedrock's default (five minutes) or one of its `ttl`s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ttl {
    #[default]
    Default,
    FiveMinutes,
    OneHour,
}

impl Ttl {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "5m" => Some(Ttl::FiveMinutes),
            "1h" => Some(Ttl::OneHour),
            _ => None,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Ttl::Default => "",
            Ttl::FiveMinutes => ":5m",
            Ttl::OneHour => ":1h",
        }
    }

    /// How long the cache keeps it (the default is five minutes).
    fn minutes(self) -> u32 {
        if self == Ttl::OneHour {
            60
        } else {
            5
        }
    }
}

/// Where the conversation's cache points go, each with its lifetime (None: no point there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cache {
    pub system: Option<Ttl>,
    pub tools: Option<Ttl>,
    pub history: Option<Ttl>,
}

const EXPECTED: &str = "expected \"system\", \"tools\", \"history\" or \"all\", each with an optional lifetime (\"system:1h\"), several joined by \"+\" or in a list, or a dict of place to lifetime";

impl Cache {
    pub fn any(&self) -> bool {
        self.system.is_some() || self.tools.is_some() || self.history.is_some()
    }

    fn set(&mut self, place: &str, ttl: Ttl) -> PyResult<()> {
        match place {
            "system" => self.system = Some(ttl),
            "tools" => self.tools = Some(ttl),
            "history" => self.history = Some(ttl),
            "all" => {
                *self = Self {
                    system: Some(ttl),
                    tools: Some(ttl),
                    history: Some(ttl),
                }
            }
            other => return Err(value_error("cache", format!("{EXPECTED}; got {other:?}"))),
        }
        Ok(())
    }

    /// `cache=`: "system", "tools", "history" or "all", each optionally with a lifetime
    /// ("system:1h"), several joined by "+" or given as a list; or a dict of place to
    /// lifetime (`{"system": "1h", "history": None}`); or None.
    pub fn from_py(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut cache = Self::default();
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(cache);
        };
        let ttl_of = |text: Option<&str>, at: &str| -> PyResult<Ttl> {
            match text {
                None => Ok(Ttl::Default),
                Some(t) => Ttl::parse(t).ok_or_else(|| {
                    value_error(
                        at,
                        format!("expected a lifetime \"5m\" or \"1h\", got {t:?}"),
                    )
                }),
            }
        };
        if let Ok(dict) = obj.cast::<pyo3::types::PyDict>() {
            for (place, ttl) in dict.iter() {
                let place: String = place
                    .extract()
                    .map_err(|_| value_error("cache", EXPECTED))?;
                let ttl: Option<String> = ttl.extract().map_err(|_| {
                    value_error(
                        &format!("cache[{place:?}]"),
                        "expected \"5m\", \"1h\" or None",
                    )
                })?;
                let ttl = ttl_of(ttl.as_deref(), &format!("cache[{place:?}]"))?;
                cache.set(&place, ttl)?;
            }
            return cache.checked();
        }
        let names: Vec<String> = if let Ok(s) = obj.cast::<PyString>() {
            s.to_cow()?
                .split('+')
                .map(|p| p.trim().to_owned())
                .collect()
        } else {
            as_list(obj, "cache")?
                .iter()
                .map(|item| {
                    item.extract::<String>()
                        .map_err(|_| value_error("cache", EXPECTED))
                })
                .collect::<PyResult<_>>()?
        };
        for name in names {
            let (place, ttl) = match name.split_once(':') {
                Some((place, ttl)) => (place.trim(), Some(ttl.trim())),
                None => (name.as_str(), None),
            };
            cache.set(place, ttl_of(ttl, "cache")?)?;
        }
        cache.checked()
    }

    /// Bedrock caches a prompt in the order tools, system, messages, and a longer-lived
    /// point may not follow a shorter-lived one (Anthropic's rule for `ttl`).
    fn checked(self) -> PyResult<Self> {
        let places = [
            ("tools", self.tools),
            ("system", self.system),
            ("history", self.history),
        ];
        let mut shortest: Option<(&str, Ttl)> = None;
        for (place, ttl) in places {
            let Some(ttl) = ttl else { continue };
            if let Some((before, was)) = shortest {
                if ttl.minutes() > was.minutes() {
                    // Note: ours: the rule is Anthropic's; the text is not the service's.
                    return Err(value_error(
                        "cache",
                        format!(
                            "a {}-minute point at {place} may not follow a {}-minute one at {before}: the prompt is cached in the order tools, system, history, longer lifetimes first",
                            ttl.minutes(),
                            was.minutes()
                        ),
                    ));
                }
            }
            shortest = Some((place, ttl));
        }
        Ok(self)
    }

    pub fn names(&self) -> Vec<String> {
        [
            ("system", self.system),
            ("tools", self.tools),
            ("history", self.history),
        ]
        .into_iter()
        .filter_map(|(place, ttl)| ttl.map(|t| format!("{place}{}", t.suffix())))
        .collect()
    }
}

/// A cache point with this lifetime (`Default`: no `ttl`, as before lifetimes existed).
pub fn point(ttl: Ttl) -> t::CachePointBlock {
    t::CachePointBlock::builder()
        .r#type(t::CachePointType::Default)
        .set_ttl(match ttl {
            Ttl::Default => None,
            Ttl::FiveMinutes => Some(t::CacheTtl::FiveMinutes),
            Ttl::OneHour => Some(t::CacheTtl::OneHour),
        })
        .build()
        .expect("the type is set")
}

fn in_system(blocks: &[t::SystemContentBlock]) -> usize {
    blocks
        .iter()
        .filter(|b| matches!(b, t::SystemContentBlock::CachePoint(_)))
        .count()
}

fn in_messages(messages: &[t::Message]) -> usize {
    messages
        .iter()
        .flat_map(|m| m.content())
        .filter(|b| matches!(b, t::ContentBlock::CachePoint(_)))
        .count()
}

fn ends_with_point(message: &t::Message) -> bool {
    matches!(
        message.content().last(),
        Some(t::ContentBlock::CachePoint(_))
    )
}

/// Counts the points a request already has (the user's own).
pub fn count(
    system: &[t::SystemContentBlock],
    tools: Option<&[t::Tool]>,
    messages: &[t::Message],
) -> usize {
    in_system(system)
        + tools.map_or(0, |tools| {
            tools
                .iter()
                .filter(|t| matches!(t, t::Tool::CachePoint(_)))
                .count()
        })
        + in_messages(messages)
}

/// Bedrock refuses a request with more than four points: points a user put in earlier
/// messages (they stay in the history) are left out of the request, oldest first.
pub fn keep_within_limit(
    system: &[t::SystemContentBlock],
    tools: Option<&[t::Tool]>,
    messages: &mut [t::Message],
) {
    let total = count(system, tools, messages);
    let mut extra = total.saturating_sub(MAX_POINTS);
    for message in messages.iter_mut() {
        if extra == 0 {
            return;
        }
        let is_point = |b: &t::ContentBlock| matches!(b, t::ContentBlock::CachePoint(_));
        if message.content.iter().all(is_point) {
            continue; // (a message of points only is the user's to fix; Bedrock says so)
        }
        let before = message.content.len();
        let mut dropped = 0;
        message.content.retain(|b| {
            let drop = dropped < extra && matches!(b, t::ContentBlock::CachePoint(_));
            dropped += usize::from(drop);
            !drop
        });
        extra -= before - message.content.len();
    }
}

/// Adds up to `left` points to a request's messages: the end of the last message, then
/// the end of the last user message before it.
pub fn mark_history(messages: &mut [t::Message], mut left: usize, ttl: Ttl) {
    let Some(last) = messages.len().checked_sub(1) else {
        return;
    };
    let previous = messages[..last]
        .iter()
        .rposition(|m| m.role() == &t::ConversationRole::User);
    for at in std::iter::once(last).chain(previous) {
        if left == 0 {
            return;
        }
        if !ends_with_point(&messages[at]) {
            messages[at]
                .content
                .push(t::ContentBlock::CachePoint(point(ttl)));
            left -= 1;
        }
    }
}
