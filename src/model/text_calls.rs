/*!
Tool calls a model wrote as text instead of `tool_calls`: small and local models often do
(Qwen-style ```` ```json {"name": …, "arguments": …} ``` ```` blocks or
`<tool_call>{…}</tool_call>`), and GLM served without the right parser leaks its own form,
`<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value></tool_call>`.

A reply holds calls when a line of it begins a run of such calls, each with arguments that parse
into an object. Text before them is the model's own words, as llama.cpp's and vLLM's parsers of
these forms take it ("Verification with run_command:" then the call). Text after them is what
small models write next: the outcome they imagine before any result came back ("I found the bug
and fixed it"). It is set aside, and a line after the results says so. A call-shaped object
naming a tool that was not offered is a call too: the model means a call (small models make up
tools named after the task), and its result, the list of the tools there are, says what to do.
A call of an offered tool that does not parse (a quote left unescaped in a file's content) is
not run and not taken for the answer: the model is told what was wrong, as for any malformed call.
*/

use agent_tools::ToolName;
use serde_json::{Map, Value};

use super::stray_quotes::parse_lenient;
use super::wire::{FunctionCall, ToolCallMessage, ToolDefinition};

/// What a reply without `tool_calls` wrote as calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Calls(Recovered),
    /// A call of the offered tool `name` that is not valid JSON, with what is wrong with it.
    Unparsable {
        name: String,
        error: String,
    },
}

/// Calls recovered from a reply's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub calls: Vec<ToolCallMessage>,
    /// What the reply went on to say after its calls, before any result: set aside.
    pub set_aside: Option<String>,
}

/// The calls `content` holds (from the first line that begins one), or the call it tried to
/// write and could not; None when it holds no call.
pub fn recover(content: &str, tools: &[ToolDefinition], id_prefix: &str) -> Option<Written> {
    match calls_in(content, tools, id_prefix) {
        Some(recovered) => Some(Written::Calls(recovered)),
        None => unparsable(content, tools),
    }
}

/// Calls with ids `{id_prefix}0`, `{id_prefix}1`, …
fn numbered(calls: Vec<Call>, id_prefix: &str) -> Vec<ToolCallMessage> {
    calls
        .into_iter()
        .enumerate()
        .map(|(number, (name, arguments))| ToolCallMessage {
            id: format!("{id_prefix}{number}"),
            kind: "function".into(),
            function: FunctionCall {
                name,
                arguments: Value::Object(arguments).to_string(),
            },
        })
        .collect()
}

fn calls_in(content: &str, tools: &[ToolDefinition], id_prefix: &str) -> Option<Recovered> {
    let (mut calls, mut rest) =
        line_starts(content).find_map(|start| next_calls(content[start..].trim_start(), tools))?;
    rest = rest.trim_start();
    while let Some((found, after)) = next_calls(rest, tools) {
        calls.extend(found);
        rest = after.trim_start();
    }
    let calls = numbered(calls, id_prefix);
    let set_aside = (!rest.is_empty()).then(|| rest.to_string());
    Some(Recovered { calls, set_aside })
}

type Call = (String, Map<String, Value>);

/// The first block of `content` that begins like a call of an offered tool (`{"name":
/// "read_file", …`) but is not one: its JSON does not parse, or its arguments are no object.
fn unparsable(content: &str, tools: &[ToolDefinition]) -> Option<Written> {
    line_starts(content).find_map(|start| {
        let body = block_body(content[start..].trim_start())?;
        let name = called_name(body).filter(|name| known(name, tools))?;
        let error = match serde_json::from_str::<Value>(body) {
            Err(error) => error.to_string(),
            Ok(value) if json_calls(&value, tools).is_none() => {
                "its arguments are not one JSON object".to_string()
            }
            Ok(_) => return None,
        };
        Some(Written::Unparsable {
            name: name.to_string(),
            error,
        })
    })
}

