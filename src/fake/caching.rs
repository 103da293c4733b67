//! FakeBedrock's prompt cache: which prefixes of a request it has seen, so that a request's
//! usage splits its prompt into what the cache read, what it wrote (by the points'
//! lifetimes) and the rest, as Bedrock's usage does.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::script::Usage;
use super::tokens::prompt_items;

/// Usage of a request's prompt, splitting off what the prompt cache (`cache`: the prefixes
/// FakeBedrock has seen) reads or writes, the writes by their points' lifetimes.
pub fn prompt_usage(cache: &mut HashSet<u64>, model_id: &str, body: &Value) -> Usage {
    let mut hasher = DefaultHasher::new();
    model_id.hash(&mut hasher);
    let (mut total, mut read, mut cached) = (0, 0, false);
    // (where each cache point ends its prefix, and whether its lifetime is one hour)
    let mut points: Vec<(u64, bool)> = Vec::new();
    let mut lifetimes = false;
    for item in prompt_items(body) {
        // A cache point marks a prefix; it is not part of it (moving one keeps the cache).
        if !item.cache_point {
            item.value.to_string().hash(&mut hasher);
        }
        total += item.tokens;
        if item.cache_point {
            cached = true;
            if !cache.insert(hasher.finish()) {
                read = total;
            }
            let ttl = item.value["cachePoint"]["ttl"].as_str();
            lifetimes |= ttl.is_some();
            points.push((total, ttl == Some("1h")));
        }
    }
    let written_to = points.last().map_or(0, |p| p.0);
    // What each point writes: its part of the prompt after what the cache had.
    let (mut hour, mut from) = (0, read);
    for (at, one_hour) in points {
        if at > from {
            if one_hour {
                hour += at - from;
            }
            from = at;
        }
    }
    Usage {
        input: total - written_to,
        output: 0,
        // Note: cache counts appear once a request has a cache point, as on Bedrock.
        cache_read: cached.then_some(read),
        cache_write: cached.then_some(written_to - read),
        cache_write_1h: lifetimes.then_some(hour),
    }
}
