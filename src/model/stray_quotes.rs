/*!
Repairs the JSON mistakes small models make most when they write a call as text: quotes left
unescaped inside a string (a Python docstring `"""` in a file's content), raw line breaks, and a
value written as a Python triple-quoted string (`"content": """…"""`: Qwen2.5-Coder-1.5B sent
the same such call six times in a row on a bench task until the repeat guard stopped it).
Qwen2.5-Coder-1.5B knew the fix on half the bench tasks and sent it as a `write_file` call that
did not parse, again and again.

A `"` inside a string is taken as its end only where JSON allows what comes next (`,` `}` `]` `:`
or the end of the text); any other is escaped. It is used only on a call that failed to parse, and
kept only when the result parses into a call: a wrong guess leaves text that almost never does.
`llm_json` (the Rust port of json_repair) was tried first: it turned such a docstring into extra
keys and dropped the code after it.
*/

use serde_json::Value;

/// `text` parsed as JSON, or parsed after its triple-quoted values became JSON strings, or after
/// its stray quotes and raw line breaks were escaped.
pub fn parse_lenient(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&triple_quoted_as_json(text)?).ok())
        .or_else(|| serde_json::from_str(&escape_stray_quotes(text)).ok())
}

/// `text` with each value written `"""…"""` (after a `:`) as a JSON string of what it holds (a
/// line break right after the opening quotes is layout, as models write it, and left out).
/// None when there is no such value or one is not closed.
fn triple_quoted_as_json(text: &str) -> Option<String> {
    const QUOTES: &str = "\"\"\"";
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    let mut found = false;
    while let Some(start) = rest.find(QUOTES) {
        let before = &rest[..start];
        if !before.trim_end().ends_with(':') {
            return None;
        }
        let after = &rest[start + QUOTES.len()..];
        let end = after.find(QUOTES)?;
        let value = &after[..end];
        let value = value.strip_prefix('\n').unwrap_or(value);
        out.push_str(before);
        out.push_str(&serde_json::to_string(value).ok()?);
        rest = &after[end + QUOTES.len()..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

fn escape_stray_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (false, _, '"') => {
                in_string = true;
                out.push(c);
            }
            (false, _, _) => out.push(c),
            (true, true, _) => {
                escaped = false;
                out.push(c);
            }
            // A backslash JSON does not know (`\w` in a regex) stands for itself.
            (true, false, '\\') => match text[at + 1..].chars().next() {
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                    escaped = true;
                    out.push(c);
                }
                Some(_) | None => out.push_str("\\\\"),
            },
            (true, false, '\n') => out.push_str("\\n"),
            (true, false, '\r') => out.push_str("\\r"),
            (true, false, '\t') => out.push_str("\\t"),
            (true, false, '"') if ends_a_string(&text[at + 1..]) => {
                in_string = false;
                out.push(c);
            }
            (true, false, '"') => out.push_str("\\\""),
            (true, false, _) => out.push(c),
        }
    }
    out
}

/// Whether what follows a quote is what JSON allows after a string.
fn ends_a_string(rest: &str) -> bool {
    match rest.trim_start().chars().next() {
        None => true,
        Some(next) => matches!(next, ',' | '}' | ']' | ':'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_docstring_left_unescaped_is_read_as_the_model_meant_it() {
        let sent = "{\"path\": \"lists.py\", \"content\": \"def last(items):\\n    \"\"\"Last item.\"\"\"\\n    return items[-1]\\n\"}";
        assert_eq!(
            parse_lenient(sent),
            Some(json!({
                "path": "lists.py",
                "content": "def last(items):\n    \"\"\"Last item.\"\"\"\n    return items[-1]\n"
            }))
        );
    }

    #[test]
    fn a_triple_quoted_value_is_read_as_the_string_it_holds() {
        let sent = "{\n  \"name\": \"write_file\",\n  \"arguments\": {\n    \"path\": \"text.py\",\n    \"content\": \"\"\"\ndef shout(message):\n    return message.upper() + \"!\"\n\"\"\"\n  }\n}";
        assert_eq!(
            parse_lenient(sent),
            Some(json!({
                "name": "write_file",
                "arguments": {
                    "path": "text.py",
                    "content": "def shout(message):\n    return message.upper() + \"!\"\n"
                }
            }))
        );
        // A docstring inside a JSON string is not a triple-quoted value.
        assert_eq!(
            triple_quoted_as_json(r#"{"a": "x = \"\"\"doc\"\"\""}"#),
            None
        );
    }

    #[test]
    fn a_backslash_json_does_not_know_stands_for_itself() {
        let sent = r#"{"content": "s.replace(/[^\w\s-]/g, '')\n"}"#;
        assert_eq!(
            parse_lenient(sent),
            Some(json!({"content": "s.replace(/[^\\w\\s-]/g, '')\n"}))
        );
    }

    #[test]
    fn raw_line_breaks_in_a_string_are_read_as_line_breaks() {
        let sent = "{\"content\": \"a = 1\n\tb = 2\n\"}";
        assert_eq!(
            parse_lenient(sent),
            Some(json!({"content": "a = 1\n\tb = 2\n"}))
        );
    }

    #[test]
    fn valid_json_is_untouched_and_a_wrong_guess_does_not_parse() {
        assert_eq!(
            parse_lenient(r#"{"a": "x\"y", "b": []}"#),
            Some(json!({"a": "x\"y", "b": []}))
        );
        assert_eq!(parse_lenient(r#"{"content": "f("a", "b")"}"#), None);
    }
}
