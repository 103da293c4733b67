//! The ids FakeBedrock gives the tool uses it makes (its default model's, a scripted turn's
//! without one, a system tool's).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static TOOL_USE_IDS: AtomicU64 = AtomicU64::new(0);

/// A tool-use id in the service's style (`tooluse_` and 22 letters and digits).
pub fn new_tool_use_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let n = TOOL_USE_IDS.fetch_add(1, Ordering::Relaxed);
    let mut id = String::from("tooluse_");
    let mut h = DefaultHasher::new();
    n.hash(&mut h);
    let mut x = h.finish();
    for i in 0..22 {
        if i == 11 {
            let mut h = DefaultHasher::new();
            (n, x).hash(&mut h);
            x = h.finish();
        }
        id.push(ALPHABET[(x % 62) as usize] as char);
        x /= 62;
    }
    id
}
