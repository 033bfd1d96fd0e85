/*!
A conversation to run: its messages so far, and how the user's messages carry their context (the
workspace's, what hooks add) under a heading of its own, so the system prompt stays the same bytes
in every workspace and the user's words can be read back without it.
*/

use crate::model::wire::Message;

/// A conversation to run: its history so far, and how many model turns it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub history: Vec<Message>,
    pub turns: u32,
}

/// How a user message that has a context begins, and where its context ends: markdown
/// headings, as the model reads the rest (a small model echoed a tagged block back whole).
const CONTEXT_START: &str = "# Context\n\n";
const CONTEXT_END: &str = "\n\n# Task\n\n";

/// A user message as the model gets it: `context` (the workspace's, what hooks added) under its
/// heading, then the user's `text` under its own.
pub fn user_message(context: &str, text: &str) -> String {
    match context.trim_end() {
        "" => text.to_string(),
        context => format!("{CONTEXT_START}{context}{CONTEXT_END}{text}"),
    }
}

impl Conversation {
    /// A new conversation: the system prompt, then the task opened by its context (none for a
    /// transcript written before the context left the system prompt).
    pub fn new(system_prompt: String, context: &str, task: &str) -> Self {
        Self {
            history: vec![
                Message::System {
                    content: system_prompt,
                },
                Message::User {
                    content: user_message(context, task),
                },
            ],
            turns: 0,
        }
    }

    /// The system prompt it was started with.
    pub fn system_prompt(&self) -> Option<&str> {
        match self.history.first() {
            Some(Message::System { content }) => Some(content),
            _ => None,
        }
    }
}

/// A user message as the user wrote it: without the context it may open with (the context may
/// quote files, so the user's text is what follows the last heading).
pub fn without_context(message: &str) -> &str {
    match message.strip_prefix(CONTEXT_START) {
        Some(rest) => rest
            .rsplit_once(CONTEXT_END)
            .map_or(message, |(_, text)| text),
        None => message,
    }
}
