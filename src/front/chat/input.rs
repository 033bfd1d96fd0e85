/*!
What a line typed in the conversation asks for: a slash command, a shell command (`!ls`), or a
message for the model, whose `@path` and `@path:10-40` mentions attach those files (or lines).
*/

use std::fmt::Write;

use agent_tools::Workspace;

/// The conversation's slash commands, with what each does (for `/help` and completion).
pub const COMMANDS: [(&str, &str); 12] = [
    ("/help", "what you can type"),
    ("/undo", "revert the last turn's edits"),
    ("/diff", "everything this session changed, as a diff"),
    (
        "/compact",
        "replace the conversation by a summary, to free the context window",
    ),
    (
        "/model",
        "NAME: talk to another model of the same server from now on",
    ),
    ("/approval", "MODE: ask, edits, all or none from now on"),
    ("/sessions", "the sessions of this workspace"),
    ("/resume", "ID: continue another session of this workspace"),
    ("/new", "a fresh session"),
    (
        "/tokens",
        "tokens used so far, and how full the context window is",
    ),
    ("/exit", "leave (Ctrl-D does too)"),
    ("/quit", "leave"),
];

/// A line typed at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing but blanks.
    Empty,
    /// `/name argument`.
    Command { name: String, argument: String },
    /// `!command`: run in the sandbox, its output offered with the next message.
    Shell(String),
    /// Text for the model.
    Message(String),
}

pub fn parse(line: &str) -> Input {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Empty;
    }
    if let Some(command) = trimmed.strip_prefix('!') {
        return Input::Shell(command.trim().to_string());
    }
    // `/` then a word: a command. A message may still start with a path (`/etc/hosts is ...`).
    if let Some(rest) = trimmed.strip_prefix('/') {
        let (name, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if !name.is_empty() && !name.contains('/') {
            return Input::Command {
                name: format!("/{name}"),
                argument: argument.trim().to_string(),
            };
        }
    }
    Input::Message(line.trim_end().to_string())
}

/// A file mentioned with `@`: its path and, with `:A-B`, the lines wanted (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub path: String,
    pub lines: Option<(usize, usize)>,
}

/// The `@` mentions of `text`, in order: a word starting with `@` (an e-mail address's `@`
/// does not start a word).
pub fn mentions(text: &str) -> Vec<Mention> {
    text.split_whitespace()
        .filter_map(|word| word.strip_prefix('@'))
        .map(|word| word.trim_end_matches([',', ';', '.', ')', '?', '!']))
        .filter(|word| !word.is_empty())
        .map(|word| {
            match word.rsplit_once(':').and_then(|(path, range)| {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                Some((path, (first.parse().ok()?, last.parse().ok()?)))
            }) {
                Some((path, (first, last))) if first >= 1 && last >= first => Mention {
                    path: path.to_string(),
                    lines: Some((first, last)),
                },
                _ => Mention {
                    path: word.to_string(),
                    lines: None,
                },
            }
        })
        .collect()
}

/// `text` with the files it mentions attached after it, each read through the workspace's path
/// rules; an error naming the first mention that cannot be read (the message is not sent).
pub fn with_attachments(text: &str, workspace: &Workspace) -> Result<String, String> {
    let mut message = text.to_string();
    for mention in mentions(text) {
        let path = workspace
            .resolve(&mention.path)
            .map_err(|error| format!("@{}: {error}", mention.path))?;
        let content = std::fs::read_to_string(&path)
            .map_err(|error| format!("@{}: cannot read it: {error}", mention.path))?;
        let (shown, label) = match mention.lines {
            Some((first, last)) => {
                let lines: Vec<&str> = content
                    .lines()
                    .skip(first - 1)
                    .take(last + 1 - first)
                    .collect();
                if lines.is_empty() {
                    return Err(format!(
                        "@{}:{first}-{last}: the file has {} lines",
                        mention.path,
                        content.lines().count()
                    ));
                }
                (
                    lines.join("\n") + "\n",
                    format!("{} lines {first}-{last}", mention.path),
                )
            }
            None => (content, mention.path.clone()),
        };
        let _ = write!(message, "\n\n<file path=\"{label}\">\n{shown}</file>");
    }
    Ok(message)
}

/// The message with the output of the shell commands run since the last one put before it.
pub fn with_shell_output(message: String, ran: &[String]) -> String {
    match ran.is_empty() {
        true => message,
        false => format!("{}\n\n{message}", ran.join("\n\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_command_a_shell_command_or_a_message() {
        let read: Vec<Input> = [
            "  ",
            "/model glm-4.6",
            "/help",
            "!ls -la",
            "fix it",
            "/etc/hosts is odd",
        ]
        .into_iter()
        .map(parse)
        .collect();
        assert_eq!(
            read,
            vec![
                Input::Empty,
                Input::Command {
                    name: "/model".into(),
                    argument: "glm-4.6".into()
                },
                Input::Command {
                    name: "/help".into(),
                    argument: String::new()
                },
                Input::Shell("ls -la".into()),
                Input::Message("fix it".into()),
                Input::Message("/etc/hosts is odd".into()),
            ]
        );
    }

    #[test]
    fn mentions_are_words_that_start_with_an_at() {
        assert_eq!(
            mentions("look at @src/a.rs, @b.txt:10-40 and mail me@example.com @c.md:7"),
            vec![
                Mention {
                    path: "src/a.rs".into(),
                    lines: None
                },
                Mention {
                    path: "b.txt".into(),
                    lines: Some((10, 40))
                },
                Mention {
                    path: "c.md".into(),
                    lines: Some((7, 7))
                },
            ]
        );
    }

    #[test]
    fn attachments_carry_the_files_or_say_which_one_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
        let workspace = Workspace::new(dir.path()).unwrap();
        assert_eq!(
            with_attachments("see @a.txt:2-3", &workspace),
            Ok(
                "see @a.txt:2-3\n\n<file path=\"a.txt lines 2-3\">\ntwo\nthree\n</file>"
                    .to_string()
            )
        );
        let missing = with_attachments("see @gone.txt", &workspace).unwrap_err();
        assert!(
            missing.starts_with("@gone.txt: cannot read it"),
            "{missing}"
        );
        assert!(with_attachments("see @../outside", &workspace).is_err());
    }
}
