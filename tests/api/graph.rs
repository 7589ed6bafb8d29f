//! The feature graph stays one-way: every `crate::features::<name>` path in
//! a feature's source must be an edge `features::GRAPH` declares, the
//! declared graph has no cycle, and no feature's `data` module is public.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The features a source file names: `crate::features::x…` paths and the
/// names in `crate::features::{x, y…}` groups.
fn features_used(source: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (at, _) in source.match_indices("crate::features::") {
        let rest = &source[at + "crate::features::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            used.insert(name);
        }
    }
    used
}

/// `(feature, used feature, file)` for every cross-feature path in `src/features`.
fn edges(root: &Path) -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    for file in rust_files(root) {
        let feature = file.strip_prefix(root).unwrap().components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        if feature == "mod.rs" {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        for used in features_used(&source) {
            if used != feature {
                found.push((feature.clone(), used, file.clone()));
            }
        }
    }
    found
}

fn declared() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    flint::features::GRAPH.iter().map(|(feature, uses)| (*feature, uses.iter().copied().collect())).collect()
}

fn features_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/features")
}

#[test]
fn every_cross_feature_use_is_a_declared_edge() {
    let graph = declared();
    let undeclared: Vec<String> = edges(&features_dir())
        .into_iter()
        .filter(|(from, to, _)| !graph.get(from.as_str()).is_some_and(|uses| uses.contains(to.as_str())))
        .map(|(from, to, file)| format!("{from} -> {to} ({})", file.display()))
        .collect();
    assert!(undeclared.is_empty(), "edges not declared in features::GRAPH (subscribe to an event instead?):\n{}", undeclared.join("\n"));
}

#[test]
fn every_feature_folder_is_in_the_graph_and_the_graph_has_no_cycle() {
    let graph = declared();
    for entry in std::fs::read_dir(features_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(graph.contains_key(name.as_str()), "feature {name} is missing from features::GRAPH");
        }
    }
    for (feature, uses) in &graph {
        for used in uses {
            assert!(graph.contains_key(used), "{feature} uses {used}, which is not a feature");
        }
    }
    // Depth-first search; a feature met again on the current path is a cycle.
    fn visit<'a>(node: &'a str, graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
        if done.contains(node) {
            return;
        }
        assert!(!path.contains(&node), "the feature graph has a cycle: {} -> {node}", path.join(" -> "));
        path.push(node);
        for next in &graph[node] {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for feature in graph.keys() {
        visit(feature, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn data_modules_are_private_to_their_feature() {
    for entry in std::fs::read_dir(features_dir()).unwrap() {
        let module = entry.unwrap().path().join("mod.rs");
        if let Ok(source) = std::fs::read_to_string(&module) {
            assert!(
                !source.lines().any(|l| l.trim_start().starts_with("pub mod data")),
                "{} makes its data module public",
                module.display()
            );
        }
    }
}

#[test]
fn the_reader_finds_plain_and_grouped_paths() {
    let source = "use crate::features::posts::schema::X;\nuse crate::features::{tags, search::service};\nlet x = crate::features::site::render::f();";
    assert_eq!(features_used(source).into_iter().collect::<Vec<_>>(), ["posts", "search", "site", "tags"]);
}