/// The JSON text of a fenced or tagged block (or of a line that begins with `{`).
fn block_body(text: &str) -> Option<&str> {
    let (body, end) = if let Some(inner) = text.strip_prefix("<tool_call>") {
        (inner, "</tool_call>")
    } else if let Some(body) = fenced_call(text) {
        (body?, "```")
    } else {
        (text, "```")
    };
    let body = body.split_once(end).map_or(body, |(body, _)| body).trim();
    body.starts_with('{').then_some(body)
}

/// The `"name"` a call-shaped text gives, read without parsing the rest of it.
fn called_name(body: &str) -> Option<&str> {
    let end = body
        .char_indices()
        .nth(200)
        .map_or(body.len(), |(at, _)| at);
    let head = &body[..end];
    let after = head[head.find("\"name\"")? + "\"name\"".len()..].trim_start();
    let quoted = after.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    tool_name(&quoted[..quoted.find('"')?])
}

/// What follows the opening line of a code fence `text` begins with (None: no fence), when the
/// fence may hold a call: no language, or one that calls are written in (`Some(None)` otherwise).
fn fenced_call(text: &str) -> Option<Option<&str>> {
    let fenced = text.strip_prefix("```")?;
    Some(
        fenced
            .split_once('\n')
            .filter(|(info, _)| matches!(info.trim(), "" | "json" | "tool_call" | "tool_code"))
            .map(|(_, body)| body),
    )
}

/// Where each line of `text` begins.
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1))
}

/// The calls at the start of `text`, and what follows them.
fn next_calls<'t>(text: &'t str, tools: &[ToolDefinition]) -> Option<(Vec<Call>, &'t str)> {
    if let Some(inner) = text.strip_prefix("<tool_call>") {
        let (body, after) = match inner.split_once("</tool_call>") {
            Some((body, after)) => (body, after),
            // Models stop at the closing tag's first token often enough.
            None => (inner, ""),
        };
        let body = body.trim();
        let call = if body.starts_with('{') {
            json_call(&parse_lenient(body)?, tools)?
        } else {
            xml_call(body, tools)?
        };
        return Some((vec![call], after));
    }
    if let Some(body) = fenced_call(text) {
        let (body, after) = body?.split_once("```")?;
        return Some((json_calls(&parse_lenient(body.trim())?, tools)?, after));
    }
    if text.starts_with(['{', '[']) {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        if let Some(Ok(value)) = values.next() {
            let after = &text[values.byte_offset()..];
            return Some((json_calls(&value, tools)?, after));
        }
        // Where the JSON is broken its end is unknown: the last bracket is the best guess.
        let end = text.rfind(['}', ']'])? + 1;
        return Some((
            json_calls(&parse_lenient(&text[..end])?, tools)?,
            &text[end..],
        ));
    }
    None
}

/// One call object, or an array of them.
fn json_calls(value: &Value, tools: &[ToolDefinition]) -> Option<Vec<Call>> {
    match value {
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|item| json_call(item, tools)).collect()
        }
        other => Some(vec![json_call(other, tools)?]),
    }
}

/// `{"name", "arguments" | "parameters"}`, or the same inside `{"function": …}`; for a tool not
/// offered the arguments must be there, or any object with a `name` would be taken for a call.
fn json_call(value: &Value, tools: &[ToolDefinition]) -> Option<Call> {
    let call = value.get("function").unwrap_or(value);
    let name = tool_name(call.get("name")?.as_str()?)?;
    let arguments = match call.get("arguments").or_else(|| call.get("parameters")) {
        None if known(name, tools) => Map::new(),
        None => return None,
        Some(Value::Object(arguments)) => arguments.clone(),
        Some(Value::String(text)) => match serde_json::from_str(text).ok()? {
            Value::Object(arguments) => arguments,
            _ => return None,
        },
        Some(_) => return None,
    };
    Some((name.to_string(), arguments))
}

