/*!
Edits a reply wrote as text instead of calling a tool (SEARCH/REPLACE blocks, a path and the file
in a fence, the fixed code shown with no path, a diff shown that applies): the edits they stand for
([`agent_tools::shown_code`]) are proposed as calls of `edit_file` or `write_file`, reviewed like
any other. Measured with Qwen2.5-Coder-1.5B, which ended 3 of 10 tasks by showing the fixed code;
a reminder that the code changed nothing was tried before and was echoed or ignored.
*/

use agent_tools::Workspace;
use agent_tools::shown_code::{Proposal, proposals};

use crate::model::wire::{FunctionCall, ToolCallMessage};
use crate::model::{Recovered, WrittenCalls};

/// The proposed edits as calls, with ids `{id_prefix}0`, `{id_prefix}1`, …; None when the reply
/// stands for no edit.
pub fn proposed_calls(workspace: &Workspace, reply: &str, id_prefix: &str) -> Option<WrittenCalls> {
    let calls: Vec<ToolCallMessage> = proposals(workspace, reply)
        .into_iter()
        .enumerate()
        .map(|(number, proposal)| {
            let (name, arguments) = match proposal {
                Proposal::Edit(args) => (
                    "edit_file",
                    serde_json::json!({
                        "path": args.path,
                        "old_string": args.old_string,
                        "new_string": args.new_string,
                    }),
                ),
                Proposal::Write(args) => (
                    "write_file",
                    serde_json::json!({"path": args.path, "content": args.content}),
                ),
                Proposal::Diff(args) => ("apply_diff", serde_json::json!({"diff": args.diff})),
            };
            ToolCallMessage {
                id: format!("{id_prefix}{number}"),
                kind: "function".into(),
                function: FunctionCall {
                    name: name.into(),
                    arguments: arguments.to_string(),
                },
            }
        })
        .collect();
    (!calls.is_empty()).then_some(WrittenCalls::Calls(Recovered {
        calls,
        set_aside: None,
    }))
}
