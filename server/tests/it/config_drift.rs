//! `Leptos.toml` (read by the server at run time) and `[[workspace.metadata.leptos]]` in
//! Cargo.toml (read by cargo-leptos at build time) must describe the same site, or the server
//! looks for files the build never wrote.

use crate::common::workspace_root;

fn table(text: &str, path: &[&str]) -> toml::Table {
    let mut value: toml::Value = toml::from_str(text).expect("valid TOML");
    for key in path {
        value = match value {
            toml::Value::Table(mut t) => t.remove(*key).expect(key),
            toml::Value::Array(mut a) => a.remove(0),
            other => panic!("unexpected {other:?} at {key}"),
        };
    }
    if let toml::Value::Array(mut a) = value {
        value = a.remove(0);
    }
    value.as_table().expect("a table").clone()
}

#[test]
fn leptos_toml_and_cargo_metadata_agree() {
    let root = workspace_root();
    let runtime = table(
        &std::fs::read_to_string(root.join("Leptos.toml")).expect("Leptos.toml"),
        &["package", "metadata", "leptos"],
    );
    let build = table(
        &std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml"),
        &["workspace", "metadata", "leptos"],
    );
    // Keys only the running server reads; cargo-leptos warns about them.
    const RUNTIME_ONLY: [&str; 1] = ["env"];
    let mut compared = 0;
    for (key, value) in runtime
        .iter()
        .filter(|(key, _)| !RUNTIME_ONLY.contains(&key.as_str()))
    {
        let built = build
            .get(key)
            .unwrap_or_else(|| panic!("Cargo.toml's leptos metadata lacks `{key}`"));
        assert_eq!(
            built, value,
            "`{key}` differs between Leptos.toml and Cargo.toml"
        );
        compared += 1;
    }
    for key in [
        "output-name",
        "site-root",
        "site-pkg-dir",
        "site-addr",
        "hash-files",
    ] {
        assert!(runtime.contains_key(key), "Leptos.toml must set `{key}`");
    }
    assert!(compared >= 5);
}
