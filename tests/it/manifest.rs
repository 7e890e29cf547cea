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
        "app.toml:7:1: unknown field `mailbx`, expected one of `name`, `component`, `args`, `mailbox`, `restart`, `shutdown`, `significant`, `limits`, `capabilities`"
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

const TREE_BASE: &str = "[components.counter]\npath = \"counter.wasm\"\n\n[[actors]]\nname = \"a\"\ncomponent = \"counter\"\n";

#[test]
fn a_supervision_tree_parses_with_roots_in_file_order() {
    let text = format!(
        "{TREE_BASE}\n[[supervisors]]\nname = \"root\"\nstrategy = \"rest_for_one\"\nchildren = [\"inner\"]\n\n\
         [[supervisors]]\nname = \"inner\"\nchildren = [\"b\"]\nshutdown = \"infinity\"\n\n\
         [[actors]]\nname = \"b\"\ncomponent = \"counter\"\nrestart = \"transient\"\nshutdown = \"brutal_kill\"\n"
    );
    let m = Manifest::parse(&text, Path::new("app.toml"), Path::new(".")).unwrap();
    assert_eq!(m.roots, ["a", "root"]);
    let root = m.supervisor("root").unwrap();
    assert_eq!(root.strategy, foundation::Strategy::RestForOne);
    assert_eq!((root.max_restarts, root.max_seconds.as_secs()), (1, 5));
    assert_eq!(
        m.supervisor("inner").unwrap().shutdown,
        Some(foundation::Shutdown::Infinity)
    );
    let b = m.actor("b").unwrap();
    assert_eq!(
        (b.restart, b.shutdown),
        (
            Some(foundation::Restart::Transient),
            Some(foundation::Shutdown::BrutalKill)
        )
    );
}

#[test]
fn supervision_tree_errors() {
    let sup = |body: &str| format!("{TREE_BASE}\n[[supervisors]]\nname = \"root\"\n{body}");
    assert_eq!(
        parse_err(&sup("children = [\"a\", \"ghost\"]\n")),
        "app.toml:10:18: supervisor \"root\" lists \"ghost\", which is neither an actor nor a supervisor"
    );
    assert_eq!(
        parse_err(&sup(
            "children = [\"a\"]\n\n[[supervisors]]\nname = \"other\"\nchildren = [\"a\"]\n"
        )),
        "app.toml:14:13: \"a\" is listed by two supervisors (\"root\" and \"other\")"
    );
    assert_eq!(
        parse_err(&sup(
            "children = [\"loop\"]\n\n[[supervisors]]\nname = \"loop\"\nchildren = [\"root\"]\n"
        )),
        "app.toml:8:1: supervisor \"root\" contains itself"
    );
    assert_eq!(
        parse_err(&sup("children = [\"a\"]\nstrategy = \"one_for_none\"\n")),
        "app.toml:11:12: unknown variant `one_for_none`, expected one of `one_for_one`, `one_for_all`, `rest_for_one`"
    );
    assert_eq!(
        parse_err(&format!("{TREE_BASE}shutdown = \"soon\"\n")),
        "app.toml:7:12: \"a\": `shutdown` is milliseconds, \"brutal_kill\" or \"infinity\", not \"soon\""
    );
    assert_eq!(
        parse_err(&format!("{TREE_BASE}restart = \"transient\"\n")),
        "app.toml:7:11: actor \"a\" has `restart`/`shutdown` but no supervisor lists it"
    );
    assert_eq!(
        parse_err(&sup(
            "children = [\"a\"]\n\n[[actors]]\nname = \"root\"\ncomponent = \"counter\"\n"
        )),
        "app.toml:9:8: the name \"root\" is also used at line 12; actors and supervisors share one namespace"
    );
}
