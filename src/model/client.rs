/*!
The streaming chat-completions client: one request per turn, deltas folded into a [`Turn`],
failed attempts retried with exponential backoff and jitter (honouring `Retry-After`).

A turn is returned only once the stream reached `[DONE]`, so tools never run on a partial turn and
a retried turn can never run a tool twice.
*/

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::accumulate::{Accumulator, Piece, Turn};
use super::error::{ModelError, Recovery};
use super::wire::{
    ChatRequest, Chunk, ErrorEnvelope, Message, StreamOptions, Thinking, ToolDefinition,
};
use crate::cli::ProviderKind;
use crate::config::Settings;

pub const MAX_ATTEMPTS: u32 = 6;
const MAX_DELAY: Duration = Duration::from_secs(60);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What happens while a turn streams, for live display.
#[derive(Debug, Clone)]
pub enum Progress {
    Piece(Piece),
    Retrying(RetryNotice),
}

/// A failed attempt about to be retried.
#[derive(Debug, Clone)]
pub struct RetryNotice {
    pub attempt: u32,
    pub delay: Duration,
    pub reason: String,
}

/// A pause shared by every clone of a client, so that a rate limit seen by one task of a batch
/// slows all of them instead of every task hammering the API.
#[derive(Debug, Default)]
struct RateGate {
    resume_at: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl RateGate {
    fn resume_at(&self) -> Option<tokio::time::Instant> {
        *self
            .resume_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until no pause is in force.
    async fn wait(&self) {
        while let Some(until) = self
            .resume_at()
            .filter(|until| *until > tokio::time::Instant::now())
        {
            tokio::time::sleep_until(until).await;
        }
    }

    fn pause_for(&self, delay: Duration) {
        let until = tokio::time::Instant::now() + delay;
        let mut resume_at = self
            .resume_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if resume_at.is_none_or(|current| current < until) {
            *resume_at = Some(until);
        }
    }
}

/// Cheap to clone: clones share the HTTP connection pool and the rate-limit pause.
#[derive(Clone)]
pub struct ModelClient {
    gate: std::sync::Arc<RateGate>,
    http: reqwest::Client,
    url: String,
    api_key: String,
    model: String,
    kind: ProviderKind,
    thinking: bool,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    prompt_budget: u64,
    idle_timeout: Duration,
    retry_base: Duration,
    tools: Vec<ToolDefinition>,
}

impl ModelClient {
    pub fn new(settings: &Settings, tools: Vec<ToolDefinition>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!("agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let retry_base_ms = std::env::var("AGENT_RETRY_BASE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(1000);
        Ok(Self {
            gate: std::sync::Arc::default(),
            http,
            url: format!("{}/chat/completions", settings.base_url),
            api_key: settings.api_key.clone(),
            model: settings.model.clone(),
            kind: settings.kind,
            thinking: settings.thinking,
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            prompt_budget: prompt_budget(settings.context_window, settings.max_tokens),
            idle_timeout: Duration::from_secs(settings.stream_idle_timeout_secs.max(1)),
            retry_base: Duration::from_millis(retry_base_ms),
            tools,
        })
    }

    /// How many tokens a request's prompt may hold before the conversation should be compacted.
    pub fn prompt_budget(&self) -> u64 {
        self.prompt_budget
    }

    /// The same client offering `extra` tools beside its own (a task's MCP tools).
    pub fn with_extra_tools(&self, extra: Vec<ToolDefinition>) -> Self {
        let mut client = self.clone();
        client.tools.extend(extra);
        client
    }

    /// The same client (sharing connections and rate-limit pauses) for another model.
    pub fn for_model(&self, model: &str) -> Self {
        Self {
            model: model.to_string(),
            ..self.clone()
        }
    }

    /// The request body for `messages`, serialized once and reused by every attempt.
    fn body(&self, messages: &[Message]) -> Result<Vec<u8>, ModelError> {
        let stripped: Vec<Message>;
        let messages = match self.kind {
            ProviderKind::Glm => messages,
            // Standard servers reject or mishandle `reasoning_content` on input messages.
            ProviderKind::Openai => {
                stripped = messages.iter().cloned().map(without_reasoning).collect();
                &stripped
            }
        };
        let glm = self.kind == ProviderKind::Glm;
        let request = ChatRequest {
            model: &self.model,
            messages,
            tools: &self.tools,
            stream: true,
            thinking: glm.then_some(Thinking {
                kind: if self.thinking { "enabled" } else { "disabled" },
                clear_thinking: false,
            }),
            tool_stream: (glm && self.thinking).then_some(true),
            stream_options: (!glm).then_some(StreamOptions {
                include_usage: true,
            }),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
        };
        serde_json::to_vec(&request).map_err(|error| ModelError::BadEvent(error.to_string()))
    }

    /// Streams one assistant turn, retrying failed attempts.
    pub async fn complete(
        &self,
        messages: &[Message],
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Turn, ModelError> {
        let body = self.body(messages)?;
        let mut attempt = 1;
        loop {
            tokio::select! {
                () = self.gate.wait() => {}
                () = cancel.cancelled() => return Err(ModelError::Cancelled),
            }
            let result = tokio::select! {
                result = self.attempt(&body, on_progress) => result,
                () = cancel.cancelled() => return Err(ModelError::Cancelled),
            };
            let error = match result {
                Ok(turn) => return Ok(turn),
                Err(error) => error,
            };
            let slow = match error.recovery() {
                Recovery::Fatal => return Err(error),
                Recovery::Retry => false,
                Recovery::RetrySlowly => true,
            };
            if attempt >= MAX_ATTEMPTS {
                return Err(error);
            }
            let delay = self.delay(attempt, slow, error.retry_after());
            on_progress(Progress::Retrying(RetryNotice {
                attempt,
                delay,
                reason: error.to_string(),
            }));
            if error.is_rate_limit() {
                // Everyone sharing this client waits, at the top of the loop.
                self.gate.pause_for(delay);
            } else {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = cancel.cancelled() => return Err(ModelError::Cancelled),
                }
            }
            attempt += 1;
        }
    }

    fn delay(&self, attempt: u32, slow: bool, retry_after: Option<Duration>) -> Duration {
        if let Some(retry_after) = retry_after {
            return retry_after.min(MAX_RETRY_AFTER);
        }
        let factor = 2u32.saturating_pow(attempt - 1) * if slow { 4 } else { 1 };
        let exponential = self.retry_base.saturating_mul(factor).min(MAX_DELAY);
        // Jitter of ±25% keeps many clients from retrying in lockstep.
        exponential.mul_f64(0.75 + fastrand::f64() * 0.5)
    }

    async fn attempt(
        &self,
        body: &[u8],
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Turn, ModelError> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.api_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| ModelError::Transport(error_chain(&error)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(http_error(response).await);
        }
        let mut events = response.bytes_stream().eventsource();
        let mut accumulator = Accumulator::default();
        loop {
            let next = tokio::time::timeout(self.idle_timeout, events.next())
                .await
                .map_err(|_| ModelError::Idle(self.idle_timeout.as_secs()))?;
            let event = match next {
                None => return Err(ModelError::StreamCut),
                Some(Err(error)) => return Err(ModelError::Transport(error.to_string())),
                Some(Ok(event)) => event,
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                break;
            }
            if data.is_empty() {
                continue;
            }
            let chunk: Chunk = serde_json::from_str(data)
                .map_err(|error| ModelError::BadEvent(format!("{error}: {}", clip(data))))?;
            if let Some(error) = &chunk.error {
                return Err(ModelError::InStream {
                    code: error.code.clone(),
                    message: error.message.clone(),
                });
            }
            for piece in accumulator.push(chunk) {
                on_progress(Progress::Piece(piece));
            }
        }
        let turn = accumulator.finish();
        match turn.finish_reason.as_deref() {
            Some("network_error") => Err(ModelError::NetworkError),
            Some("sensitive") => Err(ModelError::Sensitive),
            Some("model_context_window_exceeded") => Err(ModelError::ContextWindowExceeded),
            _ => Ok(turn),
        }
    }
}

/// The prompt tokens allowed in a `context_window`: room is left for the answer (`max_tokens`, or
/// an eighth of the window when unset) and a tenth of the rest as a margin, since the next
/// prompt's size is only estimated.
fn prompt_budget(context_window: u64, max_tokens: Option<u32>) -> u64 {
    let answer = max_tokens.map_or(context_window / 8, u64::from);
    context_window.saturating_sub(answer) / 10 * 9
}

fn without_reasoning(message: Message) -> Message {
    match message {
        Message::Assistant {
            content,
            tool_calls,
            ..
        } => Message::Assistant {
            content,
            reasoning_content: None,
            tool_calls,
        },
        other @ (Message::System { .. } | Message::User { .. } | Message::Tool { .. }) => other,
    }
}

async fn http_error(response: reqwest::Response) -> ModelError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64);
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => ModelError::Http {
            status,
            code: envelope.error.code,
            message: envelope.error.message,
            retry_after,
        },
        Err(_) => ModelError::Http {
            status,
            code: None,
            message: clip(text.trim()),
            retry_after,
        },
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn clip(text: &str) -> String {
    agent_tools::truncate_head_tail(text, 400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_budget_leaves_room_for_the_answer_and_a_margin() {
        assert_eq!(prompt_budget(200_000, Some(32_768)), 150_507);
        assert_eq!(prompt_budget(128_000, None), 100_800);
        assert_eq!(prompt_budget(1_000, Some(4_000)), 0);
    }
}
