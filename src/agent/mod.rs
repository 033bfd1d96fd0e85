/*!
The agent loop: send the history, receive one whole assistant turn, run its tool calls in order,
append everything, repeat until the model answers without a tool call.

History is append-only and every request carries the same system prompt and tools, so each
request's messages begin with the previous request's, byte for byte (what GLM's prefix cache and
preserved thinking need). The one exception is compaction ([`compact`]), when the conversation would
no longer fit the model's context window.
*/

mod calls;
mod claims;
mod compact;
mod conversation;
mod dispatch;
mod editor;
mod hooked;
mod output;
pub mod recorded;
mod repeat;
mod replay;
mod shown_code;

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::hooks::CompactTrigger;
use crate::protocol::event::{Event, Events, Outcome};
use calls::{AfterCalls, Answering};
pub use conversation::{Conversation, user_message, without_context};
pub use dispatch::ToolRunner;
pub use editor::{Editor, EditorFiles};
pub use output::{MAX_CORRECTIONS, OutputSchema};
use repeat::{RepeatGuard, Repetition};
pub use replay::replay_keeping_open_calls;

use crate::model::wire::{Message, Usage};
use crate::model::{
    ModelClient, ModelError, Piece, Progress, RetryNotice, Turn, WrittenCalls, recover_text_calls,
};
use crate::protocol::modes::TextToolCalls;
use compact::ContextTracker;

/// Sent when a turn without tool calls ended at the output token limit.
const CONTINUE_AFTER_LENGTH: &str = "[from the agent] Your last answer was cut off by the output token limit. Continue exactly where it stopped.";

/// Token counts summed over a session.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    prompt: u64,
    cached: u64,
    completion: u64,
}

pub struct Agent<'a> {
    pub client: &'a ModelClient,
    pub tools: ToolRunner,
    pub events: Events,
    pub max_turns: u32,
    /// Fired by the first Ctrl-C: finish the running tool, then stop.
    pub stop: CancellationToken,
    /// The JSON Schema the final answer must satisfy, if the user gave one.
    pub output_schema: Option<OutputSchema>,
}

/// How a run ended, and the final answer's JSON value when an output schema was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub outcome: Outcome,
    pub output: Option<serde_json::Value>,
    /// The conversation as it stands now, to go on with.
    pub conversation: Conversation,
}

/// What the final answer is worth under the output schema.
enum Verdict {
    /// No schema: any answer ends the run.
    Free,
    Valid(serde_json::Value),
    Invalid(String),
}

