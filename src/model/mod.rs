/*!
The chat-completions client: wire types, delta accumulation, errors and retries.
*/

mod accumulate;
mod client;
mod error;
mod transport;
pub mod wire;

pub use accumulate::{Piece, Turn};
pub use client::{ModelClient, Progress, RetryNotice};
pub use error::ModelError;
