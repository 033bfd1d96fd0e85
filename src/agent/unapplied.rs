/*!
A reminder for a model that shows its fix as code in words instead of calling a tool. Small
models do ("I updated `settings.py` with the following change:" and the file in a code block, no
call: Qwen2.5-Coder-1.5B on half the bench tasks), and the run ends with nothing changed and an
answer that says otherwise. Where calls written as text are taken (the setting for local servers),
a reply without calls that shows code, in a run that has called no edit, is answered once: code
in a reply changes nothing. A model that meant only to show code says its answer again.
*/

use crate::cli::TextToolCalls;
use crate::model::wire::ToolCallMessage;

pub const REMINDER: &str = "[from the agent] No file has changed: code in a reply is not applied. Files change only through apply_diff or write_file. If your code is a change to make, call one of them now; if not, give your answer again.";

const EDIT_TOOLS: [&str; 2] = ["apply_diff", "write_file"];

/// Whether the reminder may still be given in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnappliedCode {
    Watching,
    /// Given already, not wanted (calls are not taken from text), or an edit was called.
    Quiet,
}

impl UnappliedCode {
    pub fn new(text_tool_calls: TextToolCalls) -> Self {
        match text_tool_calls {
            TextToolCalls::Auto => UnappliedCode::Watching,
            TextToolCalls::Off => UnappliedCode::Quiet,
        }
    }

    /// After calls that edit, code in a later reply is a summary of what was done.
    pub fn saw_calls(&mut self, calls: &[ToolCallMessage]) {
        if calls
            .iter()
            .any(|call| EDIT_TOOLS.contains(&call.function.name.as_str()))
        {
            *self = UnappliedCode::Quiet;
        }
    }

    /// Whether a reply without calls gets the reminder (then never again in this run).
    pub fn remind(&mut self, reply: &str) -> bool {
        let due = *self == UnappliedCode::Watching && shows_code(reply);
        if due {
            *self = UnappliedCode::Quiet;
        }
        due
    }
}

/// Whether `reply` holds a fenced code block with something in it.
fn shows_code(reply: &str) -> bool {
    let mut lines = reply.lines().map(str::trim_start);
    while lines.any(|line| line.starts_with("```") || line.starts_with("~~~")) {
        let mut body = lines
            .by_ref()
            .take_while(|line| !(line.starts_with("```") || line.starts_with("~~~")));
        if body.any(|line| !line.trim().is_empty()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::wire::FunctionCall;

    fn call(name: &str) -> ToolCallMessage {
        ToolCallMessage {
            id: "c".into(),
            kind: "function".into(),
            function: FunctionCall {
                name: name.into(),
                arguments: "{}".into(),
            },
        }
    }

    const SHOWN_FIX: &str =
        "I updated `lists.py`:\n```python\ndef last(items):\n    return items[-1]\n```\nDone.";

    #[test]
    fn code_shown_before_any_edit_is_answered_once() {
        let mut guard = UnappliedCode::new(TextToolCalls::Auto);
        guard.saw_calls(&[call("read_file")]);
        assert!(guard.remind(SHOWN_FIX));
        assert!(!guard.remind(SHOWN_FIX));
    }

    #[test]
    fn no_reminder_after_an_edit_for_words_or_where_calls_are_not_taken_from_text() {
        let mut edited = UnappliedCode::new(TextToolCalls::Auto);
        edited.saw_calls(&[call("apply_diff")]);
        assert!(!edited.remind(SHOWN_FIX));
        let mut words = UnappliedCode::new(TextToolCalls::Auto);
        assert!(!words.remind("The bug was an off-by-one; fixed."));
        assert!(!words.remind("Empty:\n```\n\n```"));
        let mut off = UnappliedCode::new(TextToolCalls::Off);
        assert!(!off.remind(SHOWN_FIX));
    }
}
