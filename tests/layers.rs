//! The architecture, checked: modules import downwards only, front ends sit side by side, and no
//! two modules import each other directly or through others (in this crate and in agent-tools).
//! Bottom to top: the vocabulary, settings and records, the parts of a session, the loop, the
//! session core, the command line, the front ends, `main`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module of `src/` and its layer; a module may import its own layer or lower ones.
const LAYERS: [(&str, u8); 26] = [
    ("protocol", 0),
    ("sync", 0),
    ("config", 1),
    ("records", 1),
    ("snapshot", 1),
    ("model", 2),
    ("mcp", 2),
    ("approval", 2),
    ("policy", 2),
    ("hooks", 2),
    ("isolate", 2),
    ("agent", 3),
    ("session", 4),
    ("cli", 5),
    ("front::terminal", 6),
    ("front::run", 7),
    ("front::chat", 7),
    ("front::batch", 7),
    ("front::acp", 7),
    ("front::serve", 7),
    ("front::saved", 7),
    ("front::tools", 7),
    ("front::sandbox_exec", 7),
    ("front::trust", 7),
    ("front::completions", 7),
    ("front::mcp", 7),
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// The module a file of `src/` belongs to: its top folder, or `front::X` under `src/front/`.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [front, inner, ..] if front == "front" => format!("front::{inner}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// The modules named by `crate::…` paths in `text` (`crate::front::X` as `front::X`).
fn imported(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name = match name.as_str() {
            "front" => {
                let inner: String = rest["front::".len().min(rest.len())..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                format!("front::{inner}")
            }
            _ => name,
        };
        found.insert(name);
    }
    found
}

fn graph_of_src() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
        // `front/mod.rs` only declares the front ends.
        if module == "front::mod" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let imports = graph.entry(module.clone()).or_default();
        imports.extend(imported(&text).into_iter().filter(|name| *name != module));
    }
    graph
}

/// The first cycle found, as the modules on it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            return Some(path[start..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_only_their_own_layer_or_lower_ones() {
    let layers: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let graph = graph_of_src();
    let mut upward = Vec::new();
    for (module, imports) in &graph {
        if module == "main" {
            continue;
        }
        let own = *layers
            .get(module.as_str())
            .unwrap_or_else(|| panic!("module `{module}` has no layer in LAYERS"));
        for import in imports {
            let theirs = *layers
                .get(import.as_str())
                .unwrap_or_else(|| panic!("`{module}` imports `{import}`, which has no layer"));
            if theirs > own {
                upward.push(format!("{module} -> {import}"));
            }
        }
    }
    assert_eq!(upward, Vec::<String>::new());
}

#[test]
fn front_ends_import_no_other_front_end() {
    let graph = graph_of_src();
    let across: Vec<String> = graph
        .iter()
        .filter(|(module, _)| module.starts_with("front::"))
        .flat_map(|(module, imports)| {
            imports
                .iter()
                .filter(|import| import.starts_with("front::") && *import != "front::terminal")
                .map(move |import| format!("{module} -> {import}"))
        })
        .collect();
    assert_eq!(across, Vec::<String>::new());
}

#[test]
fn no_modules_import_each_other() {
    assert_eq!(cycle(&graph_of_src()), None);
}

/// Within each folder: its files, and the siblings each one names with `super::`.
fn sibling_graphs(root: &Path) -> Vec<(PathBuf, BTreeMap<String, BTreeSet<String>>)> {
    let mut folders: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(root) {
        let folder = file.parent().unwrap().to_path_buf();
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        if name == "mod" || name == "lib" || name == "main" || name == "tests" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let siblings: BTreeSet<String> = text
            .match_indices("super::")
            .map(|(at, _)| {
                text[at + "super::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect::<String>()
            })
            .filter(|sibling| !sibling.is_empty() && *sibling != name && *sibling != "super")
            .collect();
        folders.entry(folder).or_default().insert(name, siblings);
    }
    folders.into_iter().collect()
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for root in [manifest.join("src"), manifest.join("tools/src")] {
        for (folder, graph) in sibling_graphs(&root) {
            if let Some(found) = cycle(&graph) {
                cycles.push(format!("{}: {}", folder.display(), found.join(" -> ")));
            }
        }
    }
    assert_eq!(cycles, Vec::<String>::new());
}
