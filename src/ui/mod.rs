/*!
Front ends that render the event stream: the human terminal view and `--json` lines.
*/

mod json;
mod terminal;

pub use json::JsonLines;
pub use terminal::TerminalView;
