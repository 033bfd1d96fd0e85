use super::*;
use crate::test_tree::tree;

fn args(path: &str, old: &str, new: &str) -> EditFileArgs {
    EditFileArgs {
        path: path.into(),
        old_string: Some(old.into()),
        new_string: Some(new.into()),
        replace_all: None,
        edits: None,
    }
}

/// The new content the edit would write, or the message.
fn outcome(workspace: &Workspace, args: &EditFileArgs) -> Result<(String, Vec<String>), String> {
    prepare(workspace, args).map(|prepared| {
        let [change] = prepared.edit.changes.as_slice() else {
            panic!("one file")
        };
        (change.new.clone().unwrap(), prepared.notes)
    })
}

const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n";

#[test]
fn a_unique_string_is_replaced() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(
            &workspace,
            &args(
                "calc.py",
                "def add(a, b):\n    return a - b",
                "def add(a, b):\n    return a + b"
            )
        ),
        Ok((CALC.replacen("a - b", "a + b", 1), vec![]))
    );
}

#[test]
fn a_string_found_twice_names_both_lines() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "return a - b", "return a + b")),
        Err("old_string occurs 2 times, at lines 2, 6: add surrounding lines to old_string so it occurs once, or set replace_all in `calc.py`; nothing was changed".into())
    );
    let mut all = args("calc.py", "a - b", "b - a");
    all.replace_all = Some(true);
    assert_eq!(
        outcome(&workspace, &all),
        Ok((
            CALC.replace("a - b", "b - a"),
            vec!["replaced 2 occurrences".into()]
        ))
    );
}

#[test]
fn a_string_with_other_indentation_matches_once_and_is_reindented() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "def sub(a, b):\n  return a - b  \n", "def sub(a, b):\n  if a is None:\n    return -b\n  return a - b\n")),
        Ok((
            "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    if a is None:\n        return -b\n    return a - b\n".into(),
            vec!["old_string was not in the file as written; it matched lines 5-6 ignoring indentation and trailing spaces, and new_string was re-indented to the file's indentation".into()]
        ))
    );
    let (_dir, workspace) = tree(&[("m.py", "class A:\n    def f(self):\n        return 1\n")]);
    assert_eq!(
        outcome(&workspace, &args("m.py", "def f(self):\n    return 1", "def f(self):\n    return 2")),
        Ok((
            "class A:\n    def f(self):\n        return 2\n".into(),
            vec!["old_string was not in the file as written; it matched lines 2-3 ignoring indentation and trailing spaces, and new_string was re-indented to the file's indentation".into()]
        ))
    );
}

#[test]
fn a_missing_string_shows_the_closest_lines() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "def sub(a, b):\n    return a + b\n", "x")),
        Err("old_string was not found (not even ignoring indentation). The closest lines are:\n     3\t\n     4\t\n     5\tdef sub(a, b):\n     6\t    return a - b\nCopy old_string exactly from the file, without the line numbers in `calc.py`; nothing was changed".into())
    );
}

#[test]
fn several_edits_apply_in_order_or_not_at_all() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    let replacement = |old: &str, new: &str| Replacement {
        old_string: old.into(),
        new_string: new.into(),
        replace_all: None,
    };
    let mut several = args(
        "calc.py",
        "def add(a, b):\n    return a - b",
        "def add(a, b):\n    return a + b",
    );
    several.edits = Some(vec![replacement("def sub(", "def subtract(")]);
    assert_eq!(
        outcome(&workspace, &several),
        Ok((
            CALC.replacen("a - b", "a + b", 1)
                .replace("def sub(", "def subtract("),
            vec![]
        ))
    );
    several.edits = Some(vec![
        replacement("def sub(", "def subtract("),
        replacement("def mul(", "x"),
    ]);
    let error = outcome(&workspace, &several).unwrap_err();
    assert!(
        error.starts_with("edit 3 of 3: old_string was not found"),
        "{error}"
    );
}

#[test]
fn an_empty_old_string_creates_a_missing_file_only() {
    let (dir, workspace) = tree(&[("calc.py", CALC)]);
    let prepared = prepare(&workspace, &args("new.py", "", "x = 1\n")).unwrap();
    assert_eq!(prepared.edit.changes[0].kind, ChangeKind::Create);
    prepared.edit.commit().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new.py")).unwrap(),
        "x = 1\n"
    );
    assert!(
        outcome(&workspace, &args("calc.py", "", "x"))
            .unwrap_err()
            .starts_with("old_string is empty but the file is not")
    );
    assert!(
        outcome(&workspace, &args("nope.py", "a", "b"))
            .unwrap_err()
            .starts_with("`nope.py` does not exist;")
    );
}

#[test]
fn crlf_files_keep_their_endings() {
    let (_dir, workspace) = tree(&[("w.txt", "a\r\nb\r\nc\r\n")]);
    assert_eq!(
        outcome(&workspace, &args("w.txt", "a\nb\n", "a\nB\nb2\n")),
        Ok(("a\r\nB\r\nb2\r\nc\r\n".into(), vec![]))
    );
}

#[test]
fn a_replacement_that_changes_nothing_says_so() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "def add", "def add")),
        Err("old_string and new_string are the same, so there is nothing to change in `calc.py`; nothing was changed".into())
    );
}

#[test]
fn an_edit_made_already_says_so() {
    let (_dir, workspace) = tree(&[("calc.py", CALC)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "return a * b", "return a - b")),
        Err("nothing to do: the file already has new_string (at line 2) and not old_string, so this change is made already (by an earlier call) in `calc.py`; nothing was changed".into())
    );
}

#[test]
fn a_shortened_old_string_changes_only_what_it_changes() {
    let source = "def add(a, b):\n    \"\"\"Return the sum.\"\"\"\n    return a - b\n";
    let (_dir, workspace) = tree(&[("calc.py", source)]);
    assert_eq!(
        outcome(&workspace, &args("calc.py", "def add(a, b): return a - b", "def add(a, b): return a + b")),
        Ok((
            source.replace("a - b", "a + b"),
            vec!["old_string was not in the file, not even ignoring indentation, but the part it changes occurs once: `a - b` at line 3 became `a + b`; the rest of the file is as it was. Read the file to check".into()]
        ))
    );
}
