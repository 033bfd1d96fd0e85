/*!
The tool list the model sees, and the parsing of a model's call into typed arguments.

A call that cannot be parsed is not fatal: [`CallError`]'s message is written for the model, so it
can correct the call on its next turn.
*/

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::apply_diff::ApplyDiffArgs;
use crate::edit_file::EditFileArgs;
use crate::list_files::ListFilesArgs;
use crate::plan::UpdatePlanArgs;
use crate::read_file::ReadFileArgs;
use crate::run_command::RunCommandArgs;
use crate::schema::parameters_for;
use crate::search::SearchArgs;
use crate::write_file::WriteFileArgs;

/// Every tool the agent offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolName {
    ReadFile,
    ListFiles,
    Search,
    RunCommand,
    ApplyDiff,
    EditFile,
    WriteFile,
    UpdatePlan,
}

/// Which tools edit files, in the tool list a model is offered. `write_file` is always offered,
/// for new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTools {
    /// `apply_diff`: unified diffs.
    Diff,
    /// `edit_file`: replacing a unique string.
    Replace,
    /// Both `apply_diff` and `edit_file`.
    DiffAndReplace,
    /// Only `write_file`: whole files.
    Whole,
}

/// One tool as advertised to the model: an OpenAI function definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

/// A call with its arguments parsed and checked against the tool's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    ReadFile(ReadFileArgs),
    ListFiles(ListFilesArgs),
    Search(SearchArgs),
    RunCommand(RunCommandArgs),
    ApplyDiff(ApplyDiffArgs),
    EditFile(EditFileArgs),
    WriteFile(WriteFileArgs),
    UpdatePlan(UpdatePlanArgs),
}

/// Why a call could not be parsed; the message is meant for the model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    #[error("unknown tool `{name}`; the available tools are: {known}")]
    UnknownTool { name: String, known: String },
    #[error(
        "the arguments of `{tool}` are not valid JSON ({message}); send one JSON object, e.g. {example}"
    )]
    MalformedJson {
        tool: &'static str,
        message: String,
        example: &'static str,
    },
    #[error("the arguments of `{tool}` do not match its schema: {message}; expected {example}")]
    SchemaMismatch {
        tool: &'static str,
        message: String,
        example: &'static str,
    },
}

impl ToolName {
    pub const ALL: [ToolName; 8] = [
        ToolName::ReadFile,
        ToolName::ListFiles,
        ToolName::Search,
        ToolName::RunCommand,
        ToolName::ApplyDiff,
        ToolName::EditFile,
        ToolName::WriteFile,
        ToolName::UpdatePlan,
    ];

