//! The turn: one sans-IO state machine (`machine`), the requests it asks for (`io`), and
//! its Python face (`py`, `stream`), which the one driver in `fastconverse._driver` runs.

pub mod commit;
pub mod exchanged;
pub mod io;
pub mod machine;
pub mod memory;
pub mod outcome;
pub mod py;
pub mod request;
pub mod setup;
pub mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::errors::ErrorInfo;
use crate::wire::pyobj::py_repr;

/// Marks a conversation busy for the length of one turn; dropping it ends the turn. The
/// busy flag holds the turn's number, so that a late release of an ended turn cannot free
/// the conversation from under the next one.
pub struct TurnGuard {
    busy: Arc<AtomicU64>,
    turn: u64,
}

static TURNS: AtomicU64 = AtomicU64::new(0);

impl TurnGuard {
    pub fn acquire(busy: &Arc<AtomicU64>, id: &str) -> Result<Self, Box<ErrorInfo>> {
        let turn = TURNS.fetch_add(1, Ordering::Relaxed) + 1;
        busy.compare_exchange(0, turn, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Self {
                busy: busy.clone(),
                turn,
            })
            .map_err(|_| {
                Box::new(ErrorInfo::new(
                    "ConversationBusyError",
                    format!(
                        "conversation {} is already in a turn; turns of one conversation cannot overlap",
                        py_repr(id)
                    ),
                ))
            })
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let _ = self
            .busy
            .compare_exchange(self.turn, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}
