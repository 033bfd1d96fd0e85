use super::*;

struct Tree {
    _dir: tempfile::TempDir,
    workspace: Workspace,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Self {
        let (dir, workspace) = crate::test_tree::tree(files);
        Self {
            _dir: dir,
            workspace,
        }
    }

    fn apply(&self, diff: &str) -> Result<(), ApplyError> {
        let edit = prepare(&self.workspace, diff)?;
        edit.commit().unwrap();
        Ok(())
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.workspace.root().join(path)).unwrap()
    }
}

const SOURCE: &str = "fn one() {\n    1\n}\n\nfn two() {\n    2\n}\n\nfn three() {\n    3\n}\n";

#[test]
fn exact_hunk_applies() {
    let tree = Tree::new(&[("src/lib.rs", SOURCE)]);
    tree.apply(
        "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -5,3 +5,3 @@\n fn two() {\n-    2\n+    22\n }\n",
    )
    .unwrap();
    assert_eq!(
        tree.read("src/lib.rs"),
        SOURCE.replace("    2\n", "    22\n")
    );
}

#[test]
fn wrong_line_numbers_are_only_a_hint() {
    let tree = Tree::new(&[("lib.rs", SOURCE)]);
    tree.apply("--- lib.rs\n+++ lib.rs\n@@ -40,3 +40,3 @@\n fn three() {\n-    3\n+    33\n }\n")
        .unwrap();
    assert_eq!(tree.read("lib.rs"), SOURCE.replace("    3\n", "    33\n"));
}

#[test]
fn hunks_out_of_order_apply() {
    let tree = Tree::new(&[("lib.rs", SOURCE)]);
    let diff = "--- a/lib.rs\n+++ b/lib.rs\n@@ @@\n fn three() {\n-    3\n+    33\n@@ @@\n fn one() {\n-    1\n+    11\n";
    tree.apply(diff).unwrap();
    assert_eq!(
        tree.read("lib.rs"),
        SOURCE
            .replace("    3\n", "    33\n")
            .replace("    1\n", "    11\n")
    );
}

#[test]
fn trailing_whitespace_drift_matches() {
    let tree = Tree::new(&[("a.txt", "alpha  \nbeta\ngamma\n")]);
    tree.apply("--- a.txt\n+++ a.txt\n@@ @@\n alpha\n-beta\n+BETA\n gamma\n")
        .unwrap();
    assert_eq!(tree.read("a.txt"), "alpha  \nBETA\ngamma\n");
}

#[test]
fn indentation_drift_reindents_added_lines() {
    let tree = Tree::new(&[("a.py", "def f():\n\tif x:\n\t\treturn 1\n\treturn 2\n")]);
    tree.apply("--- a.py\n+++ a.py\n@@ @@\n     if x:\n-        return 1\n+        log(x)\n+        return 10\n").unwrap();
    assert_eq!(
        tree.read("a.py"),
        "def f():\n\tif x:\n\t\tlog(x)\n\t\treturn 10\n\treturn 2\n"
    );
}

#[test]
fn unicode_quotes_and_dashes_match() {
    let tree = Tree::new(&[("a.txt", "say \u{201C}hi\u{201D} \u{2014} ok\nnext\n")]);
    tree.apply("--- a.txt\n+++ a.txt\n@@ @@\n-say \"hi\" - ok\n+say hello\n next\n")
        .unwrap();
    assert_eq!(tree.read("a.txt"), "say hello\nnext\n");
}

#[test]
fn crlf_and_missing_final_newline_are_kept() {
    let tree = Tree::new(&[("w.txt", "a\r\nb\r\nc")]);
    tree.apply("--- w.txt\n+++ w.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n")
        .unwrap();
    assert_eq!(tree.read("w.txt"), "a\r\nB\r\nB2\r\nc");
}

#[test]
fn no_newline_markers_are_honoured() {
    let tree = Tree::new(&[("n.txt", "a\nb")]);
    tree.apply("--- n.txt\n+++ n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")
        .unwrap();
    assert_eq!(tree.read("n.txt"), "a\nb\n");
}

#[test]
fn missing_context_line_is_fuzzed_away() {
    let tree = Tree::new(&[("lib.rs", SOURCE)]);
    // The model invented a context line before `fn two() {`.
    tree.apply(
        "--- lib.rs\n+++ lib.rs\n@@ -4,4 +4,4 @@\n // two\n fn two() {\n-    2\n+    22\n }\n",
    )
    .unwrap();
    assert_eq!(tree.read("lib.rs"), SOURCE.replace("    2\n", "    22\n"));
}