    /// The tools offered to a model that edits with `edit`, in the order of [`Self::ALL`].
    pub fn offered(edit: EditTools) -> Vec<ToolName> {
        Self::ALL
            .into_iter()
            .filter(|tool| match tool {
                ToolName::ApplyDiff => matches!(edit, EditTools::Diff | EditTools::DiffAndReplace),
                ToolName::EditFile => {
                    matches!(edit, EditTools::Replace | EditTools::DiffAndReplace)
                }
                ToolName::ReadFile
                | ToolName::ListFiles
                | ToolName::Search
                | ToolName::RunCommand
                | ToolName::WriteFile
                | ToolName::UpdatePlan => true,
            })
            .collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::ReadFile => "read_file",
            ToolName::ListFiles => "list_files",
            ToolName::Search => "search",
            ToolName::RunCommand => "run_command",
            ToolName::ApplyDiff => "apply_diff",
            ToolName::EditFile => "edit_file",
            ToolName::WriteFile => "write_file",
            ToolName::UpdatePlan => "update_plan",
        }
    }

    pub fn parse(name: &str) -> Result<Self, CallError> {
        Self::ALL
            .into_iter()
            .find(|tool| tool.as_str() == name.trim())
            .ok_or_else(|| CallError::UnknownTool {
                name: name.to_string(),
                known: Self::ALL.map(ToolName::as_str).join(", "),
            })
    }

    fn description(self) -> &'static str {
        match self {
            ToolName::ReadFile => {
                "Read a text file of the workspace. Returns its lines numbered from 1 (`N\\tline`). \
                 Use offset and limit to page through large files."
            }
            ToolName::ListFiles => {
                "List files and directories (directories end with `/`), honouring .gitignore."
            }
            ToolName::Search => {
                "Search file contents with a regular expression (Rust regex syntax), honouring \
                 .gitignore and skipping binary files. Returns `path:line:text` for each match."
            }
            ToolName::RunCommand => {
                "Run a shell command with `bash -c` in the workspace root and return its exit code \
                 and combined stdout+stderr (long output keeps its head and tail). Needs approval. \
                 In the sandbox (unless the user turned it off) it may write only inside the \
                 workspace, has no network, and /tmp is private to the command: empty when it \
                 starts, gone when it ends."
            }
            ToolName::ApplyDiff => {
                "Edit files by applying a unified diff (one or more files; `--- a/path`, \
                 `+++ b/path`, `@@` hunks with a few lines of context). New files use \
                 `--- /dev/null`, deleted files `+++ /dev/null`. Either every hunk applies or \
                 nothing is written. Needs approval."
            }
            ToolName::EditFile => {
                "Edit a file by replacing text: old_string, copied exactly from the file (without \
                 line numbers) with enough lines around it to occur only once, becomes \
                 new_string. For several changes to one file give edits, a list of \
                 {old_string, new_string}, applied in order, all or none. An empty old_string \
                 creates a new file. Needs approval."
            }
            ToolName::WriteFile => {
                "Create a file or replace its whole content (give all of it: what you leave out \
                 is deleted). Needs approval."
            }
            ToolName::UpdatePlan => {
                "Keep the user informed on work of several steps: the whole plan, each step \
                 pending, in_progress (at most one) or completed. Send it again, whole, whenever \
                 a step starts or ends. Not for a task of one or two steps."
            }
        }
    }

    /// An example of valid arguments, quoted in error messages so the model can copy the shape.
    /// Neutral on purpose: small models copy examples verbatim, whatever the repository's
    /// language (Rust paths were searched for in Python projects).
    fn example(self) -> &'static str {
        match self {
            ToolName::ReadFile => r#"{"path": "README.md", "offset": 1, "limit": 200}"#,
            ToolName::ListFiles => r#"{"path": ".", "max_depth": 2}"#,
            ToolName::Search => r#"{"pattern": "TODO", "path": ".", "glob": "*.md"}"#,
            ToolName::RunCommand => r#"{"command": "ls -la", "timeout_secs": 300}"#,
            ToolName::ApplyDiff => {
                r#"{"diff": "--- a/PATH\n+++ b/PATH\n@@ -1,3 +1,3 @@\n context\n-old line\n+new line\n context\n"}"#
            }
            ToolName::EditFile => {
                r#"{"path": "PATH", "old_string": "old line\n", "new_string": "new line\n"}"#
            }
            ToolName::WriteFile => r#"{"path": "notes.txt", "content": "hello\n"}"#,
            ToolName::UpdatePlan => {
                r#"{"plan": [{"step": "Find the cause", "status": "completed"}, {"step": "Fix it", "status": "in_progress"}, {"step": "Run the tests", "status": "pending"}]}"#
            }
        }
    }

    pub fn spec(self) -> ToolSpec {
        let parameters = match self {
            ToolName::ReadFile => parameters_for::<ReadFileArgs>(),
            ToolName::ListFiles => parameters_for::<ListFilesArgs>(),
            ToolName::Search => parameters_for::<SearchArgs>(),
            ToolName::RunCommand => parameters_for::<RunCommandArgs>(),
            ToolName::ApplyDiff => parameters_for::<ApplyDiffArgs>(),
            ToolName::EditFile => parameters_for::<EditFileArgs>(),
            ToolName::WriteFile => parameters_for::<WriteFileArgs>(),
            ToolName::UpdatePlan => parameters_for::<UpdatePlanArgs>(),
        };
        ToolSpec {
            name: self.as_str(),
            description: self.description(),
            parameters,
        }
    }

    /// The specs of the tools offered with `edit`.
    pub fn specs(edit: EditTools) -> Vec<ToolSpec> {
        Self::offered(edit).into_iter().map(Self::spec).collect()
    }
}