/// GLM's `NAME<arg_key>K</arg_key><arg_value>V</arg_value>…`: a value is text where the tool's
/// schema says string, JSON otherwise.
fn xml_call(body: &str, tools: &[ToolDefinition]) -> Option<Call> {
    let (name, mut rest) = match body.find("<arg_key>") {
        Some(start) => (body[..start].trim(), &body[start..]),
        None => (body.trim(), ""),
    };
    let name = tool_name(name)?;
    let parameters = schema_of(name, tools);
    let mut arguments = Map::new();
    while !rest.trim().is_empty() {
        let after_key = rest.trim_start().strip_prefix("<arg_key>")?;
        let (key, after) = after_key.split_once("</arg_key>")?;
        let after_value = after.trim_start().strip_prefix("<arg_value>")?;
        let (raw, after) = after_value.split_once("</arg_value>")?;
        let key = key.trim();
        let is_text = parameters
            .as_ref()
            .is_some_and(|schema| schema["properties"][key]["type"].as_str() == Some("string"));
        let value = match is_text {
            true => Value::String(raw.to_string()),
            false => serde_json::from_str(raw.trim()).unwrap_or_else(|_| Value::String(raw.into())),
        };
        arguments.insert(key.to_string(), value);
        rest = after;
    }
    Some((name.to_string(), arguments))
}

/// A name that can be a tool's: one word of letters, digits, `_`, `-` and `.`.
fn tool_name(name: &str) -> Option<&str> {
    let word = |c: char| c.is_alphanumeric() || "_-.".contains(c);
    (!name.is_empty() && name.chars().all(word)).then_some(name)
}

/// A tool offered, or one of ours that this model's edit format left out (a model that calls
/// `apply_diff` where `edit_file` is offered means an edit all the same, and it runs).
fn known(name: &str, tools: &[ToolDefinition]) -> bool {
    tools.iter().any(|tool| tool.function.name == name) || ToolName::parse(name).is_ok()
}

