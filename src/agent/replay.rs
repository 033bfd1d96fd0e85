/*!
A session's conversation rebuilt from its transcript, to resume it.

The transcript holds every event; replaying the ones that change the history (the start, each
assistant turn and tool result, compaction, a resumption's follow-up) with the loop's own rules
gives back the messages exactly as they were sent, so a resumed session's first request extends
the last one and the provider's prefix cache still hits. Events this reader does not know are
skipped, so transcripts stay readable as events are added.
*/

use super::recorded::{Recorded, recorded};
use super::{CONTINUE_AFTER_LENGTH, Conversation, compact, user_message};
use crate::model::wire::{Message, ToolCallMessage};

/// What a resumed session must not run into.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error("line {line} of the transcript is not a JSON event: {message}")]
    BadLine { line: usize, message: String },
    #[error("the transcript does not start with a session_started event that has a system prompt")]
    NoStart,
}

/// The conversation a transcript records, with the calls of its last turn that never got a
/// result left open: running them continues the turn (see [`Conversation::open_calls`]).
pub fn replay_keeping_open_calls(transcript: &str) -> Result<Conversation, ReplayError> {
    let mut conversation: Option<Conversation> = None;
    for (index, recorded) in recorded(transcript) {
        let recorded = recorded.map_err(|error| ReplayError::BadLine {
            line: index + 1,
            message: error.to_string(),
        })?;
        match (recorded, conversation.as_mut()) {
            (
                Recorded::SessionStarted {
                    task,
                    system_prompt: Some(system_prompt),
                    context,
                    resumed: false,
                },
                _,
            ) => conversation = Some(Conversation::new(system_prompt, &context, &task)),
            (Recorded::SessionStarted { .. }, None) => return Err(ReplayError::NoStart),
            (Recorded::SessionStarted { task, context, .. }, Some(conversation)) => {
                answer_open_calls(&mut conversation.history);
                conversation.history.push(Message::User {
                    content: user_message(&context, &task),
                });
            }
            (Recorded::Other | Recorded::ToolCallStarted { .. } | Recorded::Plan { .. }, _) => {}
            (_, None) => return Err(ReplayError::NoStart),
            (
                Recorded::AssistantTurn {
                    reasoning,
                    content,
                    tool_calls,
                    finish_reason,
                },
                Some(conversation),
            ) => {
                let cut_off = tool_calls.is_empty() && finish_reason.as_deref() == Some("length");
                conversation.turns += 1;
                conversation.history.push(Message::Assistant {
                    content,
                    reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                    tool_calls,
                });
                if cut_off {
                    conversation.history.push(Message::User {
                        content: CONTINUE_AFTER_LENGTH.to_string(),
                    });
                }
            }
            (Recorded::ToolResult { id, content, .. }, Some(conversation)) => {
                // Results of calls written as text went back in a note instead.
                if last_turn_called(&conversation.history, &id) {
                    conversation.history.push(Message::Tool {
                        tool_call_id: id,
                        content,
                    });
                }
            }
            (Recorded::Note { content }, Some(conversation)) => {
                conversation.history.push(Message::User { content });
            }
            (Recorded::Compacted { summary }, Some(conversation)) => {
                conversation.history = match summary {
                    Some(summary) => compact::compacted(&conversation.history, &summary),
                    None => compact::trimmed(&conversation.history),
                };
            }
        }
    }
    conversation.ok_or(ReplayError::NoStart)
}

/// Whether the last assistant turn made the call `id` (as `tool_calls`).
fn last_turn_called(history: &[Message], id: &str) -> bool {
    history
        .iter()
        .rev()
        .find_map(|message| match message {
            Message::Assistant { tool_calls, .. } => {
                Some(tool_calls.iter().any(|call| call.id == id))
            }
            Message::System { .. } | Message::User { .. } | Message::Tool { .. } => None,
        })
        .unwrap_or(false)
}

/// Answers the calls of the last assistant turn that have no result (the session was killed
/// while they ran): every call must be answered before the conversation can go on.
fn answer_open_calls(history: &mut Vec<Message>) {
    let open: Vec<Message> = open_calls(history)
        .into_iter()
        .map(|call| Message::Tool {
            tool_call_id: call.id,
            content: "not run: the session ended before this call ran".to_string(),
        })
        .collect();
    history.extend(open);
}

/// The calls of the last assistant turn that have no result yet.
pub(super) fn open_calls(history: &[Message]) -> Vec<ToolCallMessage> {
    let Some(last_turn) = history
        .iter()
        .rposition(|message| matches!(message, Message::Assistant { .. }))
    else {
        return Vec::new();
    };
    let Message::Assistant { tool_calls, .. } = &history[last_turn] else {
        return Vec::new();
    };
    let answered: Vec<&str> = history[last_turn..]
        .iter()
        .filter_map(|message| match message {
            Message::Tool { tool_call_id, .. } => Some(tool_call_id.as_str()),
            Message::System { .. } | Message::User { .. } | Message::Assistant { .. } => None,
        })
        .collect();
    tool_calls
        .iter()
        .filter(|call| !answered.contains(&call.id.as_str()))
        .cloned()
        .collect()
}

impl Conversation {
    /// Calls of the last turn still waiting to run (only a transcript replayed with
    /// [`replay_keeping_open_calls`] has any): [`super::Agent::run`] runs them first.
    pub fn open_calls(&self) -> Vec<ToolCallMessage> {
        open_calls(&self.history)
    }

