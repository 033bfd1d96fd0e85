/*!
The chat-completions client: wire types, delta accumulation, errors and retries.
*/

mod accumulate;
mod client;
mod error;
mod loops;
mod probe;
mod stray_quotes;
mod text_calls;
mod transport;
pub mod wire;

pub use accumulate::{Piece, Turn};
pub use client::{ModelClient, Progress, RetryNotice};
pub use error::ModelError;
pub use probe::settle_for_server;
pub use text_calls::{Recovered, Written as WrittenCalls, recover as recover_text_calls};
pub use transport::http_client;
