/*!
Keeping a long session inside the model's context window.

History is append-only so that every request extends the previous one (GLM's prefix cache and
preserved thinking rely on it). When the next prompt would outgrow the budget, or the provider
says it did (GLM code 1261, finish_reason `model_context_window_exceeded`), the history is
compacted: the model writes a hand-off summary of the work so far, and the session continues from
the system prompt, the task and that summary, a new prefix that is append-only again. The summary
request carries the history with older tool results cut to a stub, so that it fits; if the request
fails, that trimmed history is what the session continues from.
*/

use crate::model::wire::Message;

/// Asks the model for the summary; the last message of the summary request.
pub const SUMMARY_REQUEST: &str = include_str!("../../prompts/compact.md");

/// Opens the message that stands for the compacted conversation.
const SUMMARY_HEADER: &str =
    "[from the agent] The conversation so far was compacted to save context. Your summary of it:";
/// Closes it.
const SUMMARY_FOOTER: &str = "Continue the task from here. Read files again before you edit them.";

/// Tool results kept whole at the end of a trimmed history: the model's most recent evidence.
const RECENT_TOOL_RESULTS: usize = 4;
/// Older tool results longer than this many bytes are cut to a stub.
const STUB_OVER: usize = 240;

/// Roughly how many tokens `bytes` of text take. Code and English run at 3–4 bytes a token;
/// counting 3 errs on the side of compacting early.
pub fn estimated_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(3)
}

/// The bytes of text a message sends.
fn message_bytes(message: &Message) -> usize {
    match message {
        Message::System { content } | Message::User { content } => content.len(),
        Message::Tool { content, .. } => content.len(),
        Message::Assistant {
            content,
            reasoning_content,
            tool_calls,
        } => {
            content.len()
                + reasoning_content.as_ref().map_or(0, String::len)
                + tool_calls
                    .iter()
                    .map(|call| call.function.name.len() + call.function.arguments.len())
                    .sum::<usize>()
        }
    }
}

/// Tracks how large the next prompt will be: the last request's reported size plus an estimate
/// for what was appended since.
#[derive(Debug, Default)]
pub struct ContextTracker {
    /// Tokens the last request used (prompt and answer), and the history's length right after
    /// that answer was appended. None before the first report, and after compaction.
    reported: Option<(u64, usize)>,
}

impl ContextTracker {
    /// Notes a turn's reported usage; `history_len` counts the turn's message, already appended.
    pub fn observe(&mut self, prompt_and_answer_tokens: u64, history_len: usize) {
        self.reported = Some((prompt_and_answer_tokens, history_len));
    }

    /// Forgets what was reported: the history was replaced.
    pub fn reset(&mut self) {
        self.reported = None;
    }

    /// The estimated size in tokens of a prompt made of `history`.
    pub fn next_prompt(&self, history: &[Message]) -> u64 {
        let (known, from) = self.reported.unwrap_or((0, 0));
        let appended: usize = history.iter().skip(from).map(message_bytes).sum();
        known + estimated_tokens(appended)
    }
}

/// `history` with every tool result but the last few cut to a stub, and the reasoning of those
/// older turns left out: the same conversation, much smaller, with every tool call still answered.
pub fn trimmed(history: &[Message]) -> Vec<Message> {
    let tools_seen = history
        .iter()
        .filter(|message| matches!(message, Message::Tool { .. }))
        .count();
    let mut tools_to_trim = tools_seen.saturating_sub(RECENT_TOOL_RESULTS);
    history
        .iter()
        .map(|message| match message {
            Message::Tool {
                tool_call_id,
                content,
            } if tools_to_trim > 0 => {
                tools_to_trim -= 1;
                Message::Tool {
                    tool_call_id: tool_call_id.clone(),
                    content: stub(content),
                }
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } if tools_to_trim > 0 => Message::Assistant {
                content: content.clone(),
                reasoning_content: None,
                tool_calls: tool_calls.clone(),
            },
            other => other.clone(),
        })
        .collect()
}

