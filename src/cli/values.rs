/*!
The command line's spellings of the protocol's enums: each value and its help line. The enums
themselves stay free of clap (see `crate::protocol::modes`); a `match` per enum keeps every
variant spelled.
*/

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::protocol::modes::{
    ApprovalMode, EditFormat, ProviderKind, SandboxSetting, TextToolCalls,
};

/// `impl ValueEnum` for a protocol enum: each variant, its flag value and its help.
macro_rules! flag_values {
    ($type:ident { $($variant:ident => $name:literal, $help:literal;)* }) => {
        impl ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($type::$variant),*]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($type::$variant => PossibleValue::new($name).help($help),)*
                })
            }
        }
    };
}

flag_values!(ApprovalMode {
    Ask => "ask", "Ask for edits and for commands that are not read-only";
    Edits => "edits", "Apply edits without asking; ask for commands that are not read-only";
    All => "all", "Ask nothing (same as --yes)";
    None => "none", "Dry run: show edits, never apply or run anything";
});

flag_values!(ProviderKind {
    Glm => "glm", "GLM (bigmodel.cn, z.ai): sends `thinking` and `tool_stream`";
    Openai => "openai", "Any OpenAI-compatible server: standard fields only";
});

flag_values!(TextToolCalls {
    Off => "off", "Never: text is text";
    Auto => "auto", "When the answer is nothing but calls of offered tools with arguments that parse";
});

flag_values!(SandboxSetting {
    WorkspaceWrite => "workspace-write", "Read anything but secrets; write only in the workspace, /tmp and configured roots";
    ReadOnly => "read-only", "Read anything but secrets; write only in /tmp";
    Off => "off", "No sandbox: commands run with all of your rights";
});

flag_values!(EditFormat {
    Auto => "auto", "By provider: GLM gets `apply_diff` and `edit_file`, other servers `edit_file`";
    Diff => "diff", "`apply_diff`: unified diffs";
    Replace => "replace", "`edit_file`: replacing a unique string";
    Whole => "whole", "`write_file` only: whole files";
});
