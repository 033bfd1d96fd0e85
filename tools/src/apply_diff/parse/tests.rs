use super::*;

fn line(kind: LineKind, text: &str) -> HunkLine<'_> {
    HunkLine {
        kind,
        text,
        sign: Sign::Written,
    }
}

#[test]
fn git_diff_with_metadata() {
    let diff = "diff --git a/src/x.rs b/src/x.rs\nindex 123..456 100644\n--- a/src/x.rs\n+++ b/src/x.rs\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n";
    assert_eq!(
        parse(diff).unwrap(),
        vec![FilePatch {
            old_path: Some("a/src/x.rs".into()),
            new_path: Some("b/src/x.rs".into()),
            git_format: true,
            hunks: vec![Hunk {
                header: "@@ -1,2 +1,2 @@",
                old_start: Some(1),
                old_count: Some(2),
                new_count: Some(2),
                lines: vec![
                    line(LineKind::Context, "a"),
                    line(LineKind::Remove, "b"),
                    line(LineKind::Add, "c")
                ],
                ..Hunk::default()
            }],
            ..FilePatch::default()
        }]
    );
}

#[test]
fn creating_or_deleting_a_file_with_the_wrong_lines_is_refused() {
    let posed = "--- /dev/null\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n";
    assert_eq!(
        parse(posed),
        Err(ParseError::NewFileWithOldLines {
            path: "calc.py".into()
        })
    );
    let deleted = "--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-bye\n+hello\n";
    assert_eq!(
        parse(deleted),
        Err(ParseError::DeletedFileWithNewLines {
            path: "old.txt".into()
        })
    );
    // A blank line that lost its `+` still counts as the new file's; the blank line that
    // ends the diff text does not.
    let created = "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,3 @@\n+a\n\n+b\n\n";
    let kinds: Vec<(LineKind, &str)> = parse(created).unwrap()[0].hunks[0]
        .lines
        .iter()
        .map(|line| (line.kind, line.text))
        .collect();
    assert_eq!(
        kinds,
        [
            (LineKind::Add, "a"),
            (LineKind::Add, ""),
            (LineKind::Add, "b")
        ]
    );
}

#[test]
fn loose_fenced_diff_with_timestamps_and_bare_header() {
    let diff = "```diff\n--- x.txt\t2024-01-01 00:00:00\n+++ x.txt\t2024-01-02\n@@ @@\n a\n\n-b\n+c\n```\n";
    let files = parse(diff).unwrap();
    assert_eq!(files[0].old_path.as_deref(), Some("x.txt"));
    assert_eq!(files[0].hunks[0].old_start, None);
    assert_eq!(
        files[0].hunks[0].lines,
        vec![
            line(LineKind::Context, "a"),
            line(LineKind::Context, ""),
            line(LineKind::Remove, "b"),
            line(LineKind::Add, "c")
        ]
    );
}

#[test]
fn new_deleted_and_no_newline_markers() {
    let diff = "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\\ No newline at end of file\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
    let files = parse(diff).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].old_path, None);
    assert!(files[0].hunks[0].new_missing_newline);
    assert_eq!(files[1].new_path, None);
}

#[test]
fn binary_and_headerless_diffs_are_refused() {
    let binary = "diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n";
    assert_eq!(
        parse(binary),
        Err(ParseError::Binary {
            path: "img.png".into()
        })
    );
    assert_eq!(
        parse("@@ -1 +1 @@\n-a\n+b\n"),
        Err(ParseError::HunkWithoutFile { line: 1 })
    );
    assert_eq!(parse("just prose"), Err(ParseError::Empty));
}

#[test]
fn git_rename_without_hunks() {
    let diff = "diff --git a/old.rs b/new.rs\nsimilarity index 100%\nrename from old.rs\nrename to new.rs\n";
    let files = parse(diff).unwrap();
    assert_eq!(files[0].old_path.as_deref(), Some("a/old.rs"));
    assert_eq!(files[0].new_path.as_deref(), Some("b/new.rs"));
}
