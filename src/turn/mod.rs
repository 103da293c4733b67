//! The turn: one sans-IO state machine (`machine`), the requests it asks for (`io`), and
//! its Python face (`py`, `stream`), which the one driver in `fastconverse._turn.driver` runs.

pub mod commit;
pub mod exchanged;
pub mod io;
pub mod machine;
pub mod memory;
pub mod outcome;
pub mod py;
pub mod request;
pub mod resume;
pub mod setup;
pub mod state;
pub mod step;
pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::errors::ErrorInfo;
use crate::wire::pyobj::py_repr;

/// Marks a conversation busy for the length of one turn; dropping it ends the turn. The
/// busy flag holds the turn's number, so that a late release of an ended turn cannot free
/// the conversation from under the next one, and the fork generation it began in: a turn
/// under way in the parent when it forked has no thread in the child, which takes the
/// conversation over (its history is as the parent left it: the turn never committed).
pub struct TurnGuard {
    busy: Arc<AtomicU64>,
    turn: u64,
}

static TURNS: AtomicU64 = AtomicU64::new(0);
const GENERATION_SHIFT: u32 = 40;

impl TurnGuard {
    /// Whether a turn of this process's generation holds the flag.
    pub fn is_busy(busy: &AtomicU64) -> bool {
        let held = busy.load(Ordering::Acquire);
        held != 0 && held >> GENERATION_SHIFT == crate::fork::forks()
    }

    pub fn acquire(busy: &Arc<AtomicU64>, id: &str) -> Result<Self, Box<ErrorInfo>> {
        let generation = crate::fork::forks();
        let number = (TURNS.fetch_add(1, Ordering::Relaxed) + 1) & ((1 << GENERATION_SHIFT) - 1);
        let turn = (generation << GENERATION_SHIFT) | number.max(1);
        let mut current = 0;
        loop {
            match busy.compare_exchange(current, turn, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return Ok(Self {
                        busy: busy.clone(),
                        turn,
                    })
                }
                // (a turn of an earlier generation: its thread stayed in the parent)
                Err(held) if held != 0 && held >> GENERATION_SHIFT != generation => {
                    current = held
                }
                Err(0) => current = 0,
                Err(_) => {
                    return Err(Box::new(ErrorInfo::new(
                        "ConversationBusyError",
                        format!(
                            "conversation {} is already in a turn; turns of one conversation cannot overlap",
                            py_repr(id)
                        ),
                    )))
                }
            }
        }
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let _ = self
            .busy
            .compare_exchange(self.turn, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}
