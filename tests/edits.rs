//! Edits as models make them, through the real binary (`agent tools call` and `agent run`
//! against the mock): the cases of issue 19, one regression test each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{MockGlm, Sandbox, finish, local_agent, tool_names, tool_result, turn};

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

const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n";

#[tokio::test]
async fn edit_file_replaces_a_unique_string_and_refuses_an_ambiguous_one() {
    let sandbox = Sandbox::new(&[("calc.py", CALC)]);
    let ambiguous = call_tool(
        &sandbox,
        "edit_file",
        json!({"path": "calc.py", "old_string": "    return a - b\n", "new_string": "    return a + b\n"}),
    )
    .await;
    assert_eq!(
        ambiguous,
        (
            1,
            "old_string occurs 2 times, at lines 2, 6: add surrounding lines to old_string so it occurs once, or set replace_all in `calc.py`; nothing was changed\n".to_string()
        )
    );
    let unique = call_tool(
        &sandbox,
        "edit_file",
        json!({"path": "calc.py", "old_string": "def add(a, b):\n    return a - b\n", "new_string": "def add(a, b):\n    return a + b\n"}),
    )
    .await;
    assert_eq!(unique, (0, "applied:\ncalc.py: +1 -1\n".to_string()));
    assert_eq!(sandbox.read("calc.py"), CALC.replacen("a - b", "a + b", 1));
}

#[tokio::test]
async fn edit_file_matches_ignoring_indentation_and_says_so() {
    let sandbox = Sandbox::new(&[("m.py", "class A:\n    def f(self):\n        return 1\n")]);
    let outcome = call_tool(
        &sandbox,
        "edit_file",
        json!({"path": "m.py", "old_string": "def f(self):\n  return 1", "new_string": "def f(self):\n  if self:\n    return 2\n  return 1"}),
    )
    .await;
    assert_eq!(
        outcome,
        (
            0,
            "applied:\nm.py: +2 -0\n(note: old_string was not in the file as written; it matched lines 2-3 ignoring indentation and trailing spaces, and new_string was re-indented to the file's indentation)\n".to_string()
        )
    );
    assert_eq!(
        sandbox.read("m.py"),
        "class A:\n    def f(self):\n        if self:\n            return 2\n        return 1\n"
    );
}

#[tokio::test]
async fn edit_file_edits_apply_all_or_nothing() {
    let sandbox = Sandbox::new(&[("calc.py", CALC)]);
    let failing = call_tool(
        &sandbox,
        "edit_file",
        json!({"path": "calc.py", "edits": [
            {"old_string": "def add(a, b):\n    return a - b", "new_string": "def add(a, b):\n    return a + b"},
            {"old_string": "def mul(", "new_string": "def times("}
        ]}),
    )
    .await;
    assert_eq!(failing.0, 1);
    assert!(
        failing
            .1
            .starts_with("edit 2 of 2: old_string was not found"),
        "{}",
        failing.1
    );
    assert_eq!(sandbox.read("calc.py"), CALC);
    let both = call_tool(
        &sandbox,
        "edit_file",
        json!({"path": "calc.py", "edits": [
            {"old_string": "def add(a, b):\n    return a - b", "new_string": "def add(a, b):\n    return a + b"},
            {"old_string": "def sub(", "new_string": "def subtract("}
        ]}),
    )
    .await;
    assert_eq!(both, (0, "applied:\ncalc.py: +2 -2\n".to_string()));
    assert_eq!(
        sandbox.read("calc.py"),
        CALC.replacen("a - b", "a + b", 1)
            .replace("def sub(", "def subtract(")
    );
}

#[tokio::test]
async fn a_rewrite_that_drops_most_of_a_file_says_what_is_gone() {
    let sandbox = Sandbox::new(&[(
        "calc.py",
        "import math\n\ndef add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n\ndef root(x):\n    return math.sqrt(x)\n",
    )]);
    let outcome = call_tool(
        &sandbox,
        "write_file",
        json!({"path": "calc.py", "content": "def sub(a, b):\n    return b - a\n"}),
    )
    .await;
    assert_eq!(
        outcome,
        (
            0,
            "applied:\ncalc.py: +1 -9\n(note: this replaced the whole file: 6 of its 7 non-blank lines are gone; no longer defined: add, root. If you meant to change only part of it, write the file again with everything it should keep, or change just that part with an edit)\n".to_string()
        )
    );
}

