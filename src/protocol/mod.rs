/*!
The bottom layer: the vocabulary every other part of the program speaks. Events, the messages of
a conversation, modes, hook points, exit codes and session states, as plain data. Nothing here knows of the
command line, HTTP, editors or terminals; front ends map their own formats onto these types.
*/

pub mod event;
pub mod exit;
pub mod hooks;
pub mod messages;
pub mod modes;
pub mod state;
