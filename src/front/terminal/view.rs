/*!
The human view: thinking dimmed and answer text streamed as they arrive, one line per tool call
and its outcome, retries in yellow, and a usage summary at the end.

The final answer always ends up on stdout: streamed there when stdout is a terminal, printed there
at the end otherwise (the live text then goes to stderr, so a pipe gets just the answer).
*/

use std::io::{IsTerminal, Write};

use console::style;

use crate::approval::DecidedBy;
use crate::protocol::event::{
    ApprovalAction, Event, EventSink, NoticeSubject, Outcome, PlanStep, StepStatus,
};
use crate::protocol::hooks::{HookOutcome, hook_line};
use agent_tools::ToolStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Nothing,
    Reasoning,
    Content,
}

pub struct TerminalView {
    stdout_is_terminal: bool,
    /// Thinking, once it ends, is folded to one line on a terminal (left whole in a log).
    stderr_is_terminal: bool,
    /// The thinking streamed since it began, to fold it.
    reasoning: String,
    streaming: Stream,
    /// The diff of the edit awaiting a decision.
    pending_diff: Option<String>,
    /// The model's plan as last shown.
    plan: Vec<PlanStep>,
}

impl TerminalView {
    pub fn new() -> Self {
        Self {
            stdout_is_terminal: std::io::stdout().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
            reasoning: String::new(),
            streaming: Stream::Nothing,
            pending_diff: None,
            plan: Vec::new(),
        }
    }

    /// A view that has shown `plan` already (a conversation's earlier turns did).
    pub fn with_plan(plan: Vec<PlanStep>) -> Self {
        Self {
            plan,
            ..Self::new()
        }
    }

    /// Ends a streamed block with a newline before anything else is printed.
    fn end_stream(&mut self) {
        match self.streaming {
            Stream::Nothing => {}
            Stream::Reasoning => {
                eprintln!();
                self.fold_reasoning();
            }
            Stream::Content if self.stdout_is_terminal => println!(),
            Stream::Content => eprintln!(),
        }
        self.streaming = Stream::Nothing;
    }

