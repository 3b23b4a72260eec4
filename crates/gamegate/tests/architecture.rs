//! The layering rules of docs/ARCHITECTURE.md, checked on the sources: no
//! import circle between the modules of a crate, no module but the CLI
//! imports an operator command, the application layer imports neither HTTP nor
//! bootstrap, and no file grows past the size a newcomer
//! can read (exceptions named with a reason). That `unix_now` exists once is
//! checked beside it, in crates/store/src/clock.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's `crates/` directory.
fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a source file of `src`: `src/http/edge/jail.rs` →
/// `http::edge::jail`, `src/http/mod.rs` → `http`, `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach
/// anywhere) and without comment lines.
fn code_of(text: &str) -> String {
    let end = text.find("\n#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules of `known` that `code` (of module `from`) refers to through
/// `crate::…` paths, including grouped imports (`crate::{a, b::c}`).
fn references(code: &str, from: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let paths: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            let close = group.find('}').unwrap_or(group.len());
            group[..close]
                .split(',')
                .map(|p| p.trim().to_owned())
                .collect()
        } else {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            vec![rest[..len].to_owned()]
        };
        for path in paths {
            // The longest prefix that is a module of this crate.
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for n in (1..=segments.len()).rev() {
                let candidate = segments[..n].join("::");
                if known.contains(&candidate) {
                    if candidate != from && !from.starts_with(&format!("{candidate}::")) {
                        out.insert(candidate);
                    }
                    break;
                }
            }
        }
    }
    out
}

/// A circle in `graph`, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// Each crate's module graph (one node per file), from its `crate::` paths.
fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(src);
    let known: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    files
        .iter()
        .map(|f| {
            let module = module_of(src, f);
            let code = code_of(&std::fs::read_to_string(f).unwrap());
            let refs = references(&code, &module, &known);
            (module, refs)
        })
        .collect()
}

#[test]
fn no_crate_has_an_import_circle() {
    for krate in [
        "domain",
        "store",
        "gameserver",
        "analytics",
        "soak",
        "gamegate",
    ] {
        let graph = graph_of(&crates_dir().join(krate).join("src"));
        assert!(graph.len() > 1, "{krate}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("crates/{krate}: import circle {}", cycle.join(" → "));
        }
    }
}

#[test]
fn only_the_cli_imports_operator_commands() {
    let src = crates_dir().join("gamegate/src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        if module == "cli" || module.is_empty() || module.starts_with("commands") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        if code.contains("crate::commands") {
            offenders.push(module);
        }
    }
    assert!(
        offenders.is_empty(),
        "these modules import an operator command (only cli may): {offenders:?}"
    );
    // Nor does one command import another: what two commands share lives in
    // `shared` or `app`.
    let mut crossing = Vec::new();
    for file in rust_files(&src.join("commands")) {
        let module = module_of(&src, &file);
        let own = module.split("::").take(2).collect::<Vec<_>>().join("::");
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for (at, _) in code.match_indices("crate::commands::") {
            let path = &code[at + "crate::".len()..];
            let target: String = path
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap()
                .split("::")
                .take(2)
                .collect::<Vec<_>>()
                .join("::");
            if target != own && target != "commands" {
                crossing.push(format!("{module} → {target}"));
            }
        }
        if module != "commands" && code.contains("super::super::") {
            crossing.push(format!("{module} → super::super"));
        }
    }
    assert!(
        crossing.is_empty(),
        "commands importing commands: {crossing:?}"
    );
}

/// Source files that may be longer than [`MAX_CODE_LINES`], each with its
/// reason (docs/ARCHITECTURE.md lists the same).
const LONG_FILES: &[(&str, &str)] = &[];

/// Lines of code (tests aside) past which a file is split.
const MAX_CODE_LINES: usize = 600;

#[test]
fn no_source_file_is_too_long_to_read() {
    let mut long = Vec::new();
    for krate in [
        "domain",
        "store",
        "gameserver",
        "analytics",
        "soak",
        "gamegate",
    ] {
        let src = crates_dir().join(krate).join("src");
        // A file of tests (`tests.rs`) is tests aside as a whole.
        for file in rust_files(&src)
            .into_iter()
            .filter(|f| !f.ends_with("tests.rs"))
        {
            let text = std::fs::read_to_string(&file).unwrap();
            let end = text.find("\n#[cfg(test)]\nmod tests").unwrap_or(text.len());
            let lines = text[..end].lines().count();
            let rel = format!(
                "crates/{krate}/src/{}",
                file.strip_prefix(&src).unwrap().display()
            );
            let excused = LONG_FILES.iter().any(|(f, _)| *f == rel);
            if lines > MAX_CODE_LINES && !excused {
                long.push(format!("{rel}: {lines} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these files (or name them with a reason in LONG_FILES and docs/ARCHITECTURE.md): {long:#?}"
    );
}

#[test]
fn the_application_layer_knows_nothing_of_http_or_bootstrap() {
    let src = crates_dir().join("gamegate/src");
    let mut offenders = Vec::new();
    for room in ["app", "shared"] {
        for file in rust_files(&src.join(room)) {
            let code = code_of(&std::fs::read_to_string(&file).unwrap());
            for outer in ["http", "commands", "startup", "cli"] {
                if code.contains(&format!("crate::{outer}")) {
                    offenders.push(format!("{} → {outer}", module_of(&src, &file)));
                }
            }
        }
    }
    // `shared` is below `app` too: it imports nothing of it.
    for file in rust_files(&src.join("shared")) {
        if code_of(&std::fs::read_to_string(&file).unwrap()).contains("crate::app") {
            offenders.push(format!("{} → app", module_of(&src, &file)));
        }
    }
    assert!(offenders.is_empty(), "arrows pointing up: {offenders:?}");
}
