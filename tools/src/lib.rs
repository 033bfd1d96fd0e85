/*!
The local tools of the agent.

Each tool is a plain function over a [`Workspace`]: it knows nothing about models, HTTP or approval.
The agent decides *whether* an action may happen; this crate decides *what* it does, and makes sure
no path leaves the workspace and no file is ever left half-written.

Edits are two-phase: [`apply_diff::prepare`] and [`write_file::prepare`] compute a [`PreparedEdit`]
(every file's old and new content) without touching the disk, so the caller can show the diff and ask
for approval; [`PreparedEdit::commit`] then writes all files atomically, restoring the ones already
replaced if a later write fails.
*/

pub mod apply_diff;
mod definitions;
mod edit;
pub mod edit_file;
pub mod list_files;
mod missing;
mod output;
pub mod plan;
pub mod read_file;
mod registry;
pub mod run_command;
pub mod sandbox;
mod schema;
pub mod search;
pub mod shown_code;
mod walls;
mod workspace;
pub mod write_file;

#[cfg(test)]
mod test_tree;

pub use edit::{ChangeKind, CommitError, ExecutableBit, FileChange, FileStamp, PreparedEdit};
pub use output::{ToolOutput, ToolStatus, truncate_head_tail};
pub use registry::{CallError, EditTools, ToolCall, ToolName, ToolSpec};
pub use workspace::{Buffers, PathError, Workspace};
