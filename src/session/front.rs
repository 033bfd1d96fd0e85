/*!
What a session needs of the front end that opened it, and nothing more: where approval questions
go and which editor holds the files. Everything else the session has to say is an event, which
the front end shows its own way (terminal, `--json`, ACP updates, SSE, the batch's progress).
*/

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::agent::Editor;
use crate::approval::Interaction;

/// The running prompt's stop: cancelling it ends the model stream and the loop (or, as the hard
/// stop, kills running commands). Replaced for every prompt.
pub type Stop = Arc<Mutex<CancellationToken>>;

pub trait Front: Send + Sync {
    /// How the session's approval questions are answered; `stop` ends a question left waiting
    /// when the prompt that asked it is cancelled.
    fn interaction(&self, session_id: &str, stop: Stop) -> Interaction;
    /// The editor whose buffers the tools read and write, when one does.
    fn editor(&self, session_id: &str) -> Option<Editor>;
}
