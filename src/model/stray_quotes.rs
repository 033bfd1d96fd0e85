/*!
Repairs the JSON mistakes small models make most when they write a call as text: quotes left
unescaped inside a string (a Python docstring `"""` in a file's content), raw line breaks, and a
value written as a Python triple-quoted string (`"content": """…"""`: Qwen2.5-Coder-1.5B sent
the same such call six times in a row on a bench task until the repeat guard stopped it).
Qwen2.5-Coder-1.5B knew the fix on half the bench tasks and sent it as a `write_file` call that
did not parse, again and again.

A `"` inside a string is taken as its end only where what comes next continues the JSON: `:`
after a key; after a value the end of the text, `,` and the next `"key":` (any value, in an
array), or closing brackets and what may follow them. Any other is escaped, so the quotes of code
in a file's content (`port({"port": 9000})`, `f("a", "b")`) stay the code's. It is used only on a call that failed to parse, and
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
    let mut open: Vec<char> = Vec::new();
    let mut string: Option<Role> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        let Some(role) = string else {
            match c {
                '"' => string = Some(role_at(&out, &open)),
                '{' | '[' => open.push(c),
                '}' | ']' => {
                    open.pop();
                }
                _ => {}
            }
            out.push(c);
            continue;
        };
        match (escaped, c) {
            (true, _) => {
                escaped = false;
                out.push(c);
            }
            // A backslash JSON does not know (`\w` in a regex) stands for itself.
            (false, '\\') => match text[at + 1..].chars().next() {
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                    escaped = true;
                    out.push(c);
                }
                Some(_) | None => out.push_str("\\\\"),
            },
            (false, '\n') => out.push_str("\\n"),
            (false, '\r') => out.push_str("\\r"),
            (false, '\t') => out.push_str("\\t"),
            (false, '"') if ends(role, open.last() == Some(&'['), &text[at + 1..]) => {
                string = None;
                out.push(c);
            }
            (false, '"') => out.push_str("\\\""),
            (false, _) => out.push(c),
        }
    }
    out
}

/// What a string is in the object or array around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Key,
    Value,
}

/// The role of a string that opens after `written`, inside the containers `open`.
fn role_at(written: &str, open: &[char]) -> Role {
    let before = written.trim_end().chars().last();
    match (before, open.last()) {
        (Some('{'), _) | (Some(','), Some('{')) => Role::Key,
        _ => Role::Value,
    }
}

/// Whether a quote followed by `rest` closes a string of `role`: a key is followed by `:`; a
/// value by the end, by `,` and the next key (any next value, in an array), or by closing
/// brackets and what may follow them. Code in a value (`port({"port": 9000})`, `f("a", "b")`)
/// is followed by none of these, so its quotes are escaped.
fn ends(role: Role, in_array: bool, rest: &str) -> bool {
    let rest = rest.trim_start();
    match role {
        Role::Key => rest.starts_with(':'),
        Role::Value => match rest.chars().next() {
            None => true,
            Some(',') => in_array || next_member(rest[1..].trim_start()),
            Some('}' | ']') => {
                let after =
                    rest.trim_start_matches(|c: char| c == '}' || c == ']' || c.is_whitespace());
                after.is_empty() || after.starts_with(',') && next_member(after[1..].trim_start())
            }
            Some(_) => false,
        },
    }
}

/// Whether `rest` begins as the next member of an object: `"key":`.
fn next_member(rest: &str) -> bool {
    let Some(key) = rest.strip_prefix('"') else {
        return false;
    };
    key.find('"').is_some_and(|end| {
        let name = &key[..end];
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && key[end + 1..].trim_start().starts_with(':')
    })
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
        assert_eq!(parse_lenient(r#"{"content": "f("a", "b"#), None);
    }

    #[test]
    fn quotes_of_code_inside_a_value_are_read_as_the_code_s() {
        // Qwen2.5-Coder-1.5B, bench task `port`: sent six times until the repeat guard stopped it.
        let sent = "{\n  \"name\": \"write_file\",\n  \"arguments\": {\n    \"path\": \"test_settings.py\",\n    \"content\": \"def test(self):\\n    self.assertEqual(port({\"port\": 9000}), 9000)\\n\"\n  }\n}";
        assert_eq!(
            parse_lenient(sent),
            Some(json!({
                "name": "write_file",
                "arguments": {
                    "path": "test_settings.py",
                    "content": "def test(self):\n    self.assertEqual(port({\"port\": 9000}), 9000)\n"
                }
            }))
        );
        assert_eq!(
            parse_lenient(r#"{"content": "f("a", "b")", "path": "x.py"}"#),
            Some(json!({"content": "f(\"a\", \"b\")", "path": "x.py"}))
        );
        assert_eq!(
            parse_lenient(r#"{"content": "print("}")"}"#),
            Some(json!({"content": "print(\"}\")"}))
        );
    }
}
