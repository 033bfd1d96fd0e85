/*!
The front ends: each command of the binary, a thin consumer of the session core
([`crate::session`]) that brings only what is its own: where questions go, how events are shown,
how files are read. They sit side by side and import none of one another, except the terminal
rendering the command-line ones share.

Printing is allowed here only, in the front ends that own a terminal; an editor's (ACP) stdout is
its protocol.
*/

pub mod acp;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod batch;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod chat;
pub mod completions;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod mcp;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod run;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod sandbox_exec;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod saved;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod serve;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod terminal;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod tools;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod trust;
