/*!
Model API errors and what to do about each: GLM's business codes decide between retrying,
backing off longer, and stopping with a message the user can act on.
*/

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("HTTP {status}{}: {message}", code.as_ref().map(|code| format!(" (code {code})")).unwrap_or_default())]
    Http {
        status: u16,
        code: Option<String>,
        /// The error's `type`, where the server gives one (OpenAI, llama.cpp).
        kind: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("API error{}: {message}", code.as_ref().map(|code| format!(" {code}")).unwrap_or_default())]
    InStream {
        code: Option<String>,
        message: String,
    },
    #[error("connection failed: {0}")]
    Transport(String),
    #[error("the stream ended before [DONE]")]
    StreamCut,
    #[error("the stream sent no data for {0}s")]
    Idle(u64),
    #[error("unparseable stream event: {0}")]
    BadEvent(String),
    #[error("the model's inference failed (finish_reason network_error)")]
    NetworkError,
    #[error(
        "the model's answer was blocked by the provider's content filter (finish_reason sensitive)"
    )]
    Sensitive,
    #[error("the conversation no longer fits the model's context window")]
    ContextWindowExceeded,
    #[error("interrupted")]
    Cancelled,
}

/// An error answer of the provider, whether in an HTTP response or in the stream.
struct ProviderAnswer<'a> {
    status: Option<u16>,
    code: Option<&'a str>,
    kind: Option<&'a str>,
    message: &'a str,
}

/// How a failed attempt is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    Retry,
    /// Overload: retry, starting from a longer delay.
    RetrySlowly,
    Fatal,
}

impl ModelError {
    pub fn recovery(&self) -> Recovery {
        match self {
            ModelError::Http { status, code, .. } => recovery_for(Some(*status), code.as_deref()),
            ModelError::InStream { code, .. } => recovery_for(None, code.as_deref()),
            ModelError::Transport(_)
            | ModelError::StreamCut
            | ModelError::Idle(_)
            | ModelError::BadEvent(_)
            | ModelError::NetworkError => Recovery::Retry,
            ModelError::Sensitive | ModelError::ContextWindowExceeded | ModelError::Cancelled => {
                Recovery::Fatal
            }
        }
    }

    /// What the provider answered, where it answered at all.
    fn answer(&self) -> Option<ProviderAnswer<'_>> {
        match self {
            ModelError::Http {
                status,
                code,
                kind,
                message,
                ..
            } => Some(ProviderAnswer {
                status: Some(*status),
                code: code.as_deref(),
                kind: kind.as_deref(),
                message,
            }),
            ModelError::InStream { code, message } => Some(ProviderAnswer {
                status: None,
                code: code.as_deref(),
                kind: None,
                message,
            }),
            ModelError::Transport(_)
            | ModelError::StreamCut
            | ModelError::Idle(_)
            | ModelError::BadEvent(_)
            | ModelError::NetworkError
            | ModelError::Sensitive
            | ModelError::ContextWindowExceeded
            | ModelError::Cancelled => None,
        }
    }

    /// The HTTP status and GLM business code the provider answered with, where it did.
    fn status_and_code(&self) -> (Option<u16>, Option<&str>) {
        self.answer()
            .map_or((None, None), |answer| (answer.status, answer.code))
    }

    /// The request was too long for the model: compacting the conversation may help. Each
    /// server says so its own way: GLM's code 1261, OpenAI's `context_length_exceeded`,
    /// llama.cpp's `exceed_context_size_error`, vLLM's "maximum context length" message.
    pub fn is_context_overflow(&self) -> bool {
        if matches!(self, ModelError::ContextWindowExceeded) {
            return true;
        }
        let Some(answer) = self.answer() else {
            return false;
        };
        let said = |what: &str| answer.code == Some(what) || answer.kind == Some(what);
        said("1261")
            || said("context_length_exceeded")
            || said("exceed_context_size_error")
            || (matches!(answer.status, None | Some(400 | 413 | 422))
                && mentions_context_length(answer.message))
    }

    /// The provider asked us to slow down (429, or GLM's rate and overload codes).
    pub fn is_rate_limit(&self) -> bool {
        match self.status_and_code() {
            (Some(429), _) => true,
            (_, code) => matches!(code, Some("1302" | "1303" | "1305" | "1312")),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A hint for the user on a fatal error, if we know one.
    pub fn hint(&self) -> Option<&'static str> {
        match self.status_and_code() {
            (Some(401 | 403), _) => {
                Some("check the API key (AGENT_API_KEY, ZAI_API_KEY or ZHIPUAI_API_KEY)")
            }
            (_, Some("1113")) => Some("the account has no balance left"),
            (_, Some("1304" | "1308" | "1310")) => {
                Some("a usage cap was reached; it resets at the time given above")
            }
            (_, Some("1211")) => Some("unknown model: check --model"),
            (_, Some("1261")) => Some("the prompt is longer than the model's context window"),
            _ => None,
        }
    }
}

