/*!
Approval asked of a front end other than the terminal (an editor over ACP, a daemon's clients):
the question goes out as data, the answer may take minutes or never come (the prompt is
cancelled), and it maps onto the same decisions as the terminal's keys.
*/

use std::future::Future;
use std::pin::Pin;

/// A file an edit would change: its path in the workspace, and its text before and after
/// (None: the file does not exist on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What is to be approved, for the tool call `call_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Edit {
        call_id: String,
        summary: String,
        files: Vec<FileDiff>,
    },
    Command {
        call_id: String,
        command: String,
        outside_sandbox: bool,
    },
    ToolCall {
        call_id: String,
        tool: String,
        arguments: String,
    },
}

/// The answers a front end can give (ACP's permission options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    AllowOnce,
    /// Allow this and, for the session, what the terminal's `a` covers.
    AllowAlways,
    RejectOnce,
    /// Reject this and every later action of its kind in the session.
    RejectAlways,
    /// The prompt was cancelled while the question was open.
    Cancelled,
}

/// Something that can put a question to the session's front end.
pub trait Asker: Send + Sync {
    fn ask(&self, question: Question) -> Pin<Box<dyn Future<Output = Answer> + Send>>;
}
