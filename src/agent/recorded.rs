/*!
Reading transcripts back: the events a transcript holds, typed, for the readers that rebuild
something from it (the conversation to resume, an editor's view of a loaded session). Only the
fields these readers use are read; events they do not know come back as `Other`, so transcripts
stay readable as events are added.
*/

use agent_tools::ToolStatus;
use agent_tools::plan::PlanStep;
use serde::Deserialize;

use crate::model::wire::ToolCallMessage;

/// An event as a transcript has it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recorded {
    SessionStarted {
        task: String,
        #[serde(default)]
        system_prompt: Option<String>,
        #[serde(default)]
        context: String,
        #[serde(default)]
        resumed: bool,
    },
    AssistantTurn {
        reasoning: String,
        content: String,
        tool_calls: Vec<ToolCallMessage>,
        finish_reason: Option<String>,
    },
    // The fields only the editors' view reads are optional: a resumption must not fail on them.
    ToolCallStarted {
        id: String,
        name: String,
        #[serde(default)]
        headline: String,
        #[serde(default)]
        arguments: String,
    },
    ToolResult {
        id: String,
        #[serde(default = "unknown_status")]
        status: ToolStatus,
        content: String,
    },
    Compacted {
        summary: Option<String>,
    },
    Note {
        content: String,
    },
    Plan {
        #[serde(default)]
        explanation: Option<String>,
        plan: Vec<PlanStep>,
    },
    #[serde(other)]
    Other,
}

/// The events of a transcript (JSON lines), each with its line's index; blank lines skipped.
pub fn recorded(
    transcript: &str,
) -> impl Iterator<Item = (usize, Result<Recorded, serde_json::Error>)> + '_ {
    transcript
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index, serde_json::from_str(line)))
}

/// The plan as the transcript last has it: its explanation and steps.
pub fn last_plan(transcript: &str) -> Option<(Option<String>, Vec<PlanStep>)> {
    recorded(transcript)
        .filter_map(|(_, event)| match event {
            Ok(Recorded::Plan { explanation, plan }) => Some((explanation, plan)),
            _ => None,
        })
        .last()
}

/// A result whose status is not recorded counts as an error.
fn unknown_status() -> ToolStatus {
    ToolStatus::Error
}
