//! Edits as models make them, through the real binary (`agent tools call` and `agent run`
//! against the mock): the cases of issue 19, one regression test each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::{MockGlm, Sandbox, finish};

/// Issue 19's file: two functions, each to be changed once.
const TWO_FUNCTIONS: &str =
    "fn a() {\n    one();\n    two();\n}\n\nfn b() {\n    three();\n    four();\n}\n";

async fn call_tool(sandbox: &Sandbox, tool: &str, arguments: serde_json::Value) -> (i32, String) {
    let mock = MockGlm::start(vec![]).await;
    let mut command = sandbox.agent(&mock);
    command.args(["tools", "call", "--yes", tool, &arguments.to_string()]);
    let run = finish(command).await;
    (run.code, run.stdout)
}

#[tokio::test]
async fn a_diff_whose_context_lost_its_space_applies_both_changes() {
    let sandbox = Sandbox::new(&[("x.rs", TWO_FUNCTIONS)]);
    let diff = "--- a/x.rs\n+++ b/x.rs\n@@ -1,9 +1,9 @@\n fn a() {\n-    one();\n+    uno();\n    two();\n}\n\nfn b() {\n-    three();\n+    tres();\n    four();\n}\n";
    let outcome = call_tool(&sandbox, "apply_diff", json!({ "diff": diff })).await;
    assert_eq!(outcome, (0, "applied:\nx.rs: +2 -2\n".to_string()));
    assert_eq!(
        sandbox.read("x.rs"),
        "fn a() {\n    uno();\n    two();\n}\n\nfn b() {\n    tres();\n    four();\n}\n"
    );
}

#[tokio::test]
async fn a_hunk_whose_first_context_line_lost_its_space_applies() {
    let sandbox = Sandbox::new(&[("calc.py", "def add(a, b):\n    return a - b\n")]);
    let diff = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\ndef add(a, b):\n-    return a - b\n+    return a + b\n";
    let outcome = call_tool(&sandbox, "apply_diff", json!({ "diff": diff })).await;
    assert_eq!(outcome, (0, "applied:\ncalc.py: +1 -1\n".to_string()));
    assert_eq!(
        sandbox.read("calc.py"),
        "def add(a, b):\n    return a + b\n"
    );
}

#[tokio::test]
async fn a_diff_indented_as_a_whole_applies() {
    let sandbox = Sandbox::new(&[("calc.py", "def add(a, b):\n    return a - b\n")]);
    let diff = "    --- a/calc.py\n    +++ b/calc.py\n    @@ -1,2 +1,2 @@\n     def add(a, b):\n    -    return a - b\n    +    return a + b\n";
    let outcome = call_tool(&sandbox, "apply_diff", json!({ "diff": diff })).await;
    assert_eq!(outcome, (0, "applied:\ncalc.py: +1 -1\n".to_string()));
    assert_eq!(
        sandbox.read("calc.py"),
        "def add(a, b):\n    return a + b\n"
    );
}

#[tokio::test]
async fn a_diff_that_changes_no_line_says_so_and_not_that_the_file_has_it() {
    let sandbox = Sandbox::new(&[("calc.py", "def add(a, b):\n    return a - b\n")]);
    let diff =
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n     return a + b\n";
    let outcome = call_tool(&sandbox, "apply_diff", json!({ "diff": diff })).await;
    assert_eq!(
        outcome,
        (
            1,
            "nothing was applied: the diff changes no line: its hunks have no `+` or `-` lines. Mark each removed line with `-` and each added line with `+`\n".to_string()
        )
    );
    assert_eq!(
        sandbox.read("calc.py"),
        "def add(a, b):\n    return a - b\n"
    );
}
