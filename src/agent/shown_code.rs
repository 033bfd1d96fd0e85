/*!
A reply that ends by showing the fixed code instead of editing: the edit its code block stands
for ([`agent_tools::shown_code`]) is proposed as a call of `edit_file` or `write_file`, reviewed
like any other. Measured with Qwen2.5-Coder-1.5B, which ended 3 of 10 tasks so; a reminder that
the code changed nothing was tried before and was echoed or ignored.
*/

use agent_tools::Workspace;
use agent_tools::shown_code::{Proposal, proposal};

use crate::model::wire::{FunctionCall, ToolCallMessage};
use crate::model::{Recovered, WrittenCalls};

/// The proposed edit as a call, with id `{id_prefix}0`.
pub fn proposed_call(workspace: &Workspace, reply: &str, id_prefix: &str) -> Option<WrittenCalls> {
    let (name, arguments) = match proposal(workspace, reply)? {
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
    };
    Some(WrittenCalls::Calls(Recovered {
        calls: vec![ToolCallMessage {
            id: format!("{id_prefix}0"),
            kind: "function".into(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.to_string(),
            },
        }],
        set_aside: None,
    }))
}