impl ToolCall {
    /// Parses a model's call. Empty arguments count as `{}`, since some models send nothing for
    /// tools whose arguments are all optional.
    pub fn parse(name: &str, arguments: &str) -> Result<Self, CallError> {
        let tool = ToolName::parse(name)?;
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        let value: Value =
            serde_json::from_str(arguments).map_err(|error| CallError::MalformedJson {
                tool: tool.as_str(),
                message: error.to_string(),
                example: tool.example(),
            })?;
        Ok(match tool {
            ToolName::ReadFile => ToolCall::ReadFile(typed(tool, value)?),
            ToolName::ListFiles => ToolCall::ListFiles(typed(tool, value)?),
            ToolName::Search => ToolCall::Search(typed(tool, value)?),
            ToolName::RunCommand => ToolCall::RunCommand(typed(tool, value)?),
            ToolName::ApplyDiff => ToolCall::ApplyDiff(typed(tool, value)?),
            ToolName::EditFile => ToolCall::EditFile(typed(tool, value)?),
            ToolName::WriteFile => ToolCall::WriteFile(typed(tool, value)?),
            ToolName::UpdatePlan => ToolCall::UpdatePlan(typed(tool, value)?),
        })
    }

    pub fn name(&self) -> ToolName {
        match self {
            ToolCall::ReadFile(_) => ToolName::ReadFile,
            ToolCall::ListFiles(_) => ToolName::ListFiles,
            ToolCall::Search(_) => ToolName::Search,
            ToolCall::RunCommand(_) => ToolName::RunCommand,
            ToolCall::ApplyDiff(_) => ToolName::ApplyDiff,
            ToolCall::EditFile(_) => ToolName::EditFile,
            ToolCall::WriteFile(_) => ToolName::WriteFile,
            ToolCall::UpdatePlan(_) => ToolName::UpdatePlan,
        }
    }

    /// The argument a human wants to see on the one-line summary of the call.
    pub fn headline(&self) -> String {
        match self {
            ToolCall::ReadFile(args) => args.path.clone(),
            ToolCall::ListFiles(args) => args.path.clone().unwrap_or_else(|| ".".into()),
            ToolCall::Search(args) => args.pattern.clone(),
            ToolCall::RunCommand(args) => args.command.clone(),
            ToolCall::ApplyDiff(args) => crate::apply_diff::touched_paths(&args.diff).join(", "),
            ToolCall::EditFile(args) => args.path.clone(),
            ToolCall::WriteFile(args) => args.path.clone(),
            ToolCall::UpdatePlan(args) => args.headline(),
        }
    }
}

fn typed<T: DeserializeOwned>(tool: ToolName, value: Value) -> Result<T, CallError> {
    let Value::Object(mut fields) = value else {
        return Err(CallError::SchemaMismatch {
            tool: tool.as_str(),
            message: format!("expected a JSON object, got `{value}`"),
            example: tool.example(),
        });
    };
    drop_empty_optionals(tool, &mut fields);
    join_lines(tool, &mut fields);
    serde_json::from_value(Value::Object(fields)).map_err(|error| CallError::SchemaMismatch {
        tool: tool.as_str(),
        message: error.to_string(),
        example: tool.example(),
    })
}

