/*!
Asking an OpenAI-compatible server how large its context window is. Local servers often run
with 4k–32k tokens while the model could take more, and a wrong guess means compacting too late
(the server refuses the prompt) or too early. llama.cpp says it in `GET /props` (`n_ctx`), vLLM in
`GET /v1/models` (`max_model_len`), Ollama in `POST /api/show` (`num_ctx` among the model's
parameters). Every probe is short and all run at once; a server that answers none of them is
left to the setting.
*/

use std::time::Duration;

use serde_json::{Value, json};

use super::transport;
use crate::config::{Settings, WindowSource};

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Settles the context window, `max_tokens` and temperature of `settings`: an `openai` server
/// with no configured window is asked for its own.
pub async fn settle_for_server(settings: &mut Settings) {
    if settings.window_source == WindowSource::Assumed {
        let window = match transport::http_client() {
            Ok(http) => {
                context_window(
                    &http,
                    &settings.base_url,
                    &settings.model,
                    &settings.api_key,
                )
                .await
            }
            Err(_) => None,
        };
        if let Some(window) = window {
            settings.adopt_server_window(window.tokens, window.source);
        }
    }
    settings.settle_max_tokens();
    settings.settle_temperature();
}

/// A context window a server reported, and where it said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerWindow {
    pub tokens: u64,
    pub source: &'static str,
}

/// The context window the server at `base_url` reports for `model`, if it reports one.
pub async fn context_window(
    http: &reqwest::Client,
    base_url: &str,
    model: &str,
    api_key: &str,
) -> Option<ServerWindow> {
    let root = server_root(base_url);
    let get = |url: String| {
        let request = http.get(url).bearer_auth(api_key);
        fetch_json(request)
    };
    let show = http
        .post(format!("{root}/api/show"))
        .json(&json!({"model": model}));
    let (props, models, shown) = tokio::join!(
        get(format!("{root}/props")),
        get(format!("{base_url}/models")),
        fetch_json(show),
    );
    let found = [
        props
            .as_ref()
            .and_then(llama_cpp_window)
            .map(|tokens| (tokens, "llama.cpp's /props")),
        models
            .as_ref()
            .and_then(|models| vllm_window(models, model))
            .map(|tokens| (tokens, "the server's /models (max_model_len)")),
        shown
            .as_ref()
            .and_then(ollama_window)
            .map(|tokens| (tokens, "Ollama's /api/show (num_ctx)")),
    ];
    found
        .into_iter()
        .flatten()
        .find(|(tokens, _)| *tokens > 0)
        .map(|(tokens, source)| ServerWindow { tokens, source })
}

/// The server's own root: the base URL without its API version (`/v1`).
fn server_root(base_url: &str) -> &str {
    match base_url.rsplit_once('/') {
        Some((root, last))
            if last.len() > 1
                && last.starts_with('v')
                && last[1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            root
        }
        _ => base_url,
    }
}

async fn fetch_json(request: reqwest::RequestBuilder) -> Option<Value> {
    let response = request.timeout(PROBE_TIMEOUT).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let bytes = tokio::time::timeout(PROBE_TIMEOUT, response.bytes())
        .await
        .ok()?
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn llama_cpp_window(props: &Value) -> Option<u64> {
    props["default_generation_settings"]["n_ctx"]
        .as_u64()
        .or_else(|| props["n_ctx"].as_u64())
}

fn vllm_window(models: &Value, model: &str) -> Option<u64> {
    let listed = models["data"].as_array()?;
    let entry = listed
        .iter()
        .find(|entry| entry["id"].as_str() == Some(model))
        .or_else(|| (listed.len() == 1).then(|| &listed[0]))?;
    entry["max_model_len"].as_u64()
}

fn ollama_window(shown: &Value) -> Option<u64> {
    shown["parameters"].as_str()?.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("num_ctx"), Some(value)) => value.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_says_it_its_own_way() {
        assert_eq!(
            llama_cpp_window(&json!({"default_generation_settings": {"n_ctx": 2048}})),
            Some(2048)
        );
        assert_eq!(
            vllm_window(
                &json!({"data": [{"id": "a", "max_model_len": 1}, {"id": "qwen", "max_model_len": 32768}]}),
                "qwen"
            ),
            Some(32768)
        );
        assert_eq!(
            ollama_window(&json!({"parameters": "stop \"<|im_end|>\"\nnum_ctx 8192\n"})),
            Some(8192)
        );
        assert_eq!(
            ollama_window(&json!({"parameters": "temperature 0.2"})),
            None
        );
    }

    #[test]
    fn the_root_drops_the_api_version() {
        assert_eq!(
            server_root("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_root("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_root("https://example.com/api/paas/v4"),
            "https://example.com/api/paas"
        );
    }
}
