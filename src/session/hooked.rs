/*!
The user's hooks at a prompt: SessionStart at the first prompt a session object takes (a new
session, or one resumed), then UserPromptSubmit before each message goes to the model. What they
print goes to the model as context beside the message; a UserPromptSubmit hook may keep the
message from being sent.
*/

use anyhow::{Result, bail};

use super::Session;
use crate::hooks::{Point, StartSource, Verdict};
use crate::protocol::event::{Event, EventSink};

/// Whether this session object has run its SessionStart hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartHooks {
    Pending,
    Fired,
}

/// What the hooks of a prompt add: context for the model, and their events.
pub struct Added {
    pub context: String,
    pub events: Vec<Event>,
}

impl Session {
    /// Runs the prompt's hooks for `text`; a blocked message is an error that says why (the
    /// hooks' events then go to `front_end` alone: the message never became part of the
    /// session).
    pub(super) async fn prompt_hooks(
        &mut self,
        text: &str,
        front_end: &mut dyn EventSink,
    ) -> Result<Added> {
        let mut events = Vec::new();
        if self.start_hooks == StartHooks::Pending {
            self.start_hooks = StartHooks::Fired;
            let source = match self.conversation {
                Some(_) => StartSource::Resume,
                None => StartSource::Startup,
            };
            let fired = self.hooks.fire(&Point::SessionStart { source }).await;
            events.extend(fired.events);
            // SessionStart cannot block; what it prints waits for the first message sent.
            match fired.verdict {
                Verdict::Proceed { context } => {
                    self.start_context = headed("SessionStart", &context)
                }
                Verdict::Block { .. } | Verdict::Approve => {}
            }
        }
        let fired = self
            .hooks
            .fire(&Point::UserPromptSubmit { prompt: text })
            .await;
        events.extend(fired.events);
        let added = match fired.verdict {
            Verdict::Block { reason } => {
                for event in &events {
                    front_end.emit(event);
                }
                bail!("a UserPromptSubmit hook blocked this message, so it was not sent: {reason}");
            }
            Verdict::Proceed { context } => headed("UserPromptSubmit", &context),
            Verdict::Approve => String::new(),
        };
        let context = [std::mem::take(&mut self.start_context), added]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        Ok(Added { context, events })
    }
}

/// What a hook printed, under a heading that says where it comes from.
fn headed(hook: &str, printed: &str) -> String {
    match printed.trim() {
        "" => String::new(),
        printed => format!("# From the user's {hook} hook\n\n{printed}"),
    }
}
