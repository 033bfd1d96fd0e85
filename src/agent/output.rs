/*!
Structured output: the final answer must be one JSON value valid against a JSON Schema the user
gave (`--output-schema`, a batch task's `output_schema`). An answer that is not is sent back with
what failed, a few times, with the provider's JSON mode on; the validated value is what the run
returns.
*/

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::protocol::modes::ProviderKind;

/// How many times an invalid answer is sent back before the run gives up.
pub const MAX_CORRECTIONS: u32 = 3;

/// A JSON Schema the final answer must satisfy.
#[derive(Debug, Clone)]
pub struct OutputSchema {
    schema: Value,
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl OutputSchema {
    /// Reads a schema file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the output schema {}", path.display()))?;
        let schema = serde_json::from_str(&text)
            .with_context(|| format!("the output schema {} is not JSON", path.display()))?;
        Self::new(schema).with_context(|| format!("in {}", path.display()))
    }

    pub fn new(schema: Value) -> Result<Self> {
        let validator = match jsonschema::validator_for(&schema) {
            Ok(validator) => validator,
            Err(error) => bail!("not a valid JSON Schema: {error}"),
        };
        Ok(Self {
            schema,
            validator: std::sync::Arc::new(validator),
        })
    }

    /// The answer's JSON value, or what is wrong with it, in words for the model.
    pub fn check(&self, answer: &str) -> Result<Value, String> {
        let text = unfenced(answer);
        let value: Value = serde_json::from_str(text)
            .map_err(|error| format!("the answer is not one JSON value ({error})"))?;
        let problems: Vec<String> = self
            .validator
            .iter_errors(&value)
            .map(|error| {
                let path = error.instance_path().to_string();
                let at = if path.is_empty() { "/" } else { path.as_str() };
                format!("at {at}: {error}")
            })
            .collect();
        match problems.is_empty() {
            true => Ok(value),
            false => Err(problems.join("\n")),
        }
    }

    /// The `response_format` for correction requests: GLM knows JSON mode only; OpenAI-style
    /// servers take the schema itself.
    pub fn response_format(&self, kind: ProviderKind) -> Value {
        match kind {
            ProviderKind::Glm => json!({"type": "json_object"}),
            ProviderKind::Openai => json!({
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": true, "schema": self.schema},
            }),
        }
    }

    /// What the model is told when its answer does not validate.
    pub fn correction(&self, problems: &str) -> String {
        format!(
            "[from the agent] Your final answer must be a single JSON value valid against this JSON Schema:\n{}\n\nIt is not:\n{problems}\n\nAnswer again with only the corrected JSON value, no other text.",
            self.schema
        )
    }
}

/// The answer without surrounding whitespace and without a Markdown code fence around it.
fn unfenced(answer: &str) -> &str {
    let trimmed = answer.trim();
    let Some(inner) = trimmed
        .strip_prefix("```")
        .and_then(|rest| rest.strip_suffix("```"))
    else {
        return trimmed;
    };
    // Drop the info string (`json`) on the opening line.
    match inner.split_once('\n') {
        Some((info, body)) if !info.trim_start().starts_with(['{', '[']) => body.trim(),
        _ => inner.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> OutputSchema {
        OutputSchema::new(json!({
            "type": "object",
            "properties": {"files": {"type": "integer"}, "ok": {"type": "boolean"}},
            "required": ["files", "ok"],
            "additionalProperties": false
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_answer_gives_its_value_fenced_or_not() {
        let expected = json!({"files": 3, "ok": true});
        assert_eq!(
            schema().check(r#"{"files": 3, "ok": true}"#),
            Ok(expected.clone())
        );
        assert_eq!(
            schema().check("```json\n{\"files\": 3, \"ok\": true}\n```\n"),
            Ok(expected)
        );
    }

    #[test]
    fn an_invalid_answer_says_what_failed_where() {
        assert_eq!(
            schema().check(r#"{"files": "three", "ok": true}"#),
            Err(r#"at /files: "three" is not of type "integer""#.to_string())
        );
        assert!(
            schema()
                .check("Done! 3 files.")
                .unwrap_err()
                .starts_with("the answer is not one JSON value")
        );
    }

    #[test]
    fn a_schema_that_is_not_one_is_refused() {
        assert!(OutputSchema::new(json!({"type": "no-such-type"})).is_err());
    }
}
