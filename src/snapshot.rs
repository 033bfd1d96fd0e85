/*!
A compact picture of the workspace for the start of a session, so the model does not begin blind
and guess files that do not exist: the files (honouring .gitignore, nearest levels first, cut to a
budget with a note of what was left out), the git branch and status, the project's kind and test
command where a manifest or the files show them, and the content of small files the task names
(of every file, when the whole workspace is that small).

Taken once per session and placed in the system prompt, so every request begins with the same
bytes and the provider's prefix cache keeps hitting.
*/

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// About 1.5k tokens of file list, at roughly 3 bytes a token.
const LIST_BUDGET_BYTES: usize = 4_500;
/// Files the task names are shown whole up to this size, at most [`MAX_NAMED_FILES`] of them.
const NAMED_FILE_MAX_BYTES: u64 = 6_000;
const MAX_NAMED_FILES: usize = 3;
/// A workspace of at most this many text files and bytes is shown whole: reading it all costs
/// less than the turns a model spends finding its way in it.
const SMALL_WORKSPACE_FILES: usize = 8;
const SMALL_WORKSPACE_BYTES: u64 = 8_000;
/// Directories beyond this depth are not walked.
const MAX_DEPTH: usize = 6;
/// The walk stops here: a snapshot must stay cheap in a huge tree.
const MAX_WALKED: usize = 20_000;

/// The snapshot of `root` for a session on `task`, as Markdown.
pub fn snapshot(root: &Path, task: &str) -> String {
    let files = walk(root);
    let mut out = String::from("# Workspace snapshot (taken when the session started)\n\n");
    for kind in project_kinds(root, &files) {
        let test = kind
            .test
            .map(|command| format!("; test with `{command}`"))
            .unwrap_or_default();
        out.push_str(&format!("Project: {}{test}\n", kind.name));
    }
    out.push_str(&format!("Git: {}\n\n", git_summary(root)));
    out.push_str(&file_list(&files));
    let (intro, label, shown) = match shown_files(root, task, &files) {
        Shown::EveryFile(shown) => (
            "\nThe workspace is this small, so here is every file.\n",
            "",
            shown,
        ),
        Shown::NamedInTask(shown) => ("", " (named in the task)", shown),
    };
    out.push_str(intro);
    for (path, content) in shown {
        let fence = if content.contains("```") {
            "~~~~"
        } else {
            "```"
        };
        out.push_str(&format!(
            "\n## {path}{label}\n\n{fence}\n{}\n{fence}\n",
            content.trim_end()
        ));
    }
    out
}