/// `agent run TASK --yes` against a mock speaking as an `openai` server (calls may come as text).
fn local_run(sandbox: &Sandbox, mock: &MockGlm, task: &str) -> tokio::process::Command {
    let mut command = local_agent(sandbox, mock, task);
    command.arg("--yes");
    command
}

/// The last user message of the last request: where results of text calls go.
fn last_user_message(mock: &MockGlm) -> String {
    let requests = mock.requests();
    let messages = requests.last().unwrap().body["messages"].clone();
    let Value::Array(messages) = messages else {
        panic!("messages")
    };
    messages.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_search_replace_block_written_as_text_is_an_edit() {
    let sandbox = Sandbox::new(&[("calc.py", CALC)]);
    let reply = "The sign is wrong.\n\ncalc.py\n```python\n<<<<<<< SEARCH\ndef add(a, b):\n    return a - b\n=======\ndef add(a, b):\n    return a + b\n>>>>>>> REPLACE\n```\n";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Fixed.").reply(),
    ])
    .await;
    let run = finish(local_run(&sandbox, &mock, "fix add")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("calc.py"), CALC.replacen("a - b", "a + b", 1));
    assert_eq!(
        last_user_message(&mock),
        "<tool_response>\napplied:\ncalc.py: +1 -1\n</tool_response>"
    );
}

#[tokio::test]
async fn a_whole_file_after_its_path_written_as_text_is_a_write() {
    let sandbox = Sandbox::new(&[("greeting.js", "function greet(name) {\n  return name;\n}\n")]);
    let reply =
        "greeting.js\n```javascript\nfunction greet(name) {\n  return `Hello, ${name}!`;\n}\n```\n";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let run = finish(local_run(&sandbox, &mock, "greet")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        sandbox.read("greeting.js"),
        "function greet(name) {\n  return `Hello, ${name}!`;\n}\n"
    );
}

#[tokio::test]
async fn an_edit_file_call_is_journaled_and_undone() {
    let sandbox = Sandbox::new(&[("calc.py", CALC)]);
    let arguments = json!({"path": "calc.py", "old_string": "def sub(a, b):\n    return a - b", "new_string": "def sub(a, b):\n    return b - a"}).to_string();
    let mock = MockGlm::start(vec![
        turn().call("call_1", "edit_file", &arguments).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let mut command = sandbox.agent(&mock);
    command.args(["run", "--yes", "fix sub"]);
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        tool_result(&mock.requests(), "call_1"),
        "applied:\ncalc.py: +1 -1"
    );
    assert_eq!(
        sandbox.read("calc.py"),
        CALC.replace(
            "def sub(a, b):\n    return a - b",
            "def sub(a, b):\n    return b - a"
        )
    );
    let empty = MockGlm::start(vec![]).await;
    let mut undo = sandbox.agent(&empty);
    undo.arg("undo");
    let undone = finish(undo).await;
    assert_eq!(undone.code, 0, "{}", undone.stderr);
    assert_eq!(sandbox.read("calc.py"), CALC);
}

#[tokio::test]
async fn glm_is_offered_both_edit_tools_and_other_servers_edit_file() {
    let sandbox = Sandbox::new(&[("calc.py", CALC)]);
    let offered = |mock: &MockGlm| tool_names(&mock.requests()[0]);
    let glm = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&glm);
    command.args(["run", "hi"]);
    assert_eq!(finish(command).await.code, 0);
    assert_eq!(
        offered(&glm),
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "apply_diff",
            "edit_file",
            "write_file",
            "update_plan"
        ]
    );
    let local = MockGlm::start(vec![turn().content("ok").reply()]).await;
    assert_eq!(finish(local_run(&sandbox, &local, "hi")).await.code, 0);
    assert_eq!(
        offered(&local),
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "edit_file",
            "write_file",
            "update_plan"
        ]
    );
    let whole = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&whole);
    command.args(["run", "--edit-format", "whole", "hi"]);
    assert_eq!(finish(command).await.code, 0);
    assert_eq!(
        offered(&whole),
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "write_file",
            "update_plan"
        ]
    );
    let system = whole.requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("Edit with `write_file`"), "{system}");

    // A small model's server (a window under 32k): `auto` is whole files, taught with their
    // text form.
    let small = MockGlm::start(vec![turn().content("ok").reply()]).await;
    small.serve_info(
        "/props",
        json!({"default_generation_settings": {"n_ctx": 16384}, "total_slots": 1}),
    );
    assert_eq!(finish(local_run(&sandbox, &small, "hi")).await.code, 0);
    assert_eq!(
        offered(&small),
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "write_file"
        ]
    );
    let system = small.requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        system.contains(
            "its path on a line of its\n  own, then the whole new file in a fenced block"
        ),
        "{system}"
    );
}

