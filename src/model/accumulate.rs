/*!
Accumulating a stream's deltas into one assistant turn: reasoning, content, and tool calls
assembled by `index` (ids and names arrive once, arguments whole or in pieces).
*/

use super::wire::{Chunk, FunctionCall, Message, ToolCallMessage, Usage};

/// One assistant turn, received whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    pub reasoning: String,
    pub content: String,
    pub tool_calls: Vec<ToolCallMessage>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

/// What a chunk added, for live display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Reasoning(String),
    Content(String),
}

#[derive(Debug, Default)]
pub struct Accumulator {
    turn: Turn,
    /// Stream index of each call in `turn.tool_calls`, in arrival order.
    indexes: Vec<usize>,
    /// How long the content was when last checked for a loop within a line.
    checked_at: usize,
}

impl Accumulator {
    /// Folds one chunk in; returns the text pieces it carried.
    pub fn push(&mut self, chunk: Chunk) -> Vec<Piece> {
        let mut pieces = Vec::new();
        if let Some(usage) = chunk.usage {
            self.turn.usage = Some(usage);
        }
        for choice in chunk.choices {
            if let Some(text) = choice
                .delta
                .reasoning_content
                .filter(|text| !text.is_empty())
            {
                self.turn.reasoning.push_str(&text);
                pieces.push(Piece::Reasoning(text));
            }
            if let Some(text) = choice.delta.content.filter(|text| !text.is_empty()) {
                self.turn.content.push_str(&text);
                pieces.push(Piece::Content(text));
            }
            for (position, delta) in choice
                .delta
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let index = delta.index.unwrap_or(position);
                let slot = match self.indexes.iter().position(|&known| known == index) {
                    Some(slot) => slot,
                    None => {
                        self.indexes.push(index);
                        self.turn.tool_calls.push(ToolCallMessage {
                            id: String::new(),
                            kind: "function".into(),
                            function: FunctionCall {
                                name: String::new(),
                                arguments: String::new(),
                            },
                        });
                        self.turn.tool_calls.len() - 1
                    }
                };
                let call = &mut self.turn.tool_calls[slot];
                if let Some(id) = delta.id.filter(|id| !id.is_empty()) {
                    call.id = id;
                }
                if let Some(function) = delta.function {
                    if let Some(name) = function.name.filter(|name| !name.is_empty()) {
                        call.function.name = name;
                    }
                    if let Some(arguments) = function.arguments {
                        call.function.arguments.push_str(&arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                self.turn.finish_reason = choice.finish_reason;
            }
        }
        pieces
    }

    /// Whether the content now ends in a loop ([`super::loops`]); if so it is cut after the
    /// repeated block's first time and the turn ends there (`finish_reason` "repetition").
    pub fn cut_loop(&mut self) -> bool {
        let content = &self.turn.content;
        // The in-line check reads up to a few hundred bytes a period: every 64 bytes is enough.
        let text_check = content.len() >= self.checked_at + 64;
        let keep = super::loops::line_loop(content).or_else(|| {
            text_check
                .then(|| super::loops::text_loop(content))
                .flatten()
        });
        if text_check {
            self.checked_at = content.len();
        }
        let Some(keep) = keep else {
            return false;
        };
        self.turn.content.truncate(keep);
        self.turn.finish_reason = Some("repetition".into());
        true
    }

    /// The finished turn; calls that came without an id get a stable one.
    pub fn finish(mut self) -> Turn {
        for (number, call) in self.turn.tool_calls.iter_mut().enumerate() {
            if call.id.is_empty() {
                call.id = format!("call_{number}");
            }
        }
        self.turn
    }
}

impl Turn {
    /// The turn as it goes back into history, reasoning kept byte for byte.
    pub fn to_message(&self) -> Message {
        Message::Assistant {
            content: self.content.clone(),
            reasoning_content: (!self.reasoning.is_empty()).then(|| self.reasoning.clone()),
            tool_calls: self.tool_calls.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(text: &str) -> Chunk {
        serde_json::from_value(
            serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]}),
        )
        .unwrap()
    }

    #[test]
    fn a_line_or_block_written_again_and_again_is_cut_after_its_first_time() {
        let mut accumulator = Accumulator::default();
        accumulator.push(content("I will edit it:\n"));
        let call = "{\"name\": \"edit_file\", \"arguments\": {\"path\": \"x\"}}\n";
        for _ in 0..7 {
            accumulator.push(content(call));
            assert!(!accumulator.cut_loop());
        }
        accumulator.push(content(call));
        assert!(accumulator.cut_loop());
        let turn = accumulator.finish();
        assert_eq!(
            (turn.content, turn.finish_reason),
            (
                format!("I will edit it:\n{call}"),
                Some("repetition".to_string())
            )
        );
        let mut accumulator = Accumulator::default();
        let block = "- check the input\n- fix the output\n";
        let mut cut = 0;
        for _ in 0..5 {
            accumulator.push(content(block));
            cut += usize::from(accumulator.cut_loop());
        }
        assert_eq!((cut, accumulator.finish().content), (1, block.to_string()));
        // Short lines (a closing brace, a blank line) repeat in real code.
        let mut accumulator = Accumulator::default();
        accumulator.push(content(&"}\n".repeat(12)));
        assert!(!accumulator.cut_loop());
    }

    fn chunk(json: &str) -> Chunk {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn deltas_fold_into_one_turn() {
        let mut accumulator = Accumulator::default();
        let events = [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"look."}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Reading."}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"search","arguments":"{\"pattern\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a.rs\"}"}},{"index":1,"function":{"arguments":"\"x\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":64}}}"#,
        ];
        let mut pieces = Vec::new();
        for event in events {
            pieces.extend(accumulator.push(chunk(event)));
        }
        assert_eq!(
            pieces,
            vec![
                Piece::Reasoning("Let me ".into()),
                Piece::Reasoning("look.".into()),
                Piece::Content("Reading.".into())
            ]
        );
        let call = |id: &str, name: &str, arguments: &str| ToolCallMessage {
            id: id.into(),
            kind: "function".into(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        };
        assert_eq!(
            accumulator.finish(),
            Turn {
                reasoning: "Let me look.".into(),
                content: "Reading.".into(),
                tool_calls: vec![
                    call("call_a", "read_file", r#"{"path":"a.rs"}"#),
                    call("call_b", "search", r#"{"pattern":"x"}"#)
                ],
                finish_reason: Some("tool_calls".into()),
                usage: Some(Usage {
                    prompt_tokens: 100,
                    completion_tokens: 20,
                    cached_tokens: 64
                }),
            }
        );
    }

    #[test]
    fn whole_arguments_objects_and_missing_ids() {
        let mut accumulator = Accumulator::default();
        accumulator.push(chunk(
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"list_files","arguments":{"path":"src"}}}]},"finish_reason":"tool_calls"}]}"#,
        ));
        let turn = accumulator.finish();
        assert_eq!(turn.tool_calls[0].id, "call_0");
        assert_eq!(turn.tool_calls[0].function.arguments, r#"{"path":"src"}"#);
    }
}
