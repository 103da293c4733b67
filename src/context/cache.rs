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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cache {
    pub system: bool,
    pub tools: bool,
    pub history: bool,
}

impl Cache {
    pub fn any(&self) -> bool {
        self.system || self.tools || self.history
    }

    /// `cache=`: "system", "tools", "history", several joined by "+" or given as a list,
    /// "all", or None.
    pub fn from_py(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut cache = Self::default();
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(cache);
        };
        let names: Vec<String> = if let Ok(s) = obj.cast::<PyString>() {
            s.to_cow()?
                .split('+')
                .map(|p| p.trim().to_owned())
                .collect()
        } else {
            as_list(obj, "cache")?
                .iter()
                .map(|item| {
                    item.extract::<String>().map_err(|_| {
                        value_error(
                            "cache",
                            "expected \"system\", \"tools\" or \"history\" items",
                        )
                    })
                })
                .collect::<PyResult<_>>()?
        };
        for name in names {
            match name.as_str() {
                "system" => cache.system = true,
                "tools" => cache.tools = true,
                "history" => cache.history = true,
                "all" => {
                    cache = Self {
                        system: true,
                        tools: true,
                        history: true,
                    }
                }
                other => {
                    return Err(value_error(
                        "cache",
                        format!(
                            "expected \"system\", \"tools\", \"history\" (or several joined by \"+\", or \"all\"), got {other:?}"
                        ),
                    ))
                }
            }
        }
        Ok(cache)
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.system {
            names.push("system");
        }
        if self.tools {
            names.push("tools");
        }
        if self.history {
            names.push("history");
        }
        names
    }
}

pub fn point() -> t::CachePointBlock {
    t::CachePointBlock::builder()
        .r#type(t::CachePointType::Default)
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
pub fn mark_history(messages: &mut [t::Message], mut left: usize) {
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
                .push(t::ContentBlock::CachePoint(point()));
            left -= 1;
        }
    }
}