    /// Answers the open calls as not run, so that the conversation can take a new message.
    pub fn close_open_calls(&mut self) {
        answer_open_calls(&mut self.history);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conversation a transcript (JSON lines) records, ready to take a follow-up: calls of the
    /// last turn that never got a result are answered as not run.
    fn replay(transcript: &str) -> Result<Conversation, ReplayError> {
        let mut conversation = replay_keeping_open_calls(transcript)?;
        conversation.close_open_calls();
        Ok(conversation)
    }
    use serde_json::json;

    fn lines(events: &[serde_json::Value]) -> String {
        events.iter().map(|event| format!("{event}\n")).collect()
    }

    fn start() -> serde_json::Value {
        json!({"type": "session_started", "session_id": "s", "task": "task", "system_prompt": "system", "resumed": false})
    }

    fn call(id: &str) -> serde_json::Value {
        json!({"id": id, "type": "function", "function": {"name": "read_file", "arguments": "{}"}})
    }

    #[test]
    fn the_first_message_opens_with_the_recorded_context_and_reads_back_as_the_task() {
        let mut started = start();
        started["context"] = json!("The workspace is `/w`.\n");
        let conversation = replay(&lines(&[started])).unwrap();
        let first = "# Context\n\nThe workspace is `/w`.\n\n# Task\n\ntask";
        assert_eq!(
            conversation.history,
            vec![
                Message::System {
                    content: "system".into()
                },
                Message::User {
                    content: first.into()
                },
            ]
        );
        assert_eq!(crate::agent::without_context(first), "task");
        assert_eq!(crate::agent::without_context("task"), "task");
    }

    #[test]
    fn turns_results_and_follow_ups_come_back_in_order() {
        let transcript = lines(&[
            start(),
            json!({"type": "turn_started", "turn": 1}),
            json!({"type": "assistant_turn", "turn": 1, "reasoning": "hm", "content": "", "tool_calls": [call("a")], "finish_reason": "tool_calls"}),
            json!({"type": "tool_result", "id": "a", "name": "read_file", "status": "success", "content": "text"}),
            json!({"type": "assistant_turn", "turn": 2, "reasoning": "", "content": "part", "tool_calls": [], "finish_reason": "length"}),
            json!({"type": "assistant_turn", "turn": 3, "reasoning": "", "content": "done", "tool_calls": [], "finish_reason": "stop"}),
            json!({"type": "finished", "outcome": {"kind": "completed"}}),
            json!({"type": "session_started", "session_id": "s", "task": "more", "resumed": true}),
        ]);
        let conversation = replay(&transcript).unwrap();
        assert_eq!(conversation.turns, 3);
        assert_eq!(
            conversation.history,
            vec![
                Message::System {
                    content: "system".into()
                },
                Message::User {
                    content: "task".into()
                },
                Message::Assistant {
                    content: String::new(),
                    reasoning_content: Some("hm".into()),
                    tool_calls: vec![serde_json::from_value(call("a")).unwrap()],
                },
                Message::Tool {
                    tool_call_id: "a".into(),
                    content: "text".into()
                },
                Message::Assistant {
                    content: "part".into(),
                    reasoning_content: None,
                    tool_calls: vec![],
                },
                Message::User {
                    content: CONTINUE_AFTER_LENGTH.into()
                },
                Message::Assistant {
                    content: "done".into(),
                    reasoning_content: None,
                    tool_calls: vec![],
                },
                Message::User {
                    content: "more".into()
                },
            ]
        );
    }

    #[test]
    fn compaction_is_replayed_as_it_happened() {
        let turn = |content: &str| json!({"type": "assistant_turn", "turn": 1, "reasoning": "", "content": content, "tool_calls": [call("a")], "finish_reason": "tool_calls"});
        let result = json!({"type": "tool_result", "id": "a", "name": "read_file", "status": "success", "content": "text"});
        let transcript = lines(&[
            start(),
            turn("one"),
            result.clone(),
            json!({"type": "compacting", "estimated_tokens": 9000}),
            json!({"type": "compacted", "summary": "did one"}),
            turn("two"),
            result,
        ]);
        let history = replay(&transcript).unwrap().history;
        let expected_start = compact::compacted(
            &Conversation::new("system".into(), "", "task").history,
            "did one",
        );
        assert_eq!(history[..3], expected_start[..]);
        assert_eq!(
            history.len(),
            5,
            "the summary, then the turn after it: {history:?}"
        );
    }

    #[test]
    fn calls_left_without_a_result_are_answered() {
        let transcript = lines(&[
            start(),
            json!({"type": "assistant_turn", "turn": 1, "reasoning": "", "content": "", "tool_calls": [call("a"), call("b")], "finish_reason": "tool_calls"}),
            json!({"type": "tool_result", "id": "a", "name": "read_file", "status": "success", "content": "text"}),
        ]);
        let history = replay(&transcript).unwrap().history;
        assert_eq!(
            history.last(),
            Some(&Message::Tool {
                tool_call_id: "b".into(),
                content: "not run: the session ended before this call ran".into()
            })
        );
    }

    #[test]
    fn a_transcript_without_its_start_is_refused() {
        let transcript = lines(&[json!({"type": "tool_result", "id": "a", "content": "x"})]);
        assert_eq!(replay(&transcript).unwrap_err(), ReplayError::NoStart);
        assert!(matches!(
            replay("not json\n"),
            Err(ReplayError::BadLine { line: 1, .. })
        ));
    }
}