    fn stream(&mut self, kind: Stream, text: &str) {
        if self.streaming != kind {
            self.end_stream();
            self.streaming = kind;
        }
        match kind {
            Stream::Reasoning => {
                self.reasoning.push_str(text);
                eprint!("{}", style(text).dim());
            }
            Stream::Content if self.stdout_is_terminal => {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            Stream::Content | Stream::Nothing => eprint!("{text}"),
        }
    }

    /// Replaces the thinking just shown by one dimmed line (on a terminal; in a log it stays).
    fn fold_reasoning(&mut self) {
        let thought = std::mem::take(&mut self.reasoning);
        if !self.stderr_is_terminal || thought.trim().is_empty() {
            return;
        }
        let term = console::Term::stderr();
        let width = usize::from(term.size().1).max(1);
        let rows: usize = thought
            .trim_end_matches('\n')
            .split('\n')
            .map(|line| console::measure_text_width(line).div_ceil(width).max(1))
            .sum();
        if term.clear_last_lines(rows).is_err() {
            return;
        }
        let first: String = thought
            .trim()
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(width.saturating_sub(16))
            .collect();
        let lines = match thought.trim().lines().count() {
            1 => "1 line".to_string(),
            count => format!("{count} lines"),
        };
        eprintln!("{}", style(format!("· thought ({lines}): {first}…")).dim());
    }

    fn finished(&mut self, outcome: &Outcome, answer: &str, summary: String) {
        self.end_stream();
        if !self.stdout_is_terminal && !answer.is_empty() {
            println!("{answer}");
        }
        match outcome {
            Outcome::Completed => {}
            Outcome::TurnLimit { max_turns } => eprintln!(
                "{}",
                style(format!("stopped: reached --max-turns {max_turns}")).red()
            ),
            Outcome::Interrupted => eprintln!("{}", style("stopped: interrupted").red()),
            Outcome::Quit => eprintln!("{}", style("stopped at your request").red()),
            Outcome::RepeatedCall { name } => eprintln!(
                "{}",
                style(format!(
                    "stopped: the model called {name} with the same arguments 6 times in a row"
                ))
                .red()
            ),
            Outcome::Error { message } => eprintln!("{}", style(format!("error: {message}")).red()),
            Outcome::InvalidOutput { problems } => eprintln!(
                "{}",
                style(format!(
                    "stopped: the answer never satisfied the output schema:\n{problems}"
                ))
                .red()
            ),
        }
        eprintln!("{}", style(summary).dim());
    }
}

impl EventSink for TerminalView {
    fn emit(&mut self, event: &Event) {
        match event {
            Event::Reasoning { text } => self.stream(Stream::Reasoning, text),
            Event::Content { text } => self.stream(Stream::Content, text),
            Event::Notice { about, message } => {
                self.end_stream();
                match about {
                    NoticeSubject::ContextWindow => eprintln!("{}", style(message).dim()),
                    NoticeSubject::Sandbox
                    | NoticeSubject::McpServer
                    | NoticeSubject::Daemon
                    | NoticeSubject::Hooks => {
                        eprintln!("{}", style(format!("warning: {message}")).yellow());
                    }
                }
            }
            Event::Retrying {
                attempt,
                delay_ms,
                reason,
            } => {
                self.end_stream();
                eprintln!(
                    "{}",
                    style(format!(
                        "retrying in {:.1}s (attempt {attempt} failed: {reason})",
                        *delay_ms as f64 / 1000.0
                    ))
                    .yellow()
                );
            }
            Event::Hook {
                hook,
                command,
                outcome,
                message,
                ..
            } => {
                if let Some(line) = hook_line(*hook, command, *outcome, message.as_deref()) {
                    self.end_stream();
                    match outcome {
                        HookOutcome::Approved => eprintln!("  {}", style(line).dim()),
                        HookOutcome::Ok
                        | HookOutcome::Blocked
                        | HookOutcome::Failed
                        | HookOutcome::TimedOut => eprintln!("  {}", style(line).yellow()),
                    }
                }
            }
            Event::ToolCallStarted { name, headline, .. } => {
                self.end_stream();
                eprintln!(
                    "{} {} {}",
                    style("●").cyan(),
                    style(name).bold(),
                    first_line(headline)
                );
            }
            Event::ApprovalRequested {
                action: ApprovalAction::Edit { summary, diff },
                ..
            } => {
                eprintln!("  {}", style(summary.replace('\n', ", ")).dim());
                self.pending_diff = Some(diff.clone());
            }
            Event::ApprovalDecided {
                approved: true, by, ..
            } => {
                // Applied without a question: the diff was not on screen yet.
                let pending = self.pending_diff.take();
                if let (DecidedBy::Settings, Some(diff)) = (by, pending) {
                    eprint!("{}", colored_unified(&diff));
                }
            }
            Event::ApprovalDecided {
                approved: false,
                reason,
                by,
                ..
            } => {
                // Refused without a question (a dry run, no terminal to ask on): the diff was
                // not on screen yet, and shows what was not done.
                let pending = self.pending_diff.take();
                if let (DecidedBy::Settings, Some(diff)) = (by, pending) {
                    eprint!("{}", colored_unified(&diff));
                }
                eprintln!(
                    "  {}",
                    style(format!(
                        "not approved{}",
                        reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ))
                    .yellow()
                );
            }
            Event::ToolResult {
                status, content, ..
            } => {
                let line = first_line(content);
                match status {
                    ToolStatus::Success => {
                        eprintln!("  {} {}", style("└").dim(), style(line).dim())
                    }
                    ToolStatus::Error => eprintln!("  {} {}", style("└").dim(), style(line).red()),
                }
            }
            Event::Compacting { estimated_tokens } => {
                self.end_stream();
                eprintln!(
                    "{}",
                    style(format!(
                        "compacting the conversation (about {estimated_tokens} tokens, near the model's context window)"
                    ))
                    .yellow()
                );
            }
            Event::Compacted { summary } => match summary {
                Some(summary) => eprintln!(
                    "  {} {}",
                    style("└").dim(),
                    style(format!(
                        "continuing from the task and a summary of {} lines",
                        summary.lines().count()
                    ))
                    .dim()
                ),
                None => eprintln!(
                    "  {} {}",
                    style("└").dim(),
                    style("no summary could be had: continuing with older tool results cut short")
                        .yellow()
                ),
            },
            Event::TextCallsRecovered { calls } => {
                self.end_stream();
                eprintln!(
                    "{}",
                    style(format!(
                        "the model wrote {} tool call(s) as text: running them as calls",
                        calls.len()
                    ))
                    .yellow()
                );
            }
            Event::CallsResumed { calls } => {
                self.end_stream();
                eprintln!(
                    "{}",
                    style(format!(
                        "continuing the stopped turn: {} call(s) left to run",
                        calls.len()
                    ))
                    .yellow()
                );
            }
            Event::OutputRejected { attempt, problems } => {
                self.end_stream();
                eprintln!(
                    "{}",
                    style(format!(
                        "the answer does not satisfy the output schema (asking again, {attempt} of {}): {}",
                        crate::agent::MAX_CORRECTIONS,
                        first_line(problems)
                    ))
                    .yellow()
                );
            }
            Event::Finished {
                outcome,
                answer,
                turns,
                prompt_tokens,
                cached_tokens,
                completion_tokens,
                elapsed_ms,
                denied_actions,
                output: _,
            } => {
                let denied = if *denied_actions > 0 {
                    format!(" · {denied_actions} actions denied")
                } else {
                    String::new()
                };
                let summary = format!(
                    "{turns} turns · {prompt_tokens} prompt tokens ({cached_tokens} cached) · {completion_tokens} completion tokens · {:.1}s{denied}",
                    *elapsed_ms as f64 / 1000.0
                );
                if !self.plan.is_empty() {
                    self.end_stream();
                    eprintln!("{}", style("plan:").bold());
                    for step in &self.plan {
                        eprintln!("{}", plan_line(step));
                    }
                }
                self.finished(outcome, answer, summary);
            }
            Event::Plan { explanation, plan } => {
                self.end_stream();
                if let Some(explanation) = explanation {
                    eprintln!("{}", style(explanation).dim());
                }
                // Only what changed; the whole list comes at the end of the turn.
                for step in plan.iter().filter(|step| !self.plan.contains(step)) {
                    eprintln!("{}", plan_line(step));
                }
                self.plan = plan.clone();
            }
            Event::SessionStarted { .. }
            | Event::Note { .. }
            | Event::TurnStarted { .. }
            | Event::AssistantTurn { .. }
            | Event::ApprovalRequested { .. }
            | Event::Usage { .. } => {}
        }
    }
}

/// A step of the plan as a checklist line.
pub fn plan_line(step: &PlanStep) -> String {
    match step.status {
        StepStatus::Pending => format!("  ☐ {}", step.step),
        StepStatus::InProgress => style(format!("  ▶ {}", step.step)).bold().to_string(),
        StepStatus::Completed => style(format!("  ✔ {}", step.step)).dim().to_string(),
    }
}

/// The first line of a result, with the next one when the first only introduces it
/// (`applied:` then `calc.sh: +1 -1`).
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let (line, shown) = match lines.next() {
        Some(second) if first.ends_with(':') => (format!("{first} {second}"), 2),
        Some(_) | None => (first.to_string(), 1),
    };
    let clipped: String = line.chars().take(120).collect();
    if clipped.len() < line.len() || text.lines().nth(shown).is_some() {
        format!("{clipped} …")
    } else {
        clipped
    }
}

/// A unified diff for the terminal: additions green, removals red, hunk headers cyan.
pub fn colored_unified(diff: &str) -> String {
    let mut out = String::new();
    for line in diff.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            style(line).bold().to_string()
        } else if line.starts_with('+') {
            style(line).green().to_string()
        } else if line.starts_with('-') {
            style(line).red().to_string()
        } else if line.starts_with("@@") {
            style(line).cyan().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&styled);
        out.push('\n');
    }
    out
}
