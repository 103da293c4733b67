//! The request a turn makes next (`Machine::parts`): its history, the turn's messages and
//! context, the tool choice for this round, and where cache points go.

use aws_sdk_bedrockruntime::types as t;

use super::{Machine, RequestParts};
use crate::context::{cache, summary};

impl Machine {
    pub(super) fn parts(&self) -> RequestParts {
        // Note: a choice that forces a tool call ("any" or a tool) applies to the turn's
        // first request only; forced on every request, the model could never answer.
        let choice = match (&self.setup.output_tool, &self.choice) {
            // (a structured output is asked for on every request until it comes)
            (Some(name), _) => Some(t::ToolChoice::Tool(
                t::SpecificToolChoice::builder()
                    .name(name)
                    .build()
                    .expect("name is set"),
            )),
            (None, Some(t::ToolChoice::Auto(_))) => self.choice.clone(),
            (None, Some(_)) if self.rounds == 0 => self.choice.clone(),
            _ => None,
        };
        let tool_config = self.setup.tools.as_ref().map(|tools| {
            t::ToolConfiguration::builder()
                .set_tools(Some(tools.clone()))
                .set_tool_choice(choice)
                .build()
                .expect("tools are set")
        });
        let cache = &self.setup.cache;
        let mut system = self.setup.system.clone();
        let mut tool_config = tool_config;
        let mut cache_history = 0;
        if cache.any() {
            // Bedrock takes four points a request; the user's own come first.
            let kept = &self.base.messages[self.base.start..];
            let tools = tool_config.as_ref().map(|c| c.tools());
            let mut left = cache::MAX_POINTS.saturating_sub(
                cache::count(&system, tools, kept) + cache::count(&[], None, &self.added),
            );
            let ends_with_point =
                matches!(system.last(), Some(t::SystemContentBlock::CachePoint(_)));
            if let Some(ttl) = cache.system {
                if !system.is_empty() && !ends_with_point && left > 0 {
                    system.push(t::SystemContentBlock::CachePoint(cache::point(ttl)));
                    left -= 1;
                }
            }
            if let (Some(ttl), Some(config)) = (cache.tools, tool_config.as_mut()) {
                if left > 0 {
                    config.tools.push(t::Tool::CachePoint(cache::point(ttl)));
                    left -= 1;
                }
            }
            if cache.history.is_some() {
                cache_history = left.min(2);
            }
        }
        if let Some(text) = &self.base.summary {
            system.push(summary::system_block(text));
        }
        RequestParts {
            model_id: self.model_id.clone(),
            history: self.base.messages.clone(),
            from: self.base.start,
            added: crate::turn::request::with_context(&self.added, &self.context),
            system,
            inference: self.setup.inference.clone(),
            tool_config,
            fields: self.setup.fields.clone(),
            cache_history,
            history_ttl: cache.history.unwrap_or_default(),
            guardrail: self.setup.guardrail.clone(),
            response_paths: self.setup.response_paths.clone(),
            serving: self.setup.serving.clone(),
            output: self.setup.output_format.clone(),
        }
    }
}