/// Optional arguments sent as `""` or `null` mean "not given" (models send `{"path": ""}` for
/// the root); a required one stays, to be refused with the schema's message.
fn drop_empty_optionals(tool: ToolName, fields: &mut serde_json::Map<String, Value>) {
    let is_empty = |value: &Value| value.is_null() || value.as_str() == Some("");
    if !fields.values().any(is_empty) {
        return;
    }
    let spec = tool.spec();
    let required: Vec<&str> = spec.parameters["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    fields.retain(|name, value| required.contains(&name.as_str()) || !is_empty(value));
}

/// Text sent as an array of its lines (small models send a diff or a file's content so) is that
/// text, each line ending in a newline.
fn join_lines(tool: ToolName, fields: &mut serde_json::Map<String, Value>) {
    if !fields.values().any(Value::is_array) {
        return;
    }
    let spec = tool.spec();
    let properties = &spec.parameters["properties"];
    for (name, value) in fields.iter_mut() {
        let lines: Option<Vec<&str>> = value
            .as_array()
            .and_then(|items| items.iter().map(Value::as_str).collect());
        if let (Some(lines), Some("string")) = (lines, properties[name.as_str()]["type"].as_str()) {
            *value = Value::String(lines.iter().map(|line| format!("{line}\n")).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_plain_function_parameters() {
        let spec = ToolName::ReadFile.spec();
        assert_eq!(
            spec.parameters,
            serde_json::json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path of the file, relative to the workspace root."},
                    "offset": {"type": "integer", "minimum": 1, "description": "First line to return, 1-based (default 1)."},
                    "limit": {"type": "integer", "minimum": 1, "description": "Number of lines to return (default 2000)."}
                },
                "required": ["path"],
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn every_field_has_a_description() {
        for spec in ToolName::specs(EditTools::DiffAndReplace) {
            let properties = spec.parameters["properties"].as_object().unwrap();
            for (field, schema) in properties {
                assert!(schema["description"].is_string(), "{}.{field}", spec.name);
            }
        }
    }

    #[test]
    fn empty_optional_arguments_are_not_given() {
        assert_eq!(
            ToolCall::parse("list_files", r#"{"path": "", "max_depth": null}"#),
            ToolCall::parse("list_files", "{}")
        );
        assert!(matches!(
            ToolCall::parse("search", r#"{"pattern": "x", "path": "", "glob": ""}"#),
            Ok(ToolCall::Search(args)) if args.path.is_none() && args.glob.is_none()
        ));
        assert!(matches!(
            ToolCall::parse("read_file", r#"{"path": "a.txt", "offset": "", "limit": null}"#),
            Ok(ToolCall::ReadFile(args)) if args.offset.is_none() && args.limit.is_none()
        ));
    }

    #[test]
    fn bad_calls_explain_themselves() {
        assert!(matches!(
            ToolCall::parse("nope", "{}"),
            Err(CallError::UnknownTool { .. })
        ));
        let malformed = ToolCall::parse("read_file", "{\"path\": ").unwrap_err();
        assert!(
            malformed.to_string().contains("not valid JSON"),
            "{malformed}"
        );
        let mismatch = ToolCall::parse("read_file", r#"{"file": "x"}"#).unwrap_err();
        assert!(
            mismatch.to_string().contains("unknown field `file`"),
            "{mismatch}"
        );
        let wrong_type = ToolCall::parse("read_file", r#"{"path": 3}"#).unwrap_err();
        assert!(
            wrong_type.to_string().contains("invalid type"),
            "{wrong_type}"
        );
    }

    #[test]
    fn text_sent_as_an_array_of_lines_is_that_text() {
        assert_eq!(
            ToolCall::parse(
                "write_file",
                r#"{"path": "a.py", "content": ["x = 1", "y = 2"]}"#
            ),
            Ok(ToolCall::WriteFile(WriteFileArgs {
                path: "a.py".into(),
                content: "x = 1\ny = 2\n".into(),
            }))
        );
        assert!(ToolCall::parse("write_file", r#"{"path": "a.py", "content": [1, 2]}"#).is_err());
    }
}