#[test]
fn new_deleted_and_renamed_files() {
    let tree = Tree::new(&[("old.txt", "bye\n"), ("mv.txt", "keep\n")]);
    let diff = "--- /dev/null\n+++ b/dir/new.txt\n@@ -0,0 +1,2 @@\n+hello\n+world\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\ndiff --git a/mv.txt b/moved.txt\nsimilarity index 100%\nrename from mv.txt\nrename to moved.txt\n";
    tree.apply(diff).unwrap();
    assert_eq!(tree.read("dir/new.txt"), "hello\nworld\n");
    assert!(!tree.workspace.root().join("old.txt").exists());
    assert!(!tree.workspace.root().join("mv.txt").exists());
    assert_eq!(tree.read("moved.txt"), "keep\n");
}

#[test]
fn ambiguous_hunk_is_refused_with_both_lines() {
    let tree = Tree::new(&[("d.txt", "x\ny\nz\nx\ny\nz\n")]);
    let error = tree
        .apply("--- d.txt\n+++ d.txt\n@@ @@\n x\n-y\n+Y\n")
        .unwrap_err();
    let ApplyError::Hunk(hunk) = &error else {
        panic!("{error}")
    };
    assert_eq!(hunk.problem, HunkProblem::Ambiguous { lines: vec![1, 4] });
    assert_eq!(tree.read("d.txt"), "x\ny\nz\nx\ny\nz\n");
}

#[test]
fn hint_breaks_ties_between_equal_matches() {
    let tree = Tree::new(&[("d.txt", "x\ny\nz\nx\ny\nz\n")]);
    tree.apply("--- d.txt\n+++ d.txt\n@@ -4,2 +4,2 @@\n x\n-y\n+Y\n")
        .unwrap();
    assert_eq!(tree.read("d.txt"), "x\ny\nz\nx\nY\nz\n");
}

#[test]
fn context_not_found_shows_the_closest_region() {
    let tree = Tree::new(&[("lib.rs", SOURCE)]);
    let error = tree
        .apply("--- lib.rs\n+++ lib.rs\n@@ @@\n fn two() {\n-    two\n+    22\n }\n")
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`lib.rs` hunk 1"), "{message}");
    assert!(message.contains("     5\tfn two() {"), "{message}");
}

#[test]
fn a_failing_second_file_leaves_the_first_untouched() {
    let tree = Tree::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let error = tree
        .apply("--- a.txt\n+++ a.txt\n@@ @@\n-a\n+A\n--- b.txt\n+++ b.txt\n@@ @@\n-nope\n+B\n")
        .unwrap_err();
    assert!(error.to_string().contains("`b.txt` hunk 1"), "{error}");
    assert_eq!(tree.read("a.txt"), "a\n");
}

#[test]
fn overlapping_hunks_are_refused() {
    let tree = Tree::new(&[("o.txt", "1\n2\n3\n4\n")]);
    let error = tree.apply("--- o.txt\n+++ o.txt\n@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n@@ -2,2 +2,2 @@\n 2\n-3\n+three\n").unwrap_err();
    assert!(matches!(error, ApplyError::Hunk(_)), "{error}");
    assert_eq!(tree.read("o.txt"), "1\n2\n3\n4\n");
}

#[test]
fn creating_an_existing_file_and_patching_a_missing_one_are_refused() {
    let tree = Tree::new(&[("a.txt", "a\n")]);
    assert_eq!(
        tree.apply("--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+x\n"),
        Err(ApplyError::FileExists {
            path: "a.txt".into()
        })
    );
    assert_eq!(
        tree.apply("--- a/missing.txt\n+++ b/missing.txt\n@@ @@\n-a\n+b\n"),
        Err(ApplyError::FileMissing {
            path: "missing.txt".into()
        })
    );
}

#[test]
fn paths_outside_the_workspace_are_refused() {
    let tree = Tree::new(&[]);
    let error = tree
        .apply("--- /dev/null\n+++ ../escape.txt\n@@ -0,0 +1 @@\n+x\n")
        .unwrap_err();
    assert!(
        matches!(error, ApplyError::Path(PathError::Outside { .. })),
        "{error}"
    );
}