#[tokio::test]
async fn the_fixed_code_shown_without_an_edit_is_proposed_as_one() {
    let lists = "def first(items):\n    return items[0]\n\n\ndef last(items):\n    \"\"\"The last item.\"\"\"\n    return items[0]\n";
    let sandbox = Sandbox::new(&[("util/lists.py", lists)]);
    let reply = "The function returns the first item. Here is the fixed code:\n\n```python\ndef last(items):\n    \"\"\"The last item.\"\"\"\n    return items[-1]\n```\n";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Fixed.").reply(),
    ])
    .await;
    let run = finish(local_run(&sandbox, &mock, "fix last")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        sandbox.read("util/lists.py"),
        "def first(items):\n    return items[0]\n\n\ndef last(items):\n    \"\"\"The last item.\"\"\"\n    return items[-1]\n"
    );
    assert_eq!(
        last_user_message(&mock),
        "<tool_response>\napplied:\nutil/lists.py: +1 -1\n</tool_response>"
    );
}

#[tokio::test]
async fn a_named_block_of_one_function_keeps_the_rest_of_the_file() {
    let greeting =
        "// Greets.\nfunction greet(name) {\n  return name;\n}\n\nmodule.exports = { greet };\n";
    let sandbox = Sandbox::new(&[("greeting.js", greeting)]);
    let reply = "### `greeting.js`\n```javascript\nfunction greet(name) {\n  return name || \"world\";\n}\n```\n";
    let mock = MockGlm::start(vec![
        turn().content(reply).reply(),
        turn().content("Done.").reply(),
    ])
    .await;
    let run = finish(local_run(&sandbox, &mock, "greet the world")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        sandbox.read("greeting.js"),
        greeting.replace("return name;", "return name || \"world\";")
    );
}

/// Replayed from llama.cpp (tests/fixtures/llama-cpp/req_search_replace.json): Qwen2.5-Coder-1.5B
/// writes a right SEARCH/REPLACE block under the example's `path/to/file`.
#[tokio::test]
async fn a_recorded_search_replace_block_under_a_copied_path_edits_the_file_holding_its_text() {
    let calc = "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a - b\n";
    let sandbox = Sandbox::new(&[("calc.py", calc), ("test_calc.py", "import calc\n")]);
    let mock = MockGlm::start(vec![
        support::recorded_stream("llama-cpp/sse_search_replace_1.5b.txt"),
        turn().content("Fixed.").reply(),
    ])
    .await;
    let run = finish(local_run(&sandbox, &mock, "fix add")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sandbox.read("calc.py"), calc.replace("a - b", "a + b"));
    assert_eq!(
        last_user_message(&mock),
        "<tool_response>\napplied:\ncalc.py: +1 -1\n</tool_response>"
    );
}

#[tokio::test]
async fn a_batch_task_chooses_its_edit_format() {
    let sandbox = Sandbox::new(&[("a.txt", "x\n")]);
    let tasks = sandbox.sessions_dir().with_file_name("tasks.jsonl");
    std::fs::write(
        &tasks,
        format!(
            "{}\n",
            json!({"id": "w", "task": "hi", "workspace": sandbox.path("."), "edit_format": "whole"})
        ),
    )
    .unwrap();
    let mock = MockGlm::start(vec![turn().content("ok").reply()]).await;
    let mut command = sandbox.agent(&mock);
    command
        .arg("batch")
        .arg(&tasks)
        .arg("--out")
        .arg(sandbox.sessions_dir().with_file_name("out"));
    let run = finish(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let offered = tool_names(&mock.requests()[0]);
    assert_eq!(
        offered,
        [
            "read_file",
            "list_files",
            "search",
            "run_command",
            "write_file",
            "update_plan"
        ]
    );
}
