/*!
Keeping the API key out of transcripts without changing anything else in them.

A key a tool printed (`cat .env`) must not land on disk, yet a resumed session must send the
conversation exactly as it was sent, and nothing but the key may change: local servers take
placeholder keys such as `x` or `ollama`, and replacing every `x` mangled ids, code and
reasoning. So the key is replaced by a marker only when it is long enough to be a credential
(and then cannot be a common word or fragment), the marker's own text is escaped wherever it
occurs already, and resuming puts the current key back where the marker stands.
*/

/// What stands for the key in a transcript.
const MARKER: &str = "[redacted]";
/// Text that starts like the marker, escaped so that only a replaced key reads as the marker.
const MARKER_START: &str = "[redacted";
const ESCAPED_START: &str = "[redacted~";
/// Shorter keys are placeholders (`x`, `none`, `ollama`), not secrets.
const SHORTEST_SECRET: usize = 8;

/// Replaces the key (when it is a secret) by the marker, reversibly.
#[derive(Debug, Clone)]
pub struct Redactor {
    secret: Option<String>,
}

impl Redactor {
    pub fn new(api_key: &str) -> Self {
        let secret = api_key.trim();
        Self {
            secret: (secret.chars().count() >= SHORTEST_SECRET && !secret.contains(MARKER_START))
                .then(|| secret.to_string()),
        }
    }

    /// A transcript line as it may be written to disk.
    pub fn redact(&self, line: String) -> String {
        let Some(secret) = &self.secret else {
            return line;
        };
        if !line.contains(secret.as_str()) && !line.contains(MARKER_START) {
            return line;
        }
        line.replace(MARKER_START, ESCAPED_START)
            .replace(secret.as_str(), MARKER)
    }

    /// A transcript as it was before [`Redactor::redact`], the key being this one.
    pub fn restore(&self, text: &str) -> String {
        let Some(secret) = &self.secret else {
            return text.to_string();
        };
        text.replace(MARKER, secret)
            .replace(ESCAPED_START, MARKER_START)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_placeholder_keys_change_nothing() {
        let redactor = Redactor::new("x");
        let line = r#"{"id":"call_linux_x","text":"max(x)"}"#.to_string();
        assert_eq!(redactor.redact(line.clone()), line);
    }

    #[test]
    fn a_real_key_is_replaced_and_restored_exactly() {
        let key = "sk-0123456789abcdef";
        let redactor = Redactor::new(key);
        let original =
            format!("KEY={key} and a literal [redacted] and [redacted~] and [redacted!{key}");
        let written = redactor.redact(original.clone());
        assert!(!written.contains(key), "{written}");
        assert_eq!(
            written,
            "KEY=[redacted] and a literal [redacted~] and [redacted~~] and [redacted~![redacted]"
        );
        assert_eq!(redactor.restore(&written), original);
    }
}