#[test]
fn the_same_file_twice_in_one_diff() {
    let tree = Tree::new(&[("t.txt", "a\nb\nc\n")]);
    tree.apply("--- t.txt\n+++ t.txt\n@@ @@\n-a\n+A\n--- t.txt\n+++ t.txt\n@@ @@\n-c\n+C\n")
        .unwrap();
    assert_eq!(tree.read("t.txt"), "A\nb\nC\n");
}

#[test]
fn pure_insertion_uses_the_line_number() {
    let tree = Tree::new(&[("i.txt", "a\nb\n")]);
    tree.apply("--- i.txt\n+++ i.txt\n@@ -1,0 +2 @@\n+inserted\n")
        .unwrap();
    assert_eq!(tree.read("i.txt"), "a\ninserted\nb\n");
}

#[test]
fn nothing_follows_an_end_of_file_marker() {
    // With a context line missing, the diff's trailing newline must not pass for a blank context
    // line (it would make the hunk match once, in the wrong place): the hunk stays ambiguous.
    let source = "    }\n}\n\nfn b() {\n    }\n}\n";
    let tree = Tree::new(&[("e.rs", source)]);
    let error = tree.apply("--- a/e.rs\n+++ b/e.rs\n@@ -4,3 +4,3 @@\n     }\n-}\n+}\n\\ No newline at end of file\n\n").unwrap_err();
    let ApplyError::Hunk(hunk) = &error else {
        panic!("{error}")
    };
    assert_eq!(hunk.problem, HunkProblem::Ambiguous { lines: vec![1, 5] });
    assert_eq!(tree.read("e.rs"), source);
}

#[test]
fn many_files_are_prepared_in_parallel_with_the_same_results() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i:02}.txt")).collect();
    let files: Vec<(&str, &str)> = names
        .iter()
        .map(|name| (name.as_str(), "one\ntwo\nthree\n"))
        .collect();
    let tree = Tree::new(&files);
    let diff: String = names
        .iter()
        .map(|name| {
            format!("--- a/{name}\n+++ b/{name}\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n")
        })
        .collect();
    tree.apply(&diff).unwrap();
    assert!(
        names
            .iter()
            .all(|name| tree.read(name) == "one\nTWO\nthree\n")
    );

    let broken: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let removed = if i == 7 || i == 12 { "nope" } else { "TWO" };
            format!("--- a/{name}\n+++ b/{name}\n@@ -1,3 +1,3 @@\n one\n-{removed}\n+2\n three\n")
        })
        .collect();
    let error = tree.apply(&broken).unwrap_err();
    assert!(error.to_string().starts_with("`f07.txt` hunk 1"), "{error}");
    assert!(
        names
            .iter()
            .all(|name| tree.read(name) == "one\nTWO\nthree\n")
    );
}

#[test]
fn a_hunk_missing_a_line_does_not_move_an_exact_one_in_a_run_of_equal_lines() {
    let mut lines: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
    lines.extend((0..20).map(|_| "same".to_string()));
    lines.extend((0..10).map(|i| format!("b{i}")));
    let file = lines.join("\n") + "\n";
    let tree = Tree::new(&[("t.txt", &file)]);
    // Hunk 1 is exact but matches anywhere in the run; hunk 2 lost its first context line (`b0`),
    // so it matches a line below its header. Hunk 1 must stay where its own header says.
    let diff = "--- a/t.txt\n+++ b/t.txt\n@@ -12,6 +12,7 @@\n same\n same\n same\n+X\n same\n same\n same\n@@ -31,6 +32,7 @@\n b1\n b2\n+Y\n b3\n b4\n b5\n";
    tree.apply(diff).unwrap();
    let mut expected = lines.clone();
    expected.insert(33, "Y".to_string());
    expected.insert(14, "X".to_string());
    assert_eq!(tree.read("t.txt"), expected.join("\n") + "\n");
}

