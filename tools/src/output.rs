/*!
What a tool gives back to the model, and the head+tail truncation every large output goes through.
*/

use serde::{Deserialize, Serialize};

/// Whether the tool did what was asked. An error is still a normal result for the model to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Success,
    Error,
}

/// The text sent back to the model as the `tool` message, with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolOutput {
    pub status: ToolStatus,
    pub content: String,
}

impl ToolOutput {
    pub fn success(content: impl Into<String>) -> Self {
        Self {
            status: ToolStatus::Success,
            content: content.into(),
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        Self {
            status: ToolStatus::Error,
            content: content.into(),
        }
    }
}

/// Keeps the first and last `limit / 2` bytes of `text` (on char boundaries) with a marker saying
/// how much was cut in between. Texts within `limit` are returned unchanged.
pub fn truncate_head_tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let half = limit / 2;
    let head_end = floor_char_boundary(text, half);
    let tail_start = ceil_char_boundary(text, text.len() - half);
    let cut = tail_start - head_end;
    format!(
        "{}\n[... {cut} bytes cut ...]\n{}",
        &text[..head_end],
        &text[tail_start..]
    )
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate_head_tail("hello", 10), "hello");
    }

    #[test]
    fn long_text_keeps_head_and_tail_with_marker() {
        let text = format!("{}{}{}", "a".repeat(10), "b".repeat(100), "c".repeat(10));
        assert_eq!(
            truncate_head_tail(&text, 20),
            format!(
                "{}\n[... 100 bytes cut ...]\n{}",
                "a".repeat(10),
                "c".repeat(10)
            )
        );
    }

    #[test]
    fn multibyte_boundaries_are_respected() {
        let text = "é".repeat(100);
        assert_eq!(
            truncate_head_tail(&text, 11),
            "éé\n[... 192 bytes cut ...]\néé"
        );
    }
}
