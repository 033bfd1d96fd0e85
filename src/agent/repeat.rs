/*!
Catches a model stuck repeating itself: the same call with the same arguments, over and over.
It is warned in the tool result from the 4th identical call in a row, and the run stops at the 6th.
*/

use serde_json::Value;

pub const WARN_AT: u32 = 4;
pub const STOP_AT: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repetition {
    Fresh,
    /// Run it, but tell the model this is the n-th identical call.
    Warn(u32),
    Stop,
}

#[derive(Debug, Default)]
pub struct RepeatGuard {
    last: Option<(String, String)>,
    count: u32,
}

impl RepeatGuard {
    pub fn observe(&mut self, name: &str, arguments: &str) -> Repetition {
        // Compare arguments as JSON values so whitespace and key order do not hide a repeat.
        let canonical = serde_json::from_str::<Value>(arguments)
            .map(|value| value.to_string())
            .unwrap_or_else(|_| arguments.to_string());
        let key = (name.to_string(), canonical);
        if self.last.as_ref() == Some(&key) {
            self.count += 1;
        } else {
            self.last = Some(key);
            self.count = 1;
        }
        match self.count {
            count if count >= STOP_AT => Repetition::Stop,
            count if count >= WARN_AT => Repetition::Warn(count),
            _ => Repetition::Fresh,
        }
    }
}

pub fn warning(count: u32) -> String {
    format!(
        "\n\n[note from the agent: this is call {count} in a row with exactly the same arguments and it \
         gives the same result. Do something different; at {STOP_AT} identical calls the run is stopped.]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_from_the_fourth_and_stops_at_the_sixth() {
        let mut guard = RepeatGuard::default();
        let seen: Vec<Repetition> = (0..6)
            .map(|i| {
                guard.observe(
                    "read_file",
                    if i % 2 == 0 {
                        r#"{"path":"a"}"#
                    } else {
                        r#"{ "path": "a" }"#
                    },
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                Repetition::Fresh,
                Repetition::Fresh,
                Repetition::Fresh,
                Repetition::Warn(4),
                Repetition::Warn(5),
                Repetition::Stop
            ]
        );
        assert_eq!(
            guard.observe("read_file", r#"{"path":"b"}"#),
            Repetition::Fresh
        );
    }
}
