/*!
The user's hooks: commands run at points of a session (Claude Code's events and stdin shape, so
existing hook scripts work). Each gets the event as a JSON object on stdin; its exit code (or a
JSON decision on stdout) says whether the session goes on, is blocked, or (for a tool call) skips
the approval question. What each run came to is an event, for every front end and the transcript.

Hooks from the user's config run everywhere; a repository's own (`.agent/config.toml`) only in a
directory the user trusts (`agent trust`), so a cloned repository cannot run code through its
config. Hooks run with the user's rights in the workspace, not in the command sandbox, and never
see the API key.
*/

mod point;
mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde_json::{Value, json};

use crate::config::{FileConfig, HookConfig};
use crate::protocol::event::Event;
use crate::protocol::hooks::{HookEvent, HookOutcome};
pub use point::{CompactTrigger, Point, StartSource};
use process::{Ending, Launch, Ran};

/// A hook's timeout unless it sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the session knows of itself that every hook is told.
#[derive(Debug, Clone, Default)]
pub struct HookSession {
    pub session_id: String,
    pub transcript_path: PathBuf,
    /// The workspace the session works in (where hooks run).
    pub cwd: PathBuf,
    /// Environment variables hooks do not get (the API key's).
    pub hidden_env: Vec<String>,
}

/// The hooks of a session.
#[derive(Debug, Default)]
pub struct Hooks {
    hooks: Vec<Hook>,
    session: HookSession,
}

#[derive(Debug)]
struct Hook {
    event: HookEvent,
    /// None: every tool (or source, or trigger).
    matcher: Option<Regex>,
    command: String,
    timeout: Duration,
}

/// What the hooks of one point decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on; `context` is what the hooks printed for the model (SessionStart, UserPromptSubmit).
    Proceed { context: String },
    /// Stop what was about to happen, for `reason`.
    Block { reason: String },
    /// A tool call runs without the approval question.
    Approve,
}

/// The hooks' verdict, and their events to emit.
pub struct Fired {
    pub verdict: Verdict,
    pub events: Vec<Event>,
}

impl Hooks {
    /// The hooks `config` names for a session in `workspace` (the real one, whose trust counts):
    /// the user's, then the project's when the user trusts `workspace`. Also what to tell the
    /// user of hooks left out.
    pub fn from_config(
        config: &FileConfig,
        workspace: &Path,
        session: HookSession,
    ) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut chosen: Vec<(HookEvent, &HookConfig)> = flatten(&config.hooks);
        let project = flatten(&config.project_hooks);
        if !project.is_empty() {
            match trusted(workspace, &config.trusted_dirs) {
                true => chosen.extend(project),
                false => problems.push(untrusted_note(workspace, &project)),
            }
        }
        let hooks = chosen
            .into_iter()
            .filter_map(|(event, hook)| match compiled(hook.matcher.as_deref()) {
                Ok(matcher) => Some(Hook {
                    event,
                    matcher,
                    command: hook.command.clone(),
                    timeout: hook.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
                }),
                Err(error) => {
                    problems.push(format!(
                        "the {} hook `{}` is left out: its matcher is not a valid pattern ({error})",
                        event.name(),
                        hook.command
                    ));
                    None
                }
            })
            .collect();
        (Self { hooks, session }, problems)
    }

    /// Runs the hooks of `point`'s event that match it, in the config's order; the first that
    /// blocks ends the round.
    pub async fn fire(&self, point: &Point<'_>) -> Fired {
        let event = point.event();
        let mut fired = Fired {
            verdict: Verdict::Proceed {
                context: String::new(),
            },
            events: Vec::new(),
        };
        let matching = self
            .hooks
            .iter()
            .filter(|hook| hook.event == event && hook.matches(point.subject()));
        let mut contexts = Vec::new();
        let mut approved = false;
        // Built once, and only when some hook runs: most points of most sessions have none.
        let mut input = None;
        for hook in matching {
            let input = input.get_or_insert_with(|| self.input(point).to_string());
            let ran = process::run(
                &Launch {
                    command: &hook.command,
                    cwd: &self.session.cwd,
                    hidden_env: &self.session.hidden_env,
                    timeout: hook.timeout,
                },
                input,
            )
            .await;
            let said = said(&ran);
            fired.events.push(hook_event(hook, &ran, &said));
            match said {
                Said::Block(reason) => {
                    fired.verdict = Verdict::Block { reason };
                    return fired;
                }
                Said::Approve => approved = true,
                Said::Proceed(context) => contexts.extend(context),
                Said::Failed(_) => {}
            }
        }
        fired.verdict = match approved {
            true => Verdict::Approve,
            false => Verdict::Proceed {
                context: contexts.join("\n"),
            },
        };
        fired
    }

    /// The JSON a hook reads on stdin.
    fn input(&self, point: &Point<'_>) -> Value {
        let mut input = json!({
            "session_id": self.session.session_id,
            "transcript_path": self.session.transcript_path,
            "cwd": self.session.cwd,
            "hook_event_name": point.event().name(),
        });
        if let Value::Object(fields) = &mut input {
            fields.extend(point.fields());
        }
        input
    }
}