mod modes {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(tree: &Tree, path: &str) -> u32 {
        std::fs::metadata(tree.workspace.root().join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    fn chmod(tree: &Tree, path: &str, mode: u32) {
        let full = tree.workspace.root().join(path);
        std::fs::set_permissions(full, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_file_gets_the_mode_any_new_file_gets() {
        let tree = Tree::new(&[("plain.txt", "made by std::fs::write\n")]);
        tree.apply("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n")
            .unwrap();
        // Not the 0600 of a temp file: 0666 less the umask, like the file beside it.
        assert_eq!(mode(&tree, "new.txt"), mode(&tree, "plain.txt"));
    }

    #[test]
    fn new_file_mode_755_creates_an_executable() {
        let tree = Tree::new(&[]);
        let diff = "diff --git a/run.sh b/run.sh\nnew file mode 100755\nindex 0000000..1111111\n--- /dev/null\n+++ b/run.sh\n@@ -0,0 +1 @@\n+echo hi\n";
        let edit = prepare(&tree.workspace, diff).unwrap();
        assert_eq!(edit.summary(), "run.sh: +1 -0 (created, executable)");
        edit.commit().unwrap();
        assert_eq!(mode(&tree, "run.sh") & 0o100, 0o100);
    }

    #[test]
    fn a_mode_change_alone_applies_and_is_shown() {
        let tree = Tree::new(&[("run.sh", "echo hi\n")]);
        chmod(&tree, "run.sh", 0o644);
        let diff = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n";
        let edit = prepare(&tree.workspace, diff).unwrap();
        assert_eq!(edit.summary(), "run.sh: +0 -0 (made executable)");
        assert_eq!(
            edit.unified_diff(),
            "old mode 100644\nnew mode 100755\n--- a/run.sh\n+++ b/run.sh\n"
        );
        edit.commit().unwrap();
        assert_eq!(mode(&tree, "run.sh"), 0o755);
        assert_eq!(tree.read("run.sh"), "echo hi\n");
        // Already executable: nothing left to do.
        assert_eq!(prepare(&tree.workspace, diff).unwrap().changes, vec![]);
    }

    #[test]
    fn the_executable_bit_is_cleared_with_a_content_change() {
        let tree = Tree::new(&[("run.sh", "echo hi\n")]);
        chmod(&tree, "run.sh", 0o750);
        let diff = "diff --git a/run.sh b/run.sh\nold mode 100755\nnew mode 100644\n--- a/run.sh\n+++ b/run.sh\n@@ -1 +1 @@\n-echo hi\n+echo bye\n";
        tree.apply(diff).unwrap();
        assert_eq!(mode(&tree, "run.sh"), 0o640);
        assert_eq!(tree.read("run.sh"), "echo bye\n");
    }

    #[test]
    fn a_renamed_executable_stays_executable() {
        let tree = Tree::new(&[("run.sh", "echo hi\n")]);
        chmod(&tree, "run.sh", 0o755);
        let diff = "diff --git a/run.sh b/bin/run.sh\nsimilarity index 100%\nrename from run.sh\nrename to bin/run.sh\n";
        tree.apply(diff).unwrap();
        assert_eq!(mode(&tree, "bin/run.sh") & 0o111, 0o111);
    }

    #[test]
    fn symlinks_are_refused() {
        let tree = Tree::new(&[]);
        let diff = "diff --git a/link b/link\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n";
        assert_eq!(
            prepare(&tree.workspace, diff),
            Err(ApplyError::Parse(ParseError::UnsupportedMode {
                path: "link".into(),
                mode: "120000".into(),
                what: "a symlink",
            }))
        );
    }
}

/// Issue 19's file: two functions, each changed once.
const TWO_FUNCTIONS: &str =
    "fn a() {\n    one();\n    two();\n}\n\nfn b() {\n    three();\n    four();\n}\n";

#[test]
fn context_lines_without_their_space_never_drop_a_later_change() {
    let tree = Tree::new(&[("x.rs", TWO_FUNCTIONS)]);
    tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ -1,9 +1,9 @@\n fn a() {\n-    one();\n+    uno();\n    two();\n}\n\nfn b() {\n-    three();\n+    tres();\n    four();\n}\n")
        .unwrap();
    assert_eq!(
        tree.read("x.rs"),
        "fn a() {\n    uno();\n    two();\n}\n\nfn b() {\n    tres();\n    four();\n}\n"
    );
}

#[test]
fn every_context_line_without_its_space_applies() {
    let tree = Tree::new(&[("x.rs", TWO_FUNCTIONS)]);
    tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ -5,5 +5,5 @@\n\nfn b() {\n-    three();\n+    tres();\n    four();\n}\n")
        .unwrap();
    assert_eq!(tree.read("x.rs"), TWO_FUNCTIONS.replace("three", "tres"));
}

#[test]
fn a_first_context_line_without_its_space_starts_the_hunk() {
    let source = "def add(a, b):\n    return a - b\n";
    let tree = Tree::new(&[("calc.py", source)]);
    tree.apply("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\ndef add(a, b):\n-    return a - b\n+    return a + b\n")
        .unwrap();
    assert_eq!(tree.read("calc.py"), "def add(a, b):\n    return a + b\n");
}

#[test]
fn a_diff_without_a_hunk_header_applies_its_lines() {
    let source = "def add(a, b):\n    return a - b\n";
    let tree = Tree::new(&[("calc.py", source)]);
    tree.apply(
        "--- a/calc.py\n+++ b/calc.py\n def add(a, b):\n-    return a - b\n+    return a + b\n",
    )
    .unwrap();
    assert_eq!(tree.read("calc.py"), "def add(a, b):\n    return a + b\n");
}

#[test]
fn an_indented_or_quoted_diff_is_unwrapped() {
    let source = "def add(a, b):\n    return a - b\n";
    let diff = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n";
    for wrapped in [
        diff.lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>(),
        format!(
            "    ```diff\n{}    ```\n",
            diff.lines()
                .map(|line| format!("    {line}\n"))
                .collect::<String>()
        ),
        diff.lines()
            .map(|line| format!("> {line}\n"))
            .collect::<String>(),
        diff.replace('\n', "\\n"),
    ] {
        let tree = Tree::new(&[("calc.py", source)]);
        tree.apply(&wrapped)
            .unwrap_or_else(|error| panic!("{wrapped}\n{error}"));
        assert_eq!(
            tree.read("calc.py"),
            "def add(a, b):\n    return a + b\n",
            "{wrapped}"
        );
    }
}

#[test]
fn prose_after_a_hunk_is_not_context_it_must_match() {
    let tree = Tree::new(&[("x.rs", TWO_FUNCTIONS)]);
    tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ -1,4 +1,4 @@\n fn a() {\n-    one();\n+    uno();\n     two();\nThis renames one to uno.\nNothing else changes.\n")
        .unwrap();
    assert_eq!(tree.read("x.rs"), TWO_FUNCTIONS.replace("one", "uno"));
}

#[test]
fn lines_that_look_like_headers_inside_a_counted_hunk_are_its_lines() {
    let source = "x\n-- a\ny\n";
    let tree = Tree::new(&[("notes.sql", source)]);
    tree.apply("--- a/notes.sql\n+++ b/notes.sql\n@@ -1,3 +1,3 @@\n x\n--- a\n+++ b\n y\n")
        .unwrap();
    assert_eq!(tree.read("notes.sql"), "x\n++ b\ny\n");
}

#[test]
fn unreadable_or_changeless_diffs_say_exactly_why() {
    let tree = Tree::new(&[("x.rs", TWO_FUNCTIONS)]);
    assert_eq!(
        tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ -1,2 +1,2 @@\n fn a() {\n     one();\n"),
        Err(ApplyError::Parse(ParseError::NoChanges))
    );
    assert_eq!(
        tree.apply("change this:\n-    one();\n+    uno();\n"),
        Err(ApplyError::Parse(ParseError::ChangeWithoutFile {
            line: 2,
            text: "-    one();".into()
        }))
    );
    assert_eq!(
        tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ -8,2 +8,2 @@\n     four();\n-}\n+}\n\\ No newline at end of file\n+fn c() {}\n"),
        Err(ApplyError::Parse(ParseError::LineAfterEnd {
            line: 8,
            text: "+fn c() {}".into()
        }))
    );
    assert_eq!(tree.read("x.rs"), TWO_FUNCTIONS);
}

#[test]
fn lost_signs_do_not_reindent_added_lines() {
    // The context lost its sign and its first space; the added line's indentation is the
    // model's own and is kept.
    let tree = Tree::new(&[("x.rs", TWO_FUNCTIONS)]);
    tree.apply("--- a/x.rs\n+++ b/x.rs\n@@ @@\nfn b() {\n    three();\n+    three_and_a_half();\n    four();\n}\n")
        .unwrap();
    assert_eq!(
        tree.read("x.rs"),
        TWO_FUNCTIONS.replace("    three();\n", "    three();\n    three_and_a_half();\n")
    );
}
