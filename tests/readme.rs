//! The README stands alone: it opens with the two commands CI runs, its links and those of every
//! other Markdown file lead to files inside the repository, the licences it names are there and
//! agree with Cargo.toml and the OpenAPI document, and it names the Rust version Cargo.toml asks
//! for and every setting the configuration file takes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap()
}

/// The repository's own Markdown files (not the build's, nor vendored packages').
fn markdown_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "vendor" | "node_modules")
                && !name.starts_with('.')
            {
                markdown_files(&path, into);
            }
        } else if name.ends_with(".md") {
            into.push(path);
        }
    }
}

#[test]
fn the_readme_opens_with_the_demo_and_the_test_command() {
    let readme = read("README.md");
    // As .ci/run reads it: the lines inside fences, in order.
    let mut inside = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            inside = !inside;
        } else if inside {
            lines.push(line);
        }
    }
    assert_eq!(
        lines[..2],
        ["cargo run --release -- demo", "cargo test --workspace"]
    );
    assert!(readme.starts_with(
        "# hubbook\n\n```sh\ncargo run --release -- demo\n```\n```sh\ncargo test --workspace\n```\n"
    ));
}

#[test]
fn every_link_leads_into_the_repository() {
    let root = Path::new(ROOT).canonicalize().unwrap();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.len() >= 3, "{files:?}");
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let target = &rest[..rest.find(')').unwrap_or(rest.len())];
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.starts_with("http://127.0.0.1") {
                continue;
            }
            let resolved = file.parent().unwrap().join(target);
            match resolved.canonicalize() {
                Ok(path) if path.starts_with(&root) => {}
                _ => broken.push(format!("{}: {target}", file.display())),
            }
        }
        assert!(!text.contains("../shared"), "{}", file.display());
    }
    assert!(
        broken.is_empty(),
        "links out of the repository or to nothing: {broken:#?}"
    );
}

#[test]
fn the_licences_are_there_and_agree() {
    let cargo: toml::Table = read("Cargo.toml").parse().unwrap();
    assert_eq!(
        cargo["package"]["license"].as_str(),
        Some("MIT OR Apache-2.0")
    );
    assert_eq!(
        cargo["workspace"]["package"]["license"].as_str(),
        Some("MIT OR Apache-2.0")
    );
    let openapi: serde_json::Value = serde_json::from_str(&read("openapi/openapi.json")).unwrap();
    assert_eq!(openapi["info"]["license"]["name"], "MIT OR Apache-2.0");
    assert!(read("LICENSE-MIT").contains("Copyright (c) the hubbook authors"));
    let apache = read("LICENSE-APACHE");
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    let readme = read("README.md");
    assert!(readme.contains("(LICENSE-MIT)") && readme.contains("(LICENSE-APACHE)"));
}

#[test]
fn the_readme_says_what_a_build_needs_and_every_setting() {
    let cargo: toml::Table = read("Cargo.toml").parse().unwrap();
    let rust = cargo["package"]["rust-version"].as_str().unwrap();
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("Rust {rust} or later")),
        "Rust {rust}"
    );
    for package in ["libpq-dev", "libsqlite3-dev", "pkg-config"] {
        assert!(readme.contains(package), "{package}");
    }
    for (key, _) in hubbook::config::KEYS {
        let variable = hubbook::config::variable(key);
        assert!(
            readme.contains(&format!("`{variable}`")),
            "{variable} is not in the README's table"
        );
    }
    assert!(readme.contains("scripts/walkthrough.sh"));
}