/// Relative paths of the files, nearest levels first, then by name.
fn walk(root: &Path) -> Vec<String> {
    let mut files: Vec<(usize, String)> = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .max_depth(Some(MAX_DEPTH))
        .filter_entry(|entry| entry.file_name() != ".git")
        .build()
        .flatten()
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .take(MAX_WALKED)
        .filter_map(|entry| {
            let relative = entry.path().strip_prefix(root).ok()?;
            Some((entry.depth(), relative.to_string_lossy().into_owned()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, path)| path).collect()
}

fn file_list(files: &[String]) -> String {
    let mut shown = String::new();
    let mut count = 0;
    for path in files {
        if shown.len() + path.len() + 1 > LIST_BUDGET_BYTES {
            break;
        }
        shown.push_str(path);
        shown.push('\n');
        count += 1;
    }
    let mut out = format!("Files ({} in all, nearest levels first):\n", files.len());
    out.push_str(&shown);
    let left = files.len() - count;
    if left > 0 {
        let dirs: BTreeSet<&str> = files[count..]
            .iter()
            .filter_map(|path| path.split('/').next().filter(|_| path.contains('/')))
            .collect();
        let dirs: Vec<&str> = dirs.into_iter().take(12).collect();
        out.push_str(&format!(
            "({left} more not shown, under {}; use list_files to see them)\n",
            dirs.join(", ")
        ));
    }
    out
}

/// "branch main, 2 changed, 1 untracked", or why there is no git status.
fn git_summary(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let Some(status) = git(&[
        "status",
        "--porcelain=v1",
        "--branch",
        "--untracked-files=normal",
    ]) else {
        return "not a git repository".into();
    };
    let mut lines = status.lines();
    let branch = lines
        .next()
        .and_then(|line| line.strip_prefix("## "))
        .map(|branch| branch.split("...").next().unwrap_or(branch))
        .unwrap_or("?")
        .replace("No commits yet on ", "");
    let (untracked, changed) = lines.fold((0, 0), |(untracked, changed), line| {
        match line.starts_with("??") {
            true => (untracked + 1, changed),
            false => (untracked, changed + 1),
        }
    });
    match (changed, untracked) {
        (0, 0) => format!("branch {branch}, clean"),
        _ => format!("branch {branch}, {changed} changed, {untracked} untracked"),
    }
}

/// A kind of project the workspace is, and how its tests run where that is clear.
struct ProjectKind {
    name: String,
    test: Option<String>,
}

impl ProjectKind {
    fn new(name: impl Into<String>, test: Option<&str>) -> Self {
        Self {
            name: name.into(),
            test: test.map(str::to_string),
        }
    }
}

/// The project kinds its manifests (or its files) show, each with its test command where one is
/// clear.
fn project_kinds(root: &Path, files: &[String]) -> Vec<ProjectKind> {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let mut kinds = Vec::new();
    if read("Cargo.toml").is_some() {
        kinds.push(ProjectKind::new("Rust (Cargo.toml)", Some("cargo test")));
    }
    if let Some(manifest) = read("package.json") {
        let scripts: Vec<String> = serde_json::from_str::<serde_json::Value>(&manifest)
            .ok()
            .and_then(|json| json["scripts"].as_object().cloned())
            .map(|scripts| scripts.keys().cloned().collect())
            .unwrap_or_default();
        let test = scripts
            .iter()
            .any(|name| name == "test")
            .then_some("npm test");
        let name = format!(
            "JavaScript/TypeScript (package.json, scripts: {})",
            scripts.join(", ")
        );
        kinds.push(ProjectKind::new(name, test));
    }
    if let Some(python) = python_kind(root, files) {
        kinds.push(python);
    }
    if read("go.mod").is_some() {
        kinds.push(ProjectKind::new("Go (go.mod)", Some("go test ./...")));
    }
    if let Some(makefile) = read("Makefile") {
        let has_test = makefile.lines().any(|line| line.starts_with("test:"));
        kinds.push(ProjectKind::new(
            "Makefile",
            has_test.then_some("make test"),
        ));
    }
    kinds
}

/// Files shown whole (path and content), and why.
enum Shown {
    /// The workspace is small enough to show all of it.
    EveryFile(Vec<(String, String)>),
    NamedInTask(Vec<(String, String)>),
}

fn shown_files(root: &Path, task: &str, files: &[String]) -> Shown {
    // Sizes before contents: one large file must not be read whole only to find the workspace is
    // not small.
    let bytes = || {
        files
            .iter()
            .map(|path| std::fs::metadata(root.join(path)).map_or(u64::MAX, |meta| meta.len()))
            .fold(0, u64::saturating_add)
    };
    if files.len() <= SMALL_WORKSPACE_FILES && bytes() <= SMALL_WORKSPACE_BYTES {
        let every_file: Vec<(String, String)> = files
            .iter()
            .filter_map(|path| Some((path.clone(), std::fs::read_to_string(root.join(path)).ok()?)))
            .collect();
        if every_file.len() == files.len() {
            return Shown::EveryFile(every_file);
        }
    }
    Shown::NamedInTask(named_files(root, task, files))
}

/// Python, from a manifest or from `.py` files, with pytest where its configuration or a
/// `tests/` folder shows it, else unittest where there are `test*.py` files.
fn python_kind(root: &Path, files: &[String]) -> Option<ProjectKind> {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let pyproject = read("pyproject.toml");
    let manifest =
        pyproject.is_some() || read("setup.py").is_some() || read("requirements.txt").is_some();
    if !manifest && !files.iter().any(|path| path.ends_with(".py")) {
        return None;
    }
    let pytest = pyproject
        .as_deref()
        .is_some_and(|text| text.contains("pytest"))
        || read("pytest.ini").is_some()
        || read("conftest.py").is_some()
        || root.join("tests").is_dir();
    let unittest = files.iter().any(|path| {
        let name = path.rsplit('/').next().unwrap_or(path);
        name.starts_with("test") && name.ends_with(".py")
    });
    // Debian and macOS have no `python` unless asked for; Windows has no `python3`.
    let python = if cfg!(windows) { "python" } else { "python3" };
    let test = match (pytest, unittest) {
        (true, _) => Some(format!("{python} -m pytest")),
        (false, true) => Some(format!("{python} -m unittest")),
        (false, false) => None,
    };
    Some(ProjectKind::new("Python", test.as_deref()))
}

/// Small text files the task names, by path or by a file name found once in the tree.
fn named_files(root: &Path, task: &str, files: &[String]) -> Vec<(String, String)> {
    let mut found: Vec<String> = Vec::new();
    for word in task.split_whitespace() {
        let word = word.trim_matches(|c: char| !(c.is_alphanumeric() || "._-/".contains(c)));
        let word = word.trim_end_matches('.');
        if word.is_empty() || !(word.contains('.') || word.contains('/')) {
            continue;
        }
        let word = word.trim_start_matches("./");
        let suffix = format!("/{word}");
        let candidates: Vec<&String> = files
            .iter()
            .filter(|path| *path == word || path.ends_with(&suffix))
            .collect();
        if let [only] = candidates[..]
            && !found.contains(only)
        {
            found.push(only.clone());
        }
    }
    found
        .into_iter()
        .filter_map(|path| {
            let full = root.join(&path);
            let size = std::fs::metadata(&full).ok()?.len();
            if size > NAMED_FILE_MAX_BYTES {
                return None;
            }
            let content = std::fs::read_to_string(&full).ok()?;
            Some((path, content))
        })
        .take(MAX_NAMED_FILES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_repository_at_a_glance() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("calc/tests")).unwrap();
        std::fs::write(root.join("pyproject.toml"), "[tool.pytest.ini_options]\n").unwrap();
        std::fs::write(
            root.join("calc/ops.py"),
            "def add(a, b):\n    return a - b\n",
        )
        .unwrap();
        std::fs::write(
            root.join("calc/tests/test_ops.py"),
            "from calc.ops import add\n",
        )
        .unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        std::fs::create_dir_all(root.join("build")).unwrap();
        std::fs::write(root.join("build/out.txt"), "ignored\n").unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        for page in 1..=5 {
            std::fs::write(root.join(format!("docs/{page}.md")), "# page\n").unwrap();
        }
        assert_eq!(
            snapshot(root, "fix add in ops.py so the test passes"),
            "# Workspace snapshot (taken when the session started)\n\n\
             Project: Python; test with `python3 -m pytest`\n\
             Git: not a git repository\n\n\
             Files (9 in all, nearest levels first):\n\
             .gitignore\npyproject.toml\ncalc/ops.py\ndocs/1.md\ndocs/2.md\ndocs/3.md\ndocs/4.md\ndocs/5.md\n\
             calc/tests/test_ops.py\n\
             \n## calc/ops.py (named in the task)\n\n```\ndef add(a, b):\n    return a - b\n```\n"
        );
    }

    #[test]
    fn a_small_workspace_is_shown_whole_with_its_test_command() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
        std::fs::write(root.join("test_calc.py"), "import unittest\n").unwrap();
        assert_eq!(
            snapshot(root, "The unit test for add fails."),
            "# Workspace snapshot (taken when the session started)\n\n\
             Project: Python; test with `python3 -m unittest`\n\
             Git: not a git repository\n\n\
             Files (2 in all, nearest levels first):\n\
             calc.py\ntest_calc.py\n\
             \nThe workspace is this small, so here is every file.\n\
             \n## calc.py\n\n```\ndef add(a, b):\n    return a - b\n```\n\
             \n## test_calc.py\n\n```\nimport unittest\n```\n"
        );
    }

    #[test]
    fn a_long_list_is_cut_with_a_note() {
        let files: Vec<String> = (0..2000).map(|n| format!("src/module_{n:04}.rs")).collect();
        let listed = file_list(&files);
        assert!(listed.len() < LIST_BUDGET_BYTES + 200, "{}", listed.len());
        assert!(
            listed.ends_with("more not shown, under src; use list_files to see them)\n"),
            "{listed}"
        );
    }
}