impl Hook {
    fn matches(&self, subject: Option<&str>) -> bool {
        match (&self.matcher, subject) {
            (None, _) => true,
            (Some(matcher), Some(subject)) => matcher.is_match(subject),
            (Some(_), None) => true,
        }
    }
}

/// What one hook's run says.
enum Said {
    Proceed(Option<String>),
    Block(String),
    Approve,
    Failed(String),
}

/// Exit 0: go on (a JSON object on stdout may decide instead, and plain stdout is context);
/// exit 2: block, stderr the reason; anything else: a failure the session goes past.
fn said(ran: &Ran) -> Said {
    match &ran.ending {
        Ending::Exited(0) => decision(&ran.stdout).unwrap_or_else(|| {
            Said::Proceed(Some(ran.stdout.trim().to_string()).filter(|text| !text.is_empty()))
        }),
        Ending::Exited(2) => Said::Block(match ran.stderr.trim() {
            "" => "a hook blocked it (exit code 2) without saying why".to_string(),
            reason => reason.to_string(),
        }),
        Ending::Exited(code) => Said::Failed(failure(&format!("exited with code {code}"), ran)),
        Ending::Signalled => Said::Failed(failure("was killed by a signal", ran)),
        Ending::TimedOut(after) => Said::Failed(format!(
            "ran past its timeout of {} s and was killed with its process group",
            after.as_secs()
        )),
        Ending::NotStarted(error) => Said::Failed(format!("could not start: {error}")),
    }
}

/// A JSON object on stdout with a `decision` of `block` or `approve`.
fn decision(stdout: &str) -> Option<Said> {
    let object: serde_json::Map<String, Value> = serde_json::from_str(stdout.trim()).ok()?;
    let reason = object
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match object.get("decision").and_then(Value::as_str) {
        Some("block") => Some(Said::Block(match reason.as_str() {
            "" => "a hook blocked it without saying why".to_string(),
            _ => reason,
        })),
        Some("approve") => Some(Said::Approve),
        // A JSON object that decides nothing is not context for the model either.
        Some(_) | None => Some(Said::Proceed(None)),
    }
}

fn failure(what: &str, ran: &Ran) -> String {
    match ran.stderr.trim() {
        "" => format!("the hook {what}"),
        stderr => format!("the hook {what}: {stderr}"),
    }
}

fn hook_event(hook: &Hook, ran: &Ran, said: &Said) -> Event {
    let (outcome, message) = match (said, &ran.ending) {
        (Said::Proceed(_), _) => (HookOutcome::Ok, None),
        (Said::Approve, _) => (HookOutcome::Approved, None),
        (Said::Block(reason), _) => (HookOutcome::Blocked, Some(reason.clone())),
        (Said::Failed(why), Ending::TimedOut(_)) => (HookOutcome::TimedOut, Some(why.clone())),
        (Said::Failed(why), _) => (HookOutcome::Failed, Some(why.clone())),
    };
    Event::Hook {
        hook: hook.event,
        command: hook.command.clone(),
        exit_code: match ran.ending {
            Ending::Exited(code) => Some(code),
            Ending::Signalled | Ending::TimedOut(_) | Ending::NotStarted(_) => None,
        },
        duration_ms: ran.duration.as_millis() as u64,
        outcome,
        message,
    }
}

fn flatten(
    hooks: &std::collections::BTreeMap<HookEvent, Vec<HookConfig>>,
) -> Vec<(HookEvent, &HookConfig)> {
    hooks
        .iter()
        .flat_map(|(event, hooks)| hooks.iter().map(move |hook| (*event, hook)))
        .collect()
}

/// A matcher must match the whole name: `edit_file` is not matched by `edit`.
fn compiled(matcher: Option<&str>) -> Result<Option<Regex>, regex::Error> {
    match matcher.map(str::trim) {
        None | Some("" | "*") => Ok(None),
        Some(pattern) => Regex::new(&format!("^(?:{pattern})$")).map(Some),
    }
}

/// Whether `workspace` is a trusted directory or inside one.
fn trusted(workspace: &Path, trusted_dirs: &[PathBuf]) -> bool {
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    trusted_dirs.iter().any(|dir| {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        workspace.starts_with(dir)
    })
}

fn untrusted_note(workspace: &Path, project: &[(HookEvent, &HookConfig)]) -> String {
    let listed: Vec<String> = project
        .iter()
        .map(|(event, hook)| format!("{} `{}`", event.name(), hook.command))
        .collect();
    format!(
        "the project's config has hooks that do not run, since this directory is not trusted: {}. Read them, then `agent trust {}` to run them.",
        listed.join(", "),
        workspace.display()
    )
}
