use super::*;
use crate::test_tree::tree;

const LISTS: &str = "def first(items):\n    return items[0]\n\n\ndef last(items):\n    \"\"\"The last item.\"\"\"\n    return items[0]\n\n\ndef size(items):\n    return len(items)\n";

#[test]
fn one_definition_defined_once_is_proposed_as_its_replacement() {
    let (_dir, workspace) = tree(&[
        ("util/lists.py", LISTS),
        ("test_lists.py", "from util.lists import last\n"),
    ]);
    let reply = "Here is the fixed code:\n\n```python\ndef last(items):\n    \"\"\"The last item.\"\"\"\n    return items[-1]\n```\n";
    assert_eq!(
        proposals(&workspace, reply).pop(),
        Some(Proposal::Edit(EditFileArgs {
            path: "util/lists.py".into(),
            old_string: Some(
                "def last(items):\n    \"\"\"The last item.\"\"\"\n    return items[0]\n".into()
            ),
            new_string: Some(
                "def last(items):\n    \"\"\"The last item.\"\"\"\n    return items[-1]\n".into()
            ),
            replace_all: None,
            edits: None,
        }))
    );
}

#[test]
fn a_brace_function_and_a_whole_file() {
    let greeting = "// Greets.\nfunction greet(name) {\n  if (name === \"\") {\n    return name;\n  }\n  return name;\n}\n\nmodule.exports = { greet };\n";
    let (_dir, workspace) = tree(&[("greeting.js", greeting)]);
    let one = "```javascript\nfunction greet(name) {\n  if (name === \"\") {\n    return \"world\";\n  }\n  return name;\n}\n```";
    let Some(Proposal::Edit(edit)) = proposals(&workspace, one).pop() else {
        panic!("an edit")
    };
    assert_eq!(
        edit.old_string.unwrap(),
        "function greet(name) {\n  if (name === \"\") {\n    return name;\n  }\n  return name;\n}\n"
    );
    let whole = "```js\nfunction greet(name) {\n  return name || \"world\";\n}\n\nmodule.exports = { greet };\n```";
    assert_eq!(
        proposals(&workspace, whole).pop(),
        Some(Proposal::Write(WriteFileArgs {
            path: "greeting.js".into(),
            content: "function greet(name) {\n  return name || \"world\";\n}\n\nmodule.exports = { greet };\n".into()
        }))
    );
}

#[test]
fn snippets_commands_and_repeated_names_propose_nothing() {
    let (_dir, workspace) = tree(&[("a.py", LISTS), ("b.py", "def last(x):\n    return x\n")]);
    let last = "```python\ndef last(items):\n    return items[-1]\n```";
    assert_eq!(proposals(&workspace, last), vec![]);
    assert_eq!(
        proposals(&workspace, "```python\nreturn items[-1]\n```"),
        vec![]
    );
    assert_eq!(
        proposals(&workspace, "```sh\npython3 -m unittest\n```"),
        vec![]
    );
    let same = "```python\ndef size(items):\n    return len(items)\n```";
    assert_eq!(proposals(&workspace, same), vec![]);
}

#[test]
fn each_block_of_one_definition_counts_and_the_original_shown_first_does_not() {
    let (_dir, workspace) = tree(&[
        ("calc.py", "def add(a, b):\n    return a - b\n"),
        (
            "words.py",
            "def join_words(words):\n    return \" \".join(words)\n",
        ),
    ]);
    let reply = "1. Locate it:\n   ```python\n   # calc.py\n   def add(a, b):\n       return a - b\n   ```\n2. Fix it:\n   ```python\n   # calc.py\n   def add(a, b):\n       return a + b\n   ```\nIn `words.py`:\n```python\ndef join_words(words, sep=\" \"):\n    return sep.join(words)\n```\n";
    let paths: Vec<(String, Option<String>)> = proposals(&workspace, reply)
        .into_iter()
        .map(|proposal| match proposal {
            Proposal::Edit(args) => (args.path, args.new_string),
            Proposal::Write(args) => (args.path, Some(args.content)),
            Proposal::Diff(args) => (args.diff, None),
        })
        .collect();
    assert_eq!(
        paths,
        [
            (
                "calc.py".to_string(),
                Some("def add(a, b):\n    return a + b\n".to_string())
            ),
            (
                "words.py".to_string(),
                Some("def join_words(words, sep=\" \"):\n    return sep.join(words)\n".to_string())
            ),
        ]
    );
}