fn stub(content: &str) -> String {
    if content.len() <= STUB_OVER {
        return content.to_string();
    }
    let mut cut = STUB_OVER / 2;
    while !content.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}… [{} more bytes left out to save context]",
        &content[..cut],
        content.len() - cut
    )
}

/// Whether compacting `history` can make it smaller: not when it holds only the system prompt,
/// the task and at most one more message (a summary, after compaction).
pub fn worth_compacting(history: &[Message]) -> bool {
    history.len() > 3
}

/// The messages that ask for the summary.
pub fn summary_request(history: &[Message]) -> Vec<Message> {
    let mut messages = trimmed(history);
    messages.push(Message::User {
        content: SUMMARY_REQUEST.to_string(),
    });
    messages
}

/// The history the session continues from: the system prompt and the task, then the summary.
pub fn compacted(history: &[Message], summary: &str) -> Vec<Message> {
    let mut messages: Vec<Message> = history.iter().take(2).cloned().collect();
    messages.push(Message::User {
        content: format!("{SUMMARY_HEADER}\n\n{}\n\n{SUMMARY_FOOTER}", summary.trim()),
    });
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::wire::{FunctionCall, ToolCallMessage};

    fn call(id: &str) -> Message {
        Message::Assistant {
            content: String::new(),
            reasoning_content: Some("thinking".into()),
            tool_calls: vec![ToolCallMessage {
                id: id.into(),
                kind: "function".into(),
                function: FunctionCall {
                    name: "read_file".into(),
                    arguments: "{}".into(),
                },
            }],
        }
    }

    fn result(id: &str, content: &str) -> Message {
        Message::Tool {
            tool_call_id: id.into(),
            content: content.into(),
        }
    }

    fn session(results: usize) -> Vec<Message> {
        let mut history = vec![
            Message::System {
                content: "system".into(),
            },
            Message::User {
                content: "task".into(),
            },
        ];
        for index in 0..results {
            let id = format!("c{index}");
            history.push(call(&id));
            history.push(result(&id, &"x".repeat(1000)));
        }
        history
    }

    #[test]
    fn trimming_stubs_old_results_and_keeps_every_call_answered() {
        let history = session(6);
        let trimmed = trimmed(&history);
        assert_eq!(trimmed.len(), history.len());
        let stubbed = format!(
            "{}… [880 more bytes left out to save context]",
            "x".repeat(120)
        );
        assert_eq!(trimmed[3], result("c0", &stubbed));
        assert_eq!(trimmed[5], result("c1", &stubbed));
        assert_eq!(
            trimmed[7], history[7],
            "the 4 most recent results stay whole"
        );
        assert_eq!(trimmed[13], history[13]);
        let Message::Assistant {
            reasoning_content, ..
        } = &trimmed[2]
        else {
            panic!("not an assistant message: {:?}", trimmed[2]);
        };
        assert_eq!(reasoning_content, &None);
        assert_eq!(trimmed[12], history[12], "recent reasoning is kept");
    }

    #[test]
    fn the_estimate_adds_what_was_appended_since_the_last_report() {
        let history = session(2);
        let mut tracker = ContextTracker::default();
        let everything: usize = history.iter().map(message_bytes).sum();
        assert_eq!(tracker.next_prompt(&history), estimated_tokens(everything));
        tracker.observe(5000, 5);
        assert_eq!(tracker.next_prompt(&history), 5000 + estimated_tokens(1000));
        tracker.reset();
        assert_eq!(tracker.next_prompt(&history), estimated_tokens(everything));
    }

    #[test]
    fn a_compacted_history_is_the_prompt_the_task_and_the_summary() {
        assert!(worth_compacting(&session(1)));
        let compacted = compacted(&session(3), "  did things  ");
        assert!(!worth_compacting(&compacted), "nothing left to compact");
        assert_eq!(
            compacted,
            vec![
                Message::System {
                    content: "system".into()
                },
                Message::User {
                    content: "task".into()
                },
                Message::User {
                    content: format!("{SUMMARY_HEADER}\n\ndid things\n\n{SUMMARY_FOOTER}")
                },
            ]
        );
    }
}
