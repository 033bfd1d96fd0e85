/*!
The streaming chat-completions client: one request per turn, deltas folded into a [`Turn`],
failed attempts retried with exponential backoff and jitter (honouring `Retry-After`).

Requests go through async-openai (`create_stream_byot` with our wire types, over our transport:
see [`super::transport`]); retries, the shared rate-limit pause and the idle timeout are ours.
A turn is returned only once the stream reached `[DONE]`, so tools never run on a partial turn and
a retried turn can never run a tool twice.
*/

use std::time::Duration;

use async_openai::error::OpenAIError;
use futures_util::StreamExt;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::accumulate::{Accumulator, Piece, Turn};
use super::error::{ModelError, Recovery};
use super::transport::{self, Api, clip};
use super::wire::{ChatRequest, Chunk, Message, PlanTool, StreamOptions, Thinking, ToolDefinition};
use crate::config::Settings;
use crate::protocol::modes::{ProviderKind, TextToolCalls};

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

/// A pause shared by every client of one endpoint in the process, so that a rate limit seen by
/// one task of a batch (or one session of the daemon) slows all of them instead of every task
/// hammering the API.
#[derive(Debug, Default)]
struct RateGate {
    resume_at: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl RateGate {
    fn resume_at(&self) -> Option<tokio::time::Instant> {
        *crate::sync::lock(&self.resume_at)
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
        let mut resume_at = crate::sync::lock(&self.resume_at);
        if resume_at.is_none_or(|current| current < until) {
            *resume_at = Some(until);
        }
    }
}

impl RateGate {
    /// The gate of the endpoint at `base_url`, the same for every client of this process.
    fn of_endpoint(base_url: &str) -> std::sync::Arc<Self> {
        static GATES: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<RateGate>>>,
        > = std::sync::OnceLock::new();
        let mut gates = crate::sync::lock(GATES.get_or_init(Default::default));
        std::sync::Arc::clone(gates.entry(base_url.to_string()).or_default())
    }
}

/// Cheap to clone: clones share the HTTP connection pool and the rate-limit pause.
#[derive(Clone)]
pub struct ModelClient {
    gate: std::sync::Arc<RateGate>,
    api: std::sync::Arc<Api>,
    model: String,
    kind: ProviderKind,
    thinking: bool,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    /// `response_format` of every request, for answers that must be JSON.
    response_format: Option<std::sync::Arc<serde_json::Value>>,
    prompt_budget: u64,
    idle_timeout: Duration,
    retry_base: Duration,
    tools: Vec<ToolDefinition>,
    edit_tools: agent_tools::EditTools,
    plan: PlanTool,
    text_tool_calls: TextToolCalls,
}

impl ModelClient {
    /// A client offering our tools as `settings` chooses them.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let plan = PlanTool::for_window(settings.context_window);
        let tools = ToolDefinition::ours(settings.edit_tools(), plan);
        let api = transport::api(
            transport::http_client()?,
            &settings.base_url,
            &settings.api_key,
        )?;
        let retry_base_ms = std::env::var("AGENT_RETRY_BASE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(1000);
        Ok(Self {
            gate: RateGate::of_endpoint(&settings.base_url),
            api: std::sync::Arc::new(api),
            model: settings.model.clone(),
            kind: settings.kind,
            thinking: settings.thinking,
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            response_format: None,
            prompt_budget: prompt_budget(settings.context_window, settings.max_tokens),
            idle_timeout: Duration::from_secs(settings.stream_idle_timeout_secs.max(1)),
            retry_base: Duration::from_millis(retry_base_ms),
            tools,
            edit_tools: settings.edit_tools(),
            plan,
            text_tool_calls: settings.text_tool_calls,
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

    /// The same client offering the edit tools of `edit` instead (a batch task's edit format);
    /// other servers' tools stay.
    pub fn with_edit_tools(&self, edit: agent_tools::EditTools) -> Self {
        let mut client = self.clone();
        let extra = self
            .tools
            .iter()
            .filter(|tool| agent_tools::ToolName::parse(&tool.function.name).is_err())
            .cloned();
        client.tools = ToolDefinition::ours(edit, self.plan)
            .into_iter()
            .chain(extra)
            .collect();
        client.edit_tools = edit;
        client
    }

    /// The same client asking for answers in this `response_format`.
    pub fn with_response_format(&self, format: serde_json::Value) -> Self {
        Self {
            response_format: Some(std::sync::Arc::new(format)),
            ..self.clone()
        }
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// The `max_tokens` every request sends, if any.
    pub fn max_tokens(&self) -> Option<u32> {
        self.max_tokens
    }

    /// The tools every request offers.
    pub fn tools(&self) -> &[ToolDefinition] {
        &self.tools
    }

    /// The tools the model edits with.
    /// Whether the model is offered `update_plan`.
    pub fn plan_tool(&self) -> PlanTool {
        self.plan
    }

    pub fn edit_tools(&self) -> agent_tools::EditTools {
        self.edit_tools
    }

    /// Whether calls the model writes as text are taken as calls.
    pub fn text_tool_calls(&self) -> TextToolCalls {
        self.text_tool_calls
    }

    /// The same client (sharing connections and rate-limit pauses) for another model.
    pub fn for_model(&self, model: &str) -> Self {
        Self {
            model: model.to_string(),
            ..self.clone()
        }
    }

    /// The request body for `messages`, serialized once and reused by every attempt.
    fn body(&self, messages: &[Message]) -> Result<Box<RawValue>, ModelError> {
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
            response_format: self.response_format.as_deref(),
        };
        serde_json::value::to_raw_value(&request)
            .map_err(|error| ModelError::BadEvent(error.to_string()))
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
        body: &RawValue,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Turn, ModelError> {
        let mut events = self
            .api
            .chat()
            .create_stream_byot::<&RawValue, Chunk>(body)
            .await
            .map_err(from_library)?;
        let mut accumulator = Accumulator::default();
        loop {
            let next = tokio::time::timeout(self.idle_timeout, events.next())
                .await
                .map_err(|_| ModelError::Idle(self.idle_timeout.as_secs()))?;
            let chunk = match next {
                // The transport adds a stream-cut event to a body without `[DONE]`, so an end
                // here is always a complete stream.
                None => break,
                Some(Err(error)) => return Err(from_library(error)),
                Some(Ok(chunk)) => chunk,
            };
            if chunk.stream_cut {
                return Err(ModelError::StreamCut);
            }
            if let Some(error) = &chunk.error {
                return Err(ModelError::InStream {
                    code: error.code.clone(),
                    message: error.message.clone(),
                });
            }
            for piece in accumulator.push(chunk) {
                on_progress(Progress::Piece(piece));
            }
            // Dropping the stream closes the connection, which stops the server generating.
            if accumulator.cut_loop() {
                break;
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

/// Our error back from the library: the transport's own, or what the library saw in the stream.
fn from_library(error: OpenAIError) -> ModelError {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<ModelError>() {
            Ok(ours) => *ours,
            Err(other) => ModelError::Transport(transport::error_chain(other.as_ref())),
        },
        OpenAIError::JSONDeserialize(error, data) => {
            ModelError::BadEvent(format!("{error}: {}", clip(data.trim())))
        }
        other => ModelError::Transport(transport::error_chain(&other)),
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