/// Whether an error message says the prompt is longer than the model's context.
fn mentions_context_length(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "maximum context length",
        "context length",
        "context size",
        "context window",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

fn recovery_for(status: Option<u16>, code: Option<&str>) -> Recovery {
    match code {
        Some("1113" | "1304" | "1308" | "1310" | "1210" | "1211" | "1214" | "1261" | "1301") => {
            return Recovery::Fatal;
        }
        Some("1305" | "1312") => return Recovery::RetrySlowly,
        Some("1302" | "1303") => return Recovery::Retry,
        _ => {}
    }
    match status {
        Some(429 | 408 | 409) => Recovery::Retry,
        Some(status) if status >= 500 => Recovery::Retry,
        Some(_) => Recovery::Fatal,
        // An error frame inside a 200 stream with an unknown code: worth another try.
        None => Recovery::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, code: Option<&str>) -> ModelError {
        ModelError::Http {
            status,
            code: code.map(str::to_string),
            kind: None,
            message: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn business_codes_decide_recovery() {
        assert_eq!(http(429, Some("1302")).recovery(), Recovery::Retry);
        assert_eq!(http(429, Some("1113")).recovery(), Recovery::Fatal);
        assert_eq!(http(503, Some("1305")).recovery(), Recovery::RetrySlowly);
        assert_eq!(http(500, None).recovery(), Recovery::Retry);
        assert_eq!(http(400, Some("1214")).recovery(), Recovery::Fatal);
        assert_eq!(http(401, None).recovery(), Recovery::Fatal);
        assert_eq!(ModelError::StreamCut.recovery(), Recovery::Retry);
    }

    #[test]
    fn too_long_prompts_are_told_apart() {
        assert!(http(400, Some("1261")).is_context_overflow());
        assert!(ModelError::ContextWindowExceeded.is_context_overflow());
        assert!(!http(400, Some("1214")).is_context_overflow());
        assert!(!ModelError::StreamCut.is_context_overflow());
    }

    #[test]
    fn other_servers_saying_the_prompt_is_too_long_are_understood() {
        let error =
            |status: u16, code: Option<&str>, kind: Option<&str>, message: &str| ModelError::Http {
                status,
                code: code.map(str::to_string),
                kind: kind.map(str::to_string),
                message: message.to_string(),
                retry_after: None,
            };
        let llama_cpp = error(
            400,
            Some("400"),
            Some("exceed_context_size_error"),
            "request (3030 tokens) exceeds the available context size (2048 tokens), try increasing it",
        );
        let openai = error(
            400,
            Some("context_length_exceeded"),
            Some("invalid_request_error"),
            "This model's maximum context length is 128000 tokens.",
        );
        let vllm = error(
            400,
            None,
            Some("BadRequestError"),
            "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens",
        );
        assert!(llama_cpp.is_context_overflow());
        assert!(openai.is_context_overflow());
        assert!(vllm.is_context_overflow());
        assert!(!error(400, None, None, "unknown field `tools`").is_context_overflow());
        assert!(!error(500, None, None, "context window of the cache").is_context_overflow());
    }
}
