/*! Terminal rendering of a whole prepared edit for review. */

use agent_tools::PreparedEdit;

use super::hunks::render_change;

pub fn render_edit(edit: &PreparedEdit) -> String {
    edit.changes
        .iter()
        .map(render_change)
        .collect::<Vec<_>>()
        .join("\n")
}