impl Agent<'_> {
    /// Runs the conversation until the model answers without a tool call (or something stops
    /// it), and returns how it ended (also emitted as `Finished`).
    pub async fn run(&mut self, conversation: Conversation) -> Ended {
        let started = Instant::now();
        let Conversation {
            mut history,
            turns: turns_before,
        } = conversation;
        let mut totals = Totals::default();
        let mut repeats = RepeatGuard::default();
        let mut answer = String::new();
        let mut cut_off = false;
        let mut context = ContextTracker::default();
        let mut turns = turns_before;
        let mut output = None;
        let mut corrections = 0;
        let mut stop_blocks = 0;
        // Corrections of a structured answer go out with the provider's JSON mode on.
        let json_client = self.output_schema.as_ref().map(|schema| {
            self.client
                .with_response_format(schema.response_format(self.client.kind()))
        });
        // Calls a stopped session left waiting run before the model is asked anything.
        self.tools.set_turn(turns);
        let mut resumed = self.run_open_calls(&mut history, &mut repeats).await;
        let outcome = loop {
            if let Some(outcome) = resumed.take() {
                break outcome;
            }
            if turns - turns_before == self.max_turns {
                break Outcome::TurnLimit {
                    max_turns: self.max_turns,
                };
            }
            turns += 1;
            self.events.emit(Event::TurnStarted { turn: turns });
            self.tools.set_turn(turns);
            let client = match (corrections, &json_client) {
                (1.., Some(json_client)) => json_client,
                _ => self.client,
            };
            let turn = match self
                .request_fitting(client, turns, &mut history, &mut context, &mut totals)
                .await
            {
                Ok(turn) => turn,
                Err(ModelError::Cancelled) => break Outcome::Interrupted,
                Err(error) => {
                    break Outcome::Error {
                        message: describe(&error),
                    };
                }
            };
            self.record(turns, &turn, &mut totals);
            history.push(turn.to_message());
            if let Some(usage) = turn.usage {
                context.observe(usage.prompt_tokens + usage.completion_tokens, history.len());
            }
            // An answer continued after the output limit is the sum of its parts.
            answer = if cut_off {
                answer + &turn.content
            } else {
                turn.content.clone()
            };
            let cut = turn.finish_reason.as_deref() == Some("length");
            if cut && !turn.tool_calls.is_empty() {
                self.refuse_cut_calls(&turn.tool_calls, &mut history, self.client.max_tokens());
                continue;
            }
            let written_calls = match cut {
                true => None,
                false => self.calls_written_as_text(turns, &turn),
            };
            cut_off = cut && turn.tool_calls.is_empty();
            if cut_off {
                // Cut off by the output limit mid-answer: ask for the rest instead of stopping.
                history.push(Message::User {
                    content: CONTINUE_AFTER_LENGTH.to_string(),
                });
                continue;
            }
            match written_calls {
                Some(WrittenCalls::Unparsable { name, error }) => {
                    // The same broken call again and again is stopped as a repeated call is.
                    let warning = match repeats.observe(&name, &turn.content) {
                        Repetition::Stop => break Outcome::RepeatedCall { name },
                        Repetition::Warn(count) => repeat::warning(count),
                        Repetition::Fresh => String::new(),
                    };
                    let instead = match name.as_str() {
                        "write_file" => {
                            " Or write the file with no JSON: its path on a line of its own, then the whole new file in a fenced block."
                        }
                        _ => "",
                    };
                    self.tell(&mut history, format!(
                        "[from the agent] Your reply holds a call of `{name}` written as text, but it is not valid JSON ({error}), so it was not run. In a JSON string, write a quote as \\\" and a line break as \\n. Send the call again.{instead}{warning}"
                    ));
                    continue;
                }
                Some(WrittenCalls::Calls(recovered)) => {
                    self.events.emit(Event::TextCallsRecovered {
                        calls: recovered.calls.clone(),
                    });
                    let answering = Answering::TextResults(match recovered.set_aside {
                        Some(_) => AfterCalls::SetAside,
                        None => AfterCalls::Nothing,
                    });
                    match self
                        .run_calls(&recovered.calls, &mut history, &mut repeats, answering)
                        .await
                    {
                        Some(outcome) => break outcome,
                        None => continue,
                    }
                }
                None => {}
            }
            if turn.tool_calls.is_empty() {
                match self.verdict(&answer) {
                    // The session's first reply, claiming work no tool did: one reminder.
                    Verdict::Free if turns == 1 && claims::claims_work(&answer) => {
                        self.tell(&mut history, claims::NOTHING_DONE.to_string());
                        continue;
                    }
                    Verdict::Free => {
                        if self.held_by_stop_hook(&mut history, &mut stop_blocks).await {
                            continue;
                        }
                        break Outcome::Completed;
                    }
                    Verdict::Valid(value) => {
                        if self.held_by_stop_hook(&mut history, &mut stop_blocks).await {
                            continue;
                        }
                        answer = value.to_string();
                        output = Some(value);
                        break Outcome::Completed;
                    }
                    Verdict::Invalid(problems) if corrections < output::MAX_CORRECTIONS => {
                        corrections += 1;
                        self.events.emit(Event::OutputRejected {
                            attempt: corrections,
                            problems: problems.clone(),
                        });
                        let correction = self
                            .output_schema
                            .as_ref()
                            .map(|schema| schema.correction(&problems))
                            .unwrap_or_default();
                        self.tell(&mut history, correction);
                        continue;
                    }
                    Verdict::Invalid(problems) => break Outcome::InvalidOutput { problems },
                }
            }
            let answering = Answering::ToolMessages;
            if let Some(outcome) = self
                .run_calls(&turn.tool_calls, &mut history, &mut repeats, answering)
                .await
            {
                break outcome;
            }
        };
        self.events.emit(Event::Finished {
            outcome: outcome.clone(),
            answer,
            // This run's turns (a resumed session counts on from its earlier ones).
            turns: turns - turns_before,
            prompt_tokens: totals.prompt,
            cached_tokens: totals.cached,
            completion_tokens: totals.completion,
            elapsed_ms: started.elapsed().as_millis() as u64,
            denied_actions: self.tools.denied_actions(),
            output: output.clone(),
        });
        Ended {
            outcome,
            output,
            conversation: Conversation { history, turns },
        }
    }

    /// Runs the calls of the last turn that have no result (a session continued after its
    /// daemon stopped while one of them waited for approval).
    async fn run_open_calls(
        &mut self,
        history: &mut Vec<Message>,
        repeats: &mut RepeatGuard,
    ) -> Option<Outcome> {
        let calls = replay::open_calls(history);
        if calls.is_empty() {
            return None;
        }
        self.events.emit(Event::CallsResumed {
            calls: calls.clone(),
        });
        self.run_calls(&calls, history, repeats, Answering::ToolMessages)
            .await
    }

    /// The calls a reply without `tool_calls` wrote as text, when the provider setting allows
    /// taking them as calls; else the edit its code block stands for ([`shown_code`]).
    fn calls_written_as_text(&self, turn_number: u32, turn: &Turn) -> Option<WrittenCalls> {
        match (self.client.text_tool_calls(), turn.tool_calls.is_empty()) {
            (TextToolCalls::Auto, true) => {
                let id_prefix = format!("text_{turn_number}_");
                recover_text_calls(&turn.content, self.client.tools(), &id_prefix).or_else(|| {
                    shown_code::proposed_calls(self.tools.workspace(), &turn.content, &id_prefix)
                })
            }
            (TextToolCalls::Auto, false) | (TextToolCalls::Off, _) => None,
        }
    }

    /// A note from the agent to the model, shown to the user too.
    fn tell(&mut self, history: &mut Vec<Message>, note: String) {
        self.events.emit(Event::Note {
            content: note.clone(),
        });
        history.push(Message::User { content: note });
    }

    fn verdict(&self, answer: &str) -> Verdict {
        match &self.output_schema {
            None => Verdict::Free,
            Some(schema) => match schema.check(answer) {
                Ok(value) => Verdict::Valid(value),
                Err(problems) => Verdict::Invalid(problems),
            },
        }
    }

    /// Compacts `conversation` now, as asked (`/compact`): its history becomes the task and a
    /// summary the model writes of it. Events as for a compaction the loop decides on.
    pub async fn compact_now(&mut self, mut conversation: Conversation) -> Conversation {
        let mut totals = Totals::default();
        let estimated = ContextTracker::default().next_prompt(&conversation.history);
        let turn = conversation.turns;
        // Cancelled: the history stays as it was.
        self.before_compacting(CompactTrigger::Manual).await;
        let _cancelled = self
            .compact(turn, &mut conversation.history, estimated, &mut totals)
            .await;
        conversation
    }

    /// Requests the next turn, compacting the history first if it would not fit, or once after
    /// the provider said it did not.
    async fn request_fitting(
        &mut self,
        client: &ModelClient,
        turn: u32,
        history: &mut Vec<Message>,
        context: &mut ContextTracker,
        totals: &mut Totals,
    ) -> Result<Turn, ModelError> {
        let estimated_tokens = context.next_prompt(history);
        if compact::worth_compacting(history) && estimated_tokens > self.client.prompt_budget() {
            self.before_compacting(CompactTrigger::Auto).await;
            self.compact(turn, history, estimated_tokens, totals)
                .await?;
            context.reset();
        }
        match self.request(client, history).await {
            Err(error) if error.is_context_overflow() && compact::worth_compacting(history) => {
                let estimated_tokens = context.next_prompt(history);
                self.before_compacting(CompactTrigger::Auto).await;
                self.compact(turn, history, estimated_tokens, totals)
                    .await?;
                context.reset();
                self.request(client, history).await
            }
            other => other,
        }
    }

    /// Replaces `history` by the task and a summary the model writes of it, or, if that request
    /// fails, by the history with older tool results cut short.
    async fn compact(
        &mut self,
        turn: u32,
        history: &mut Vec<Message>,
        estimated_tokens: u64,
        totals: &mut Totals,
    ) -> Result<(), ModelError> {
        self.events.emit(Event::Compacting { estimated_tokens });
        let events = &mut self.events;
        // The summary is not shown as it streams; only retries are.
        let mut on_progress = |progress: Progress| {
            if let Progress::Retrying(notice) = progress {
                events.emit(retrying(notice));
            }
        };
        let request = compact::summary_request(history);
        let summary = match self
            .client
            .complete(&request, &self.stop, &mut on_progress)
            .await
        {
            Ok(answer) => {
                if let Some(usage) = answer.usage {
                    self.count_usage(turn, usage, totals);
                }
                Some(answer.content).filter(|summary| !summary.trim().is_empty())
            }
            Err(ModelError::Cancelled) => return Err(ModelError::Cancelled),
            Err(_) => None,
        };
        *history = match &summary {
            Some(summary) => compact::compacted(history, summary),
            None => compact::trimmed(history),
        };
        self.events.emit(Event::Compacted { summary });
        Ok(())
    }

    async fn request(
        &mut self,
        client: &ModelClient,
        history: &[Message],
    ) -> Result<Turn, ModelError> {
        let events = &mut self.events;
        let mut on_progress = |progress: Progress| {
            events.emit(match progress {
                Progress::Piece(Piece::Reasoning(text)) => Event::Reasoning { text },
                Progress::Piece(Piece::Content(text)) => Event::Content { text },
                Progress::Retrying(notice) => retrying(notice),
            })
        };
        client.complete(history, &self.stop, &mut on_progress).await
    }

    fn record(&mut self, turn_number: u32, turn: &Turn, totals: &mut Totals) {
        self.events.emit(Event::AssistantTurn {
            turn: turn_number,
            reasoning: turn.reasoning.clone(),
            content: turn.content.clone(),
            tool_calls: turn.tool_calls.clone(),
            finish_reason: turn.finish_reason.clone(),
        });
        if let Some(usage) = turn.usage {
            self.count_usage(turn_number, usage, totals);
        }
    }

    fn count_usage(&mut self, turn: u32, usage: Usage, totals: &mut Totals) {
        totals.prompt += usage.prompt_tokens;
        totals.cached += usage.cached_tokens;
        totals.completion += usage.completion_tokens;
        self.events.emit(Event::Usage {
            turn,
            prompt_tokens: usage.prompt_tokens,
            cached_tokens: usage.cached_tokens,
            completion_tokens: usage.completion_tokens,
        });
    }
}

fn retrying(notice: RetryNotice) -> Event {
    Event::Retrying {
        attempt: notice.attempt,
        delay_ms: notice.delay.as_millis() as u64,
        reason: notice.reason,
    }
}

fn describe(error: &ModelError) -> String {
    match error.hint() {
        Some(hint) => format!("{error} ({hint})"),
        None => error.to_string(),
    }
}
