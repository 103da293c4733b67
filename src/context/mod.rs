//! Keeping a conversation inside the context window: the token estimate, the memory
//! policies and their Python classes, prompt-cache placement, summaries and the
//! conversation's metrics.

pub mod cache;
pub mod estimate;
pub mod metrics;
pub mod policy;
pub mod py;
pub mod summary;
