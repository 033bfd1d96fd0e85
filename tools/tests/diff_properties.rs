//! Property tests for `apply_diff`: no input makes the parser or the applier panic, a refused
//! diff leaves every file of the tree byte for byte as it was, and an applied one left none of its
//! added lines out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use agent_tools::Workspace;
use agent_tools::apply_diff::prepare;
use proptest::prelude::*;

const FILE: &str =
    "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n\nfn other() {\n    let x = 1;\n}\n";

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_file() {
            files.insert(
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            );
        }
    }
    files
}

/// Diff-like text: header, hunk and body lines in any order, with noise.
fn diff_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("--- a/main.rs".to_string()),
        Just("+++ b/main.rs".to_string()),
        Just("--- /dev/null".to_string()),
        Just("+++ /dev/null".to_string()),
        Just("diff --git a/main.rs b/main.rs".to_string()),
        Just("@@ -1,3 +1,3 @@".to_string()),
        Just("@@ @@".to_string()),
        "@@ -[0-9]{1,3}(,[0-9]{1,2})? \\+[0-9]{1,3}(,[0-9]{1,2})? @@".prop_map(|s| s),
        Just("\\ No newline at end of file".to_string()),
        Just("```diff".to_string()),
        Just("rename from main.rs".to_string()),
        Just("rename to moved.rs".to_string()),
        " (fn main\\(\\) \\{|    let x = 1;|\\}|)".prop_map(|s| s),
        "[-+ ](fn main\\(\\) \\{|    let x = [0-9];|\\}|.{0,12})".prop_map(|s| s),
        ".{0,20}".prop_map(|s| s),
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_applied_or_refused_without_panic(diff in diff_like()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.rs"), FILE).unwrap();
        let before = snapshot(dir.path());
        let workspace = Workspace::new(dir.path()).unwrap();
        match prepare(&workspace, &diff) {
            Ok(edit) => {
                edit.commit().unwrap();
                // Renames and new files put lines elsewhere: every file of the tree counts.
                let after: String = snapshot(dir.path())
                    .into_values()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .collect();
                for added in diff.lines().filter_map(|line| line.strip_prefix('+')) {
                    prop_assert!(
                        added.starts_with("++") || after.contains(added.trim()),
                        "`+{}` is not in the result:\n{}\n--- diff:\n{}", added, after, diff
                    );
                }
            }
            Err(error) => {
                prop_assert!(!error.to_string().is_empty());
                prop_assert_eq!(snapshot(dir.path()), before);
            }
        }
    }

    #[test]
    fn a_new_file_diff_with_old_lines_is_never_applied(
        body in prop::collection::vec("[-+ ][a-z =;]{0,12}", 1..12),
        old_line in "[- ][a-z =;]{1,12}",
        at in 0usize..12,
    ) {
        let mut lines = body;
        lines.insert(at.min(lines.len()), old_line);
        let diff = format!("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,{} @@\n{}\n", lines.len(), lines.join("\n"));
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::new(dir.path()).unwrap();
        prop_assert!(prepare(&workspace, &diff).is_err(), "{}", diff);
        prop_assert!(!dir.path().join("new.txt").exists());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.rs"), FILE).unwrap();
        let before = snapshot(dir.path());
        let workspace = Workspace::new(dir.path()).unwrap();
        if prepare(&workspace, &String::from_utf8_lossy(&bytes)).is_err() {
            prop_assert_eq!(snapshot(dir.path()), before);
        }
    }
}
