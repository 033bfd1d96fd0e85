/*!
Tool calls a model wrote as text instead of `tool_calls`: small and local models often do
(Qwen-style ```` ```json {"name": …, "arguments": …} ``` ```` blocks or
`<tool_call>{…}</tool_call>`), and GLM served without the right parser leaks its own form,
`<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value></tool_call>`.

A reply is taken as calls only when it begins with such calls, each naming a tool that was
offered, with arguments that parse into an object; anything else stays text. Text after the
calls is what small models write next: the outcome they imagine before any result came back
("I found the bug and fixed it"). It is set aside, and the model is told so with the results.
*/

use serde_json::{Map, Value};

use super::wire::{FunctionCall, ToolCallMessage, ToolDefinition};

/// Calls recovered from a reply's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub calls: Vec<ToolCallMessage>,
    /// What the reply went on to say after its calls, before any result: set aside.
    pub set_aside: Option<String>,
}

/// The calls `content` begins with, or None when it does not begin with calls of offered tools.
pub fn recover(content: &str, tools: &[ToolDefinition], id_prefix: &str) -> Option<Recovered> {
    let mut rest = content.trim();
    let mut calls = Vec::new();
    while let Some((found, after)) = next_calls(rest, tools) {
        calls.extend(found);
        rest = after.trim_start();
    }
    if calls.is_empty() {
        return None;
    }
    let calls = calls
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
        .collect();
    let set_aside = (!rest.is_empty()).then(|| rest.to_string());
    Some(Recovered { calls, set_aside })
}

/// The tool a reply begins by calling in text when that tool was not offered (a call-shaped
/// JSON object with a `name` and `arguments`): small models make up tools named after the task.
pub fn unoffered_call(content: &str, tools: &[ToolDefinition]) -> Option<String> {
    let text = content.trim();
    let body = if let Some(fenced) = text.strip_prefix("```") {
        let (_, body) = fenced.split_once('\n')?;
        body.split_once("```").map_or(body, |(body, _)| body)
    } else if let Some(inner) = text.strip_prefix("<tool_call>") {
        inner
            .split_once("</tool_call>")
            .map_or(inner, |(body, _)| body)
    } else {
        text
    };
    let value = serde_json::Deserializer::from_str(body.trim())
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let call = value.get("function").unwrap_or(&value);
    let name = call.get("name")?.as_str()?;
    let call_shaped = call
        .get("arguments")
        .or_else(|| call.get("parameters"))
        .is_some();
    (call_shaped && offered(name, tools).is_none()).then(|| name.to_string())
}

type Call = (String, Map<String, Value>);

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
            json_call(&serde_json::from_str(body).ok()?, tools)?
        } else {
            xml_call(body, tools)?
        };
        return Some((vec![call], after));
    }
    if let Some(fenced) = text.strip_prefix("```") {
        let (info, body) = fenced.split_once('\n')?;
        if !matches!(info.trim(), "" | "json" | "tool_call" | "tool_code") {
            return None;
        }
        let (body, after) = body.split_once("```")?;
        return Some((
            json_calls(&serde_json::from_str(body.trim()).ok()?, tools)?,
            after,
        ));
    }
    if text.starts_with(['{', '[']) {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let value = values.next()?.ok()?;
        let after = &text[values.byte_offset()..];
        return Some((json_calls(&value, tools)?, after));
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

/// `{"name", "arguments" | "parameters"}`, or the same inside `{"function": …}`.
fn json_call(value: &Value, tools: &[ToolDefinition]) -> Option<Call> {
    let call = value.get("function").unwrap_or(value);
    let name = call.get("name")?.as_str()?;
    offered(name, tools)?;
    let arguments = match call.get("arguments").or_else(|| call.get("parameters")) {
        None => Map::new(),
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
    let parameters = &offered(name, tools)?.function.parameters;
    let mut arguments = Map::new();
    while !rest.trim().is_empty() {
        let after_key = rest.trim_start().strip_prefix("<arg_key>")?;
        let (key, after) = after_key.split_once("</arg_key>")?;
        let after_value = after.trim_start().strip_prefix("<arg_value>")?;
        let (raw, after) = after_value.split_once("</arg_value>")?;
        let key = key.trim();
        let is_text = parameters["properties"][key]["type"].as_str() == Some("string");
        let value = match is_text {
            true => Value::String(raw.to_string()),
            false => serde_json::from_str(raw.trim()).unwrap_or_else(|_| Value::String(raw.into())),
        };
        arguments.insert(key.to_string(), value);
        rest = after;
    }
    Some((name.to_string(), arguments))
}

fn offered<'t>(name: &str, tools: &'t [ToolDefinition]) -> Option<&'t ToolDefinition> {
    tools.iter().find(|tool| tool.function.name == name)
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
        recover(content, &tools(), "t").map(|recovered| {
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
        let recovered = recover(reply, &tools(), "t").unwrap();
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
    fn a_call_of_a_tool_not_offered_is_named() {
        let made_up =
            "```json\n{\"name\": \"last\", \"arguments\": {\"sequence\": [1, 2, 3]}}\n```";
        assert_eq!(unoffered_call(made_up, &tools()), Some("last".into()));
        let real = "```json\n{\"name\": \"search\", \"arguments\": {}}\n```";
        assert_eq!(unoffered_call(real, &tools()), None);
        assert_eq!(unoffered_call(r#"{"name": "Ada"}"#, &tools()), None);
        assert_eq!(unoffered_call("The fix is done.", &tools()), None);
    }

    #[test]
    fn anything_but_calls_of_offered_tools_stays_text() {
        assert_eq!(
            calls(
                "I will read it.\n```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}\n```"
            ),
            None
        );
        assert_eq!(
            calls(r#"{"name": "delete_everything", "arguments": {}}"#),
            None
        );
        assert_eq!(
            calls(r#"{"name": "read_file", "arguments": "not json"}"#),
            None
        );
        assert_eq!(calls(r#"{"files": 2}"#), None);
        assert_eq!(calls("```python\nprint(1)\n```"), None);
        assert_eq!(calls(""), None);
    }
}
