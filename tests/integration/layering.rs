//! The crate's rooms and which may use which, checked from the source: a `use` of a
//! room that the table below does not allow fails this test, naming the file and line.
//!
//! The rule (also in the crate docs' layout tour and protocol-spec/README.md): every
//! room stands on the ones below it and never on one above.
//!
//! | room | may use |
//! |---|---|
//! | `protocol` | nothing else: the wire format, no IO |
//! | `types` | `protocol` |
//! | `token` | `protocol`, `types` |
//! | `connection` | `protocol` |
//! | `error` | `protocol`, `connection`, `types` |
//! | `retry` | `protocol`, `connection`, `error` |
//! | `stream` | `protocol`, `types`, `error`, `retry` |
//! | `session` | `protocol`, `types`, `connection`, `stream`, `error`, `retry` |
//! | `testkit` | `protocol`, `types`, `token` |
//!
//! A use is `crate::room` anywhere in code (a `use` line, a path inside a body, or a
//! `pub use`); comments and doc text are not code and may mention any room.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each room and the rooms it may use.
const RULES: &[(&str, &[&str])] = &[
    ("protocol", &[]),
    ("types", &["protocol"]),
    ("token", &["protocol", "types"]),
    ("connection", &["protocol"]),
    ("error", &["protocol", "connection", "types"]),
    ("retry", &["protocol", "connection", "error"]),
    ("stream", &["protocol", "types", "error", "retry"]),
    ("session", &["protocol", "types", "connection", "stream", "error", "retry"]),
    ("testkit", &["protocol", "types", "token"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room a file under `src/` belongs to: its first path component (a folder, or a
/// file's stem), `None` for `lib.rs`, which declares the rooms.
fn room_of(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?.as_os_str().to_str()?.to_owned();
    let room = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (room != "lib").then_some(room)
}

/// The rooms a line of code names as `crate::<room>`; nothing for comments.
fn rooms_used(line: &str) -> Vec<String> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    // Drop a trailing comment (a `//` inside a string literal is rare enough here).
    let code = code.split(" //").next().unwrap_or(code);
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` in macros and `cqlstream_crate::` are not this crate's paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
}

#[test]
fn every_room_uses_only_the_rooms_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files under {}", files.len(), src.display());
    let mut broken = Vec::new();
    let mut rooms_seen = std::collections::BTreeSet::new();
    for file in &files {
        let Some(room) = room_of(&src, file) else { continue };
        rooms_seen.insert(room.clone());
        let Some(allowed) = rules.get(room.as_str()) else {
            broken.push(format!("{}: room `{room}` has no rule in tests/integration/layering.rs", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for used in rooms_used(line) {
                if used != room && rules.contains_key(used.as_str()) && !allowed.contains(&used.as_str()) {
                    let rel = file.strip_prefix(&src).unwrap_or(file).display();
                    broken.push(format!("src/{rel}:{}: `{room}` must not use `{used}`: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "forbidden uses between rooms:\n{}", broken.join("\n"));
    for room in rules.keys() {
        assert!(rooms_seen.contains(*room), "the rule names room `{room}`, which src/ does not have");
    }
}

#[test]
fn the_scanner_sees_uses_and_skips_comments() {
    assert_eq!(rooms_used("use crate::session::{Error, Session};"), ["session"]);
    assert_eq!(rooms_used("    let x = crate::stream::Gauges::default(); crate::types::Row"), ["stream", "types"]);
    assert_eq!(rooms_used("/// see [`crate::session::Session`]"), Vec::<String>::new());
    assert_eq!(rooms_used("fn f() {} // crate::session here is a comment"), Vec::<String>::new());
    assert_eq!(rooms_used("$crate::stream::StreamConfig"), Vec::<String>::new());
    let src = Path::new("/x/src");
    assert_eq!(room_of(src, Path::new("/x/src/protocol/codec.rs")).as_deref(), Some("protocol"));
    assert_eq!(room_of(src, Path::new("/x/src/token.rs")).as_deref(), Some("token"));
    assert_eq!(room_of(src, Path::new("/x/src/lib.rs")), None);
}