#[test]
fn a_search_replace_block_naming_a_missing_file_edits_the_one_file_holding_its_text() {
    let (_dir, workspace) = tree(&[("util/lists.py", LISTS), ("other.py", "x = 1\n")]);
    let reply = "path/to/file\n<<<<<<< SEARCH\n    return items[0]\n=======\n    return items[-1]\n>>>>>>> REPLACE\n";
    let Some(Proposal::Edit(edit)) = proposals(&workspace, reply).pop() else {
        panic!("an edit")
    };
    assert_eq!(edit.path, "util/lists.py");
    let nowhere = "path/to/file\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n";
    let Some(Proposal::Edit(edit)) = proposals(&workspace, nowhere).pop() else {
        panic!("an edit")
    };
    assert_eq!(edit.path, "path/to/file");
}

#[test]
fn a_shown_diff_that_applies_is_proposed_and_one_that_does_not_is_not() {
    let (_dir, workspace) = tree(&[(
        "settings.py",
        "def port(config):\n    return config[\"port\"]\n",
    )]);
    let applies = "I changed it:\n```diff\n--- a/settings.py\n+++ b/settings.py\n@@ -1,2 +1,2 @@\n def port(config):\n-    return config[\"port\"]\n+    return config.get(\"port\", 80)\n```\n";
    assert_eq!(
        proposals(&workspace, applies),
        vec![Proposal::Diff(ApplyDiffArgs {
            diff: "--- a/settings.py\n+++ b/settings.py\n@@ -1,2 +1,2 @@\n def port(config):\n-    return config[\"port\"]\n+    return config.get(\"port\", 80)\n".into()
        })]
    );
    let stale = applies.replace("config[\"port\"]", "config['port']");
    assert_eq!(proposals(&workspace, &stale), vec![]);
}

#[test]
fn a_named_block_of_one_definition_replaces_it_and_keeps_the_rest() {
    let (_dir, workspace) = tree(&[("util/lists.py", LISTS)]);
    let reply = "### `util/lists.py`\n```python\ndef last(items):\n    return items[-1]\n```\n\nutil/new.py\n```python\nX = 1\n```\n";
    assert_eq!(
        proposals(&workspace, reply),
        vec![
            Proposal::Edit(EditFileArgs {
                path: "util/lists.py".into(),
                old_string: Some(
                    "def last(items):\n    \"\"\"The last item.\"\"\"\n    return items[0]\n"
                        .into()
                ),
                new_string: Some("def last(items):\n    return items[-1]\n".into()),
                replace_all: None,
                edits: None,
            }),
            Proposal::Write(WriteFileArgs {
                path: "util/new.py".into(),
                content: "X = 1\n".into()
            }),
        ]
    );
}

/// Regression: a reply showing a function as it was, then fixed, sent again once the fix was
/// made, proposed the function as it was: the same reply undid and redid the fix turn after turn.
#[test]
fn the_code_as_it_was_is_never_proposed_even_once_the_fix_is_there() {
    let before = "def median(values):\n    ordered = sorted(values)\n    return ordered[len(ordered) // 2]\n";
    let fixed = "def median(values):\n    ordered = sorted(values)\n    if len(ordered) % 2 == 0:\n        return (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2\n    return ordered[len(ordered) // 2]\n";
    let reply = format!("It is now:\n```python\n{before}```\nFixed:\n```python\n{fixed}```\n");
    let (_dir, workspace) = tree(&[("stats.py", before)]);
    let proposed: Vec<Option<String>> = proposals(&workspace, &reply)
        .into_iter()
        .map(|proposal| match proposal {
            Proposal::Edit(args) => args.new_string,
            Proposal::Write(_) | Proposal::Diff(_) => None,
        })
        .collect();
    assert_eq!(proposed, [Some(fixed.to_string())]);
    let (_dir, workspace) = tree(&[("stats.py", fixed)]);
    assert_eq!(proposals(&workspace, &reply).len(), 0);
}
