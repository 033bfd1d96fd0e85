/*!
What a batch shows while it runs. On a terminal: an overall bar and one line per running task
with its current turn and tool (indicatif). Otherwise: one line per finished task.

Each task's events also feed a [`Tracker`], which keeps the task's turn, tokens and denied
actions even if the task is cut off by its timeout.
*/

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::results::TaskResult;
use crate::protocol::event::{Event, EventSink, NoticeSubject};
use crate::protocol::hooks::hook_line;

/// What a task's events have told so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    pub turns: u32,
    pub prompt_tokens: u64,
    pub cached_tokens: u64,
    pub completion_tokens: u64,
    pub denied_actions: u32,
    /// The model's plan as it last sent it.
    pub plan: Option<Vec<crate::protocol::event::PlanStep>>,
}

pub struct Tracker {
    state: Arc<Mutex<TaskState>>,
    bar: Option<ProgressBar>,
    id: String,
}

impl Tracker {
    /// A line about this task, above the progress bars when they are shown.
    fn say(&self, line: &str) {
        let line = format!("{}: {line}", self.id);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn new(id: &str, state: Arc<Mutex<TaskState>>, bar: Option<ProgressBar>) -> Self {
        Self {
            state,
            bar,
            id: id.to_string(),
        }
    }
}

impl EventSink for Tracker {
    fn emit(&mut self, event: &Event) {
        let mut state = crate::sync::lock(&self.state);
        match event {
            Event::TurnStarted { turn } => {
                state.turns = *turn;
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{}: turn {turn}, thinking", self.id));
                }
            }
            Event::ToolCallStarted { name, headline, .. } => {
                if let Some(bar) = &self.bar {
                    let headline: String = headline.chars().take(60).collect();
                    bar.set_message(format!(
                        "{}: turn {}, {name} {headline}",
                        self.id, state.turns
                    ));
                }
            }
            Event::Usage {
                prompt_tokens,
                cached_tokens,
                completion_tokens,
                ..
            } => {
                state.prompt_tokens += prompt_tokens;
                state.cached_tokens += cached_tokens;
                state.completion_tokens += completion_tokens;
            }
            Event::ApprovalDecided {
                approved: false, ..
            } => state.denied_actions += 1,
            Event::Compacting { .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!(
                        "{}: turn {}, compacting the conversation",
                        self.id, state.turns
                    ));
                }
            }
            // The sandbox and the context window are the batch's, said once by it.
            Event::Notice {
                about: NoticeSubject::McpServer | NoticeSubject::Hooks,
                message,
            } => self.say(message),
            Event::Plan { plan, .. } => state.plan = Some(plan.clone()),
            Event::Hook {
                hook,
                command,
                outcome,
                message,
                ..
            } => {
                if let Some(line) = hook_line(*hook, command, *outcome, message.as_deref()) {
                    self.say(&line);
                }
            }
            Event::SessionStarted { .. }
            | Event::Notice {
                about: NoticeSubject::Sandbox | NoticeSubject::ContextWindow | NoticeSubject::Daemon,
                ..
            }
            | Event::Reasoning { .. }
            | Event::Content { .. }
            | Event::Retrying { .. }
            | Event::AssistantTurn { .. }
            | Event::ApprovalRequested { .. }
            | Event::ApprovalDecided { approved: true, .. }
            | Event::ToolResult { .. }
            | Event::Compacted { .. }
            | Event::OutputRejected { .. }
            | Event::TextCallsRecovered { .. }
            | Event::CallsResumed { .. }
            | Event::Note { .. }
            | Event::Finished { .. } => {}
        }
    }
}

pub struct ProgressBars {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    total: usize,
    done: Mutex<usize>,
}

impl ProgressBars {
    pub fn new(total: usize, terminal: bool) -> Self {
        if !terminal {
            return Self {
                multi: None,
                overall: None,
                total,
                done: Mutex::new(0),
            };
        }
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} tasks, {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self {
            multi: Some(multi),
            overall: Some(overall),
            total,
            done: Mutex::new(0),
        }
    }

    /// A spinner for a task that starts running (terminal only).
    pub fn task_bar(&self) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = multi.add(ProgressBar::new_spinner());
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }

    pub fn finished(&self, result: &TaskResult, bar: Option<ProgressBar>) {
        let done = {
            let mut done = crate::sync::lock(&self.done);
            *done += 1;
            *done
        };
        let line = format!(
            "[{done}/{}] {} {} ({} turns, {} tokens, {:.1}s){}",
            self.total,
            result.id,
            result.status.as_str(),
            result.turns,
            result.prompt_tokens + result.completion_tokens,
            result.seconds,
            result
                .error
                .as_deref()
                .map(|error| format!(": {}", first_line(error)))
                .unwrap_or_default()
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match (&self.multi, &self.overall) {
            (Some(multi), Some(overall)) => {
                overall.inc(1);
                let _ = multi.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }

    pub fn close(&self) {
        if let Some(overall) = &self.overall {
            overall.finish_and_clear();
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