/// The JSON schema of a known tool's arguments.
fn schema_of(name: &str, tools: &[ToolDefinition]) -> Option<Value> {
    match tools.iter().find(|tool| tool.function.name == name) {
        Some(tool) => Some(tool.function.parameters.clone()),
        None => ToolName::parse(name)
            .ok()
            .map(|tool| tool.spec().parameters),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools() -> Vec<ToolDefinition> {
        let read = json!({"type": "object", "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}}});
        let search = json!({"type": "object", "properties": {"pattern": {"type": "string"}}});
        vec![
            ToolDefinition::function("read_file".into(), String::new(), read),
            ToolDefinition::function("search".into(), String::new(), search),
        ]
    }

    fn calls(content: &str) -> Option<Vec<(String, Value)>> {
        calls_in(content, &tools(), "t").map(|recovered| {
            recovered
                .calls
                .into_iter()
                .map(|call| {
                    let arguments = serde_json::from_str(&call.function.arguments).unwrap();
                    (call.function.name, arguments)
                })
                .collect()
        })
    }

    fn read(path: &str) -> (String, Value) {
        ("read_file".into(), json!({"path": path}))
    }

    #[test]
    fn qwen_fenced_and_tagged_calls() {
        let fenced = "```json\n{\n  \"name\": \"read_file\",\n  \"arguments\": {\n    \"path\": \"calc.py\"\n  }\n}\n```";
        assert_eq!(calls(fenced), Some(vec![read("calc.py")]));
        let tagged = "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.py\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": \"{\\\"path\\\": \\\"b.py\\\"}\"}\n</tool_call>";
        assert_eq!(calls(tagged), Some(vec![read("a.py"), read("b.py")]));
        assert_eq!(
            calls(r#"[{"function": {"name": "read_file", "parameters": {"path": "c.py"}}}]"#),
            Some(vec![read("c.py")])
        );
    }

    #[test]
    fn glm_xml_calls_take_types_from_the_schema() {
        let xml = "<tool_call>read_file<arg_key>path</arg_key><arg_value>42</arg_value><arg_key>limit</arg_key><arg_value>10</arg_value></tool_call>";
        assert_eq!(
            calls(xml),
            Some(vec![(
                "read_file".into(),
                json!({"path": "42", "limit": 10})
            )])
        );
    }

    #[test]
    fn text_after_the_calls_is_set_aside() {
        let reply = "```json\n{\"name\": \"search\", \"arguments\": {\"pattern\": \"add\"}}\n```\nI searched and fixed the bug.";
        let recovered = calls_in(reply, &tools(), "t").unwrap();
        assert_eq!(
            recovered,
            Recovered {
                calls: vec![ToolCallMessage {
                    id: "t0".into(),
                    kind: "function".into(),
                    function: FunctionCall {
                        name: "search".into(),
                        arguments: r#"{"pattern":"add"}"#.into(),
                    },
                }],
                set_aside: Some("I searched and fixed the bug.".into()),
            }
        );
    }

    #[test]
    fn calls_after_the_models_own_words_are_calls() {
        let reply = "Changed `greet`.\n\nVerification with `search`:\n\n```json\n{\"name\": \"search\", \"arguments\": {\"pattern\": \"greet\"}}\n```";
        assert_eq!(
            calls(reply),
            Some(vec![("search".into(), json!({"pattern": "greet"}))])
        );
    }

    #[test]
    fn a_call_shaped_object_naming_a_tool_not_offered_is_a_call() {
        let made_up =
            "The fix:\n```json\n{\"name\": \"last\", \"arguments\": {\"sequence\": [1, 2]}}\n```";
        assert_eq!(
            calls(made_up),
            Some(vec![("last".into(), json!({"sequence": [1, 2]}))])
        );
        let glm = "<tool_call>done<arg_key>code</arg_key><arg_value>0</arg_value></tool_call>";
        assert_eq!(calls(glm), Some(vec![("done".into(), json!({"code": 0}))]));
    }

    #[test]
    fn quotes_left_unescaped_in_a_call_are_read_as_meant() {
        let sent = "<tools>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"say \"hi\".py\"}}\n</tools>";
        assert_eq!(calls(sent), Some(vec![read("say \"hi\".py")]));
    }

    #[test]
    fn a_call_that_does_not_parse_says_why() {
        let trailing_comma =
            "```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\",}}\n```";
        assert_eq!(
            recover(trailing_comma, &tools(), "t"),
            Some(Written::Unparsable {
                name: "read_file".into(),
                error: "trailing comma at line 1 column 49".into(),
            })
        );
        let not_an_object = r#"{"name": "search", "arguments": "pattern"}"#;
        assert_eq!(
            recover(not_an_object, &tools(), "t"),
            Some(Written::Unparsable {
                name: "search".into(),
                error: "its arguments are not one JSON object".into(),
            })
        );
        assert_eq!(recover(r#"{"name": "last", "x": }"#, &tools(), "t"), None);
    }

    #[test]
    fn a_long_call_in_any_script_is_read_without_splitting_a_character() {
        // Byte 200 falls inside an `é`; the name comes too late to be read.
        let long = format!(
            "{{\"x\": \"{}\", \"name\": \"search\", oops}}",
            "é".repeat(300)
        );
        assert_eq!(recover(&long, &tools(), "t"), None);
    }

    #[test]
    fn anything_but_calls_stays_text() {
        assert_eq!(calls(r#"{"name": "last"}"#), None);
        assert_eq!(calls(r#"{"name": "Ada Lovelace", "arguments": {}}"#), None);
        assert_eq!(
            calls(r#"{"name": "read_file", "arguments": "not json"}"#),
            None
        );
        assert_eq!(calls(r#"{"files": 2}"#), None);
        assert_eq!(calls("Call `{\"name\": \"read_file\"}` inline."), None);
        assert_eq!(calls("```python\nprint(1)\n```"), None);
        assert_eq!(calls("The fix is done."), None);
        assert_eq!(calls(""), None);
    }
}
