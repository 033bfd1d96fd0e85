/*!
The user's hooks at the loop's own points: Stop, when the model would end the turn (a hook may
send it back to work, a few times in a row at most), and PreCompact, before the conversation is
summarised. The tool calls' hooks run where calls run ([`super::dispatch`]).
*/

use crate::hooks::{CompactTrigger, Point, Verdict};
use crate::model::wire::Message;

use super::Agent;

/// How many times in a row Stop hooks may send the model back before the turn ends anyway.
pub const MAX_STOP_BLOCKS: u32 = 3;

impl Agent<'_> {
    /// Runs the Stop hooks as the model ends its turn; true when one blocked the end (and is
    /// still allowed to): the model was told why, and the loop goes on.
    pub(super) async fn held_by_stop_hook(
        &mut self,
        history: &mut Vec<Message>,
        stop_blocks: &mut u32,
    ) -> bool {
        let hooks = self.tools.hooks();
        let fired = hooks
            .fire(&Point::Stop {
                stop_hook_active: *stop_blocks > 0,
            })
            .await;
        for event in fired.events {
            self.events.emit(event);
        }
        match fired.verdict {
            Verdict::Block { reason } if *stop_blocks < MAX_STOP_BLOCKS => {
                *stop_blocks += 1;
                self.tell(
                    history,
                    format!("[from a Stop hook of the user] Do not stop yet: {reason}"),
                );
                true
            }
            Verdict::Block { .. } | Verdict::Approve | Verdict::Proceed { .. } => false,
        }
    }

    /// Runs the PreCompact hooks (they cannot stop the compaction).
    pub(super) async fn before_compacting(&mut self, trigger: CompactTrigger) {
        let hooks = self.tools.hooks();
        let fired = hooks.fire(&Point::PreCompact { trigger }).await;
        for event in fired.events {
            self.events.emit(event);
        }
    }
}
