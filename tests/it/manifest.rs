//! Broken manifests: each error names file, line and column and what was expected.

use std::path::Path;

use foundation::Manifest;

use crate::*;

fn parse_err(text: &str) -> String {
    Manifest::parse(text, Path::new("app.toml"), Path::new("/apps/demo"))
        .expect_err("the manifest is invalid")
        .to_string()
}

const COMPONENT: &str = "[components.counter]\npath = \"counter.wasm\"\n";

#[test]
fn a_valid_manifest_parses_with_resolved_paths_and_encoded_args() {
    let text = format!(
        "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nmailbox = 8\nargs = {{ start = 10 }}\n"
    );
    let m = Manifest::parse(&text, Path::new("app.toml"), Path::new("/apps/demo")).unwrap();
    assert_eq!(m.components[0].path, Path::new("/apps/demo/counter.wasm"));
    assert_eq!(m.actors[0].mailbox, Some(8));
    assert_eq!(m.actors[0].location.line, 4);
    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct Args {
        start: i64,
    }
    assert_eq!(
        foundation::codec::decode::<Args>(&m.actors[0].args).unwrap(),
        Args { start: 10 }
    );
}

#[test]
fn bad_toml() {
    assert_eq!(
        parse_err("[components.counter\npath = \"x\"\n"),
        "app.toml:1:20: unclosed table, expected `]`"
    );
}

#[test]
fn unknown_component() {
    let text = format!("{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"countr\"\n");
    assert_eq!(
        parse_err(&text),
        "app.toml:6:13: actor \"c\" uses unknown component \"countr\"; defined components: counter"
    );
}

#[test]
fn wrong_type() {
    let text = format!(
        "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nmailbox = \"big\"\n"
    );
    assert_eq!(
        parse_err(&text),
        "app.toml:7:11: invalid type: string \"big\", expected usize"
    );
}

#[test]
fn missing_field() {
    let text = format!("{COMPONENT}\n[[actors]]\nname = \"c\"\n");
    assert_eq!(parse_err(&text), "app.toml:4:1: missing field `component`");
}

#[test]
fn unknown_key_is_a_typo_not_ignored() {
    let text =
        format!("{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nmailbx = 3\n");
    assert_eq!(
        parse_err(&text),
        "app.toml:7:1: unknown field `mailbx`, expected one of `name`, `component`, `args`, `mailbox`"
    );
}

#[test]
fn duplicate_actor_name_and_zero_mailbox() {
    let text = format!(
        "{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n"
    );
    assert_eq!(
        parse_err(&text),
        "app.toml:9:8: actor name \"c\" is used twice (first at line 4)"
    );
    let text =
        format!("{COMPONENT}\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nmailbox = 0\n");
    assert_eq!(
        parse_err(&text),
        "app.toml:7:11: actor \"c\": `mailbox` must be at least 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_component_file() {
    let dir = std::env::temp_dir().join(format!("foundation-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.toml");
    std::fs::write(&file, "[components.ghost]\npath = \"ghost.wasm\"\n").unwrap();
    let manifest = Manifest::from_file(&file).unwrap();
    let rt = builder().build().unwrap();
    let err = rt.load_components(&manifest).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:2:8: component \"ghost\": cannot read {}: No such file or directory (os error 2)",
            file.display(),
            dir.join("ghost.wasm").display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_is_not_an_actor() {
    let dir = std::env::temp_dir().join(format!("foundation-notactor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.toml");
    std::fs::write(
        &file,
        format!(
            "[components.cmd]\npath = {:?}\n",
            foundation_fixtures::NOT_ACTOR
        ),
    )
    .unwrap();
    let manifest = Manifest::from_file(&file).unwrap();
    let rt = builder().build().unwrap();
    let err = rt.load_components(&manifest).unwrap_err().to_string();
    let expected_start = format!(
        "{}:2:8: component \"cmd\" ({}): does not implement the foundation:actor/actor-world world: ",
        file.display(),
        foundation_fixtures::NOT_ACTOR
    );
    assert!(err.starts_with(&expected_start), "{err}");
    assert!(
        err.contains("foundation:actor/actor@0.1.0"),
        "names the missing export: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_wasm() {
    let rt = builder().build().unwrap();
    let err = rt
        .add_component_bytes("junk", b"not wasm at all")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("component \"junk\" (bytes): not a valid component: "),
        "{err}"
    );
}
