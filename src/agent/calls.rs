/*!
Running a turn's tool calls and answering each of them: with one `tool` message per call, or,
for calls the model wrote as text, with one user message holding every result (the assistant
message stays as the model sent it, without `tool_calls`, so there is nothing for `tool` messages
to answer, and the server's cached prefix still matches what it generated). A reply cut at the
output limit has its calls answered without running them.
*/

use agent_tools::{ToolCall, ToolStatus};

use super::Agent;
use super::repeat::{self, RepeatGuard, Repetition};
use crate::model::wire::{Message, ToolCallMessage};
use crate::protocol::event::{Event, Outcome};

/// How a turn's calls are answered in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// One `tool` message per call, as the API expects for `tool_calls`.
    ToolMessages,
    /// One user message with every result: the calls were written as text.
    TextResults(AfterCalls),
}

/// What a reply of calls written as text said after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCalls {
    Nothing,
    /// Text written before any result came back (often an imagined outcome): set aside.
    SetAside,
}

impl Agent<'_> {
    /// Runs every call, in order, and answers each. Returns an outcome when the run must stop.
    pub(super) async fn run_calls(
        &mut self,
        calls: &[ToolCallMessage],
        history: &mut Vec<Message>,
        repeats: &mut RepeatGuard,
        answering: Answering,
    ) -> Option<Outcome> {
        let mut stop_with: Option<Outcome> = None;
        let mut results = Vec::new();
        for call in calls {
            let name = call.function.name.as_str();
            let arguments = call.function.arguments.as_str();
            let parsed = ToolCall::parse(name, arguments).map_err(|error| error.to_string());
            self.announce(call, parsed.as_ref().ok());
            let repetition = repeats.observe(name, arguments);
            stop_with = stop_with.or_else(|| self.pending_stop());
            let (status, content) = if let Some(outcome) = &stop_with {
                (ToolStatus::Error, not_run_message(outcome))
            } else if repetition == Repetition::Stop {
                stop_with = Some(Outcome::RepeatedCall {
                    name: name.to_string(),
                });
                (
                    ToolStatus::Error,
                    format!(
                        "not run: the same call was made {} times in a row",
                        repeat::STOP_AT
                    ),
                )
            } else {
                let output = self
                    .tools
                    .run_named(&call.id, name, arguments, parsed, &mut self.events)
                    .await;
                let mut content = output.content;
                if let Repetition::Warn(count) = repetition {
                    content.push_str(&repeat::warning(count));
                }
                (output.status, content)
            };
            self.answer(call, status, content, history, answering, &mut results);
        }
        if let Answering::TextResults(after) = answering {
            let content = text_results(&results, after);
            self.events.emit(Event::Note {
                content: content.clone(),
            });
            history.push(Message::User { content });
        }
        stop_with.or_else(|| self.pending_stop())
    }

    /// Answers the calls of a reply cut at the output limit without running them: their
    /// arguments may be cut too, and a cut list of calls is not what the model meant to do.
    pub(super) fn refuse_cut_calls(
        &mut self,
        calls: &[ToolCallMessage],
        history: &mut Vec<Message>,
        max_tokens: Option<u32>,
    ) {
        let limit = max_tokens.map_or(String::new(), |tokens| format!(" ({tokens} tokens)"));
        let content = format!(
            "not run: your reply was cut off at the output token limit{limit} before it ended, so none of its {} calls were run. Send them again, fewer per reply (and with less text before them).",
            calls.len()
        );
        for call in calls {
            let parsed = ToolCall::parse(&call.function.name, &call.function.arguments).ok();
            self.announce(call, parsed.as_ref());
            let mut unused = Vec::new();
            self.answer(
                call,
                ToolStatus::Error,
                content.clone(),
                history,
                Answering::ToolMessages,
                &mut unused,
            );
        }
    }

    fn announce(&mut self, call: &ToolCallMessage, parsed: Option<&ToolCall>) {
        let arguments = call.function.arguments.as_str();
        self.events.emit(Event::ToolCallStarted {
            id: call.id.clone(),
            name: call.function.name.clone(),
            headline: parsed.map_or_else(|| clip(arguments), ToolCall::headline),
            arguments: arguments.to_string(),
        });
    }

    fn answer(
        &mut self,
        call: &ToolCallMessage,
        status: ToolStatus,
        content: String,
        history: &mut Vec<Message>,
        answering: Answering,
        results: &mut Vec<String>,
    ) {
        self.events.emit(Event::ToolResult {
            id: call.id.clone(),
            name: call.function.name.clone(),
            status,
            content: content.clone(),
        });
        match answering {
            Answering::ToolMessages => history.push(Message::Tool {
                tool_call_id: call.id.clone(),
                content,
            }),
            Answering::TextResults(_) => results.push(content),
        }
    }

    /// Why the run must stop before the next tool, if the user asked for it (`q` at a review
    /// prompt, or Ctrl-C).
    pub(super) fn pending_stop(&self) -> Option<Outcome> {
        if self.tools.quit_requested() {
            Some(Outcome::Quit)
        } else if self.stop.is_cancelled() {
            Some(Outcome::Interrupted)
        } else {
            None
        }
    }
}

/// The results of calls written as text, as the chat templates of such models render tool results
/// (Qwen's, Hermes's, GLM's): bare `<tool_response>` blocks in the order of the calls. Anything
/// more reads as a person's message, and a small model answered one by describing the results
/// instead of going on (Qwen2.5-Coder-1.5B).
fn text_results(results: &[String], after: AfterCalls) -> String {
    let mut blocks: Vec<String> = results
        .iter()
        .map(|content| format!("<tool_response>\n{}\n</tool_response>", content.trim_end()))
        .collect();
    if after == AfterCalls::SetAside {
        blocks.push(
            "(What you wrote after your calls came before these results and was set aside.)".into(),
        );
    }
    blocks.join("\n")
}

fn not_run_message(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Interrupted => "not run: the user interrupted the session".into(),
        Outcome::RepeatedCall { .. } => {
            "not run: the session was stopped for repeating a call".into()
        }
        Outcome::Quit => "not run: the user stopped the session at a review prompt".into(),
        Outcome::Completed
        | Outcome::TurnLimit { .. }
        | Outcome::InvalidOutput { .. }
        | Outcome::Error { .. } => "not run".into(),
    }
}

fn clip(text: &str) -> String {
    let clipped: String = text.chars().take(80).collect();
    if clipped.len() < text.len() {
        format!("{clipped}…")
    } else {
        clipped
    }
}
