//! Broken manifests: each error names file, line and column and what was expected.

use std::path::{Path, PathBuf};

use foundation::Manifest;

use crate::*;

fn parse_err(text: &str) -> String {
    Manifest::parse(text, Path::new("app.toml"), Path::new("/apps/demo"))
        .expect_err("the manifest is invalid")
        .to_string()
}

const COMPONENT: &str = "[components.counter]\npath = \"counter.wasm\"\n";

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
        "app.toml:7:1: unknown field `mailbx`, expected one of `name`, `component`, `args`, `mailbox`, `restart`, `shutdown`, `significant`, `keep_mailbox`, `limits`, `capabilities`"
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
        err.contains("foundation:actor/actor@0.2.0"),
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

#[test]
fn bad_limits_name_the_key_and_the_units() {
    let actor = "[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n";
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n[limits]\nmax_memory = \"64 MB/s\"\n"
        )),
        "app.toml:5:14: [limits]: `max_memory` is a number of bytes or a size such as \"64 MiB\" (units B, KiB, MiB, GiB, KB, MB, GB)"
    );
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n{actor}limits = {{ deadline = \"soon\" }}\n"
        )),
        "app.toml:7:23: actor \"c\": `deadline` is milliseconds or a duration such as \"2s\" (units ms, s, m), more than zero"
    );
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n{actor}limits = {{ deadline = 0 }}\n"
        )),
        "app.toml:7:23: actor \"c\": `deadline` is milliseconds or a duration such as \"2s\" (units ms, s, m), more than zero"
    );
    let e = parse_err(&format!(
        "{COMPONENT}\n{actor}limits = {{ max_memroy = 1 }}\n"
    ));
    assert!(
        e.starts_with("app.toml:7:12: unknown field `max_memroy`"),
        "{e}"
    );
    assert_eq!(
        parse_err(&format!("{COMPONENT}\n[runtime]\nmax_instances = 0\n")),
        "app.toml:5:17: [runtime]: `max_instances` must be from 1 to 1000000"
    );
}

#[test]
fn capabilities_are_checked_where_they_are_written() {
    let dir = std::env::temp_dir();
    let base = dir.display();
    let actor = "[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n";
    let parse = |caps: &str| {
        Manifest::parse(
            &format!("{COMPONENT}\n{actor}\n[actors.capabilities]\n{caps}"),
            Path::new("app.toml"),
            &dir,
        )
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        parse("dirs = [{ host = \"no-such-dir\", guest = \"/d\", access = \"read-only\" }]\n")
            .unwrap_err(),
        format!(
            "app.toml:9:9: actor \"c\": directory {base}/no-such-dir (granted as \"/d\") does not exist or is not a directory"
        )
    );
    let e = parse("dirs = [{ host = \".\", guest = \"/d\", access = \"rw\" }]\n").unwrap_err();
    assert!(
        e.contains("unknown variant `rw`, expected `read-only` or `read-write`"),
        "{e}"
    );
    let e = parse("dirs = [{ host = \".\", guest = \"/d\" }]\n").unwrap_err();
    assert!(e.contains("missing field `access`"), "{e}");
    assert_eq!(
        parse("dirs = [{ host = \".\", guest = \"/d\", access = \"read-only\" }, { host = \".\", guest = \"/d\", access = \"read-write\" }]\n").unwrap_err(),
        "app.toml:9:61: actor \"c\": two directories are granted as \"/d\""
    );
    assert_eq!(
        parse("connect = [\"127.0.0.1\"]\n").unwrap_err(),
        "app.toml:9:12: actor \"c\": network destination \"127.0.0.1\": no port (expected \"HOST:PORT\", \"HOST:*\" or \"ADDRESS/PREFIX:PORT\")"
    );
    assert_eq!(
        parse("env = { \"A=B\" = \"1\" }\n").unwrap_err(),
        "app.toml:9:7: actor \"c\": \"A=B\" is not an environment variable name"
    );
    let e = parse("network = true\n").unwrap_err();
    assert!(
        e.contains("unknown field `network`, expected one of `dirs`, `env`, `connect`"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_sandbox_holds_for_its_actor_and_across_restarts() {
    let rt = builder().build().unwrap();
    let mut probe = rt.probe();
    let data = PathBuf::from(foundation_fixtures::WORKSPACE)
        .join("target/sandbox-tests")
        .join(format!("manifest-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "hi").unwrap();
    let text = format!(
        "[components.testactor]
path = {path:?}

[limits]
max_memory = \"16 MiB\"

[[supervisors]]
name = \"root\"
children = [\"worker\"]
max_restarts = 5

[[actors]]
name = \"worker\"
component = \"testactor\"
args = {{ tag = \"w\", notify_on_init = {probe} }}

[actors.capabilities]
dirs = [{{ host = {data:?}, guest = \"/data\", access = \"read-only\" }}]
env = {{ ROLE = \"worker\" }}
",
        path = foundation_fixtures::TESTACTOR,
        data = data.display().to_string(),
        probe = probe.id().get(),
    );
    let m = Manifest::parse(&text, Path::new("app.toml"), Path::new("/")).unwrap();
    rt.start(&m).await.unwrap();
    let worker = rt.whereis("worker").unwrap();
    for round in 0..2 {
        // Each instance announces itself once its init has run.
        let started = probe.recv::<Cast>(LONG).await.unwrap().msg;
        assert!(
            matches!(started, Cast::Started(ref t) if t == "w"),
            "{started:?}"
        );
        assert_eq!(
            call(
                &worker,
                Call::Sandbox(SandboxCall::ReadFile("/data/hello.txt".into()))
            )
            .await,
            Reply::Text("hi".into()),
            "round {round}"
        );
        assert_eq!(
            call(&worker, Call::Sandbox(SandboxCall::EnvNames)).await,
            Reply::Text("ROLE".into())
        );
        // The manifest's memory limit: a 64 MiB allocation traps, naming it, and
        // the supervisor restarts the worker in the same sandbox.
        let r = worker.call::<_, Reply>(&Call::Allocate(64), LONG).await;
        let Err(foundation::ActorError::Send(foundation::SendError::Exited(
            foundation::ExitReason::Limit(foundation::Limit::Memory, why),
        ))) = &r
        else {
            panic!("{r:?}")
        };
        assert!(why.contains("limit of 16777216 bytes"), "{why}");
    }
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_s_limits_hold_for_children_added_at_run_time() {
    let text = format!(
        "[components.testactor]
path = {path:?}

[limits]
max_memory = \"16 MiB\"

[[supervisors]]
name = \"pool\"
children = []
",
        path = foundation_fixtures::TESTACTOR,
    );
    let m = Manifest::parse(&text, Path::new("app.toml"), Path::new("/")).unwrap();
    let rt = builder().manifest(&m).build().unwrap();
    rt.start(&m).await.unwrap();
    let pool = rt.whereis("pool").unwrap();
    // A child the manifest does not declare, added by the host at run time.
    let child = rt.start_child(&pool, temporary_testactor()).await.unwrap();
    let r = child.call::<_, Reply>(&Call::Allocate(64), LONG).await;
    let Err(foundation::ActorError::Send(foundation::SendError::Exited(
        foundation::ExitReason::Limit(foundation::Limit::Memory, why),
    ))) = &r
    else {
        panic!("{r:?}")
    };
    assert!(why.contains("limit of 16777216 bytes"), "{why}");
    rt.shutdown().await;
}

/// What `run` would refuse for a reason written in the manifest, `check` refuses
/// too, with the place: numbers out of their bounds, a significant permanent child.
#[test]
fn numbers_out_of_bounds_and_impossible_children_are_refused_where_written() {
    let actor = "[[actors]]\nname = \"c\"\ncomponent = \"counter\"\n";
    assert_eq!(
        parse_err(&format!("{COMPONENT}\n{actor}mailbox = 16777217\n")),
        "app.toml:7:11: actor \"c\": `mailbox` must be at most 16777216"
    );
    // Past what TOML's integers hold: still an error with its place, never a panic.
    let e = parse_err(&format!(
        "{COMPONENT}\n{actor}mailbox = 18446744073709551615\n"
    ));
    assert!(e.starts_with("app.toml:7:11: "), "{e}");
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n[runtime]\nmax_instances = 4000000000\n"
        )),
        "app.toml:5:17: [runtime]: `max_instances` must be from 1 to 1000000"
    );
    assert_eq!(
        parse_err(&format!("{COMPONENT}\n[limits]\nmax_message_size = 0\n")),
        "app.toml:5:20: [limits]: `max_message_size` must be more than zero"
    );
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n{actor}limits = {{ max_memory = \"0 MiB\" }}\n"
        )),
        "app.toml:7:25: actor \"c\": `max_memory` must be more than zero"
    );
    // The init argument is the first message: it must fit the actor's limit.
    assert_eq!(
        parse_err(&format!(
            "{COMPONENT}\n{actor}args = {{ text = \"a long enough text\" }}\nlimits = {{ max_message_size = 8 }}\n"
        )),
        "app.toml:7:8: actor \"c\": `args` encode to 25 bytes, more than its max_message_size of 8 bytes"
    );
    let sup = |body: &str| {
        format!("{TREE_BASE}\n[[supervisors]]\nname = \"root\"\nchildren = [\"a\"]\n{body}")
    };
    assert_eq!(
        parse_err(&sup("max_seconds = 0\n")),
        "app.toml:11:15: supervisor \"root\": `max_seconds` must be at least 1 (the window in which `max_restarts` restarts are allowed)"
    );
    assert_eq!(
        parse_err(&format!(
            "{TREE_BASE}significant = true\n\n[[supervisors]]\nname = \"root\"\nchildren = [\"a\"]\n"
        )),
        "app.toml:7:15: actor \"a\" is significant and permanent; a significant child must be `restart = \"transient\"` or `\"temporary\"`"
    );
    assert_eq!(
        parse_err(&format!("{TREE_BASE}significant = true\n")),
        "app.toml:7:15: actor \"a\" is `significant` but no supervisor lists it"
    );
    assert_eq!(
        parse_err(&format!("{TREE_BASE}keep_mailbox = true\n")),
        "app.toml:7:16: actor \"a\" has `keep_mailbox` but no supervisor lists it"
    );
    // Transient and significant, under a supervisor: fine.
    Manifest::parse(
        &format!("{TREE_BASE}significant = true\nrestart = \"transient\"\n\n[[supervisors]]\nname = \"root\"\nchildren = [\"a\"]\n"),
        Path::new("app.toml"),
        Path::new("."),
    )
    .unwrap();
}

/// How many cases the parser's property tests run: a few hundred by default, so the
/// suite stays fast; set `FOUNDATION_FUZZ_CASES` (for example to 1000000) to search
/// longer.
fn fuzz_cases() -> u32 {
    std::env::var("FOUNDATION_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// Whatever the text, the parser answers: a manifest, or an error that names the
/// file (and the place, when the text has one), never a panic.
fn parses_or_says_where(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    match Manifest::parse(text, Path::new("app.toml"), Path::new("/apps/demo")) {
        Ok(_) => Ok(()),
        Err(e) => {
            let shown = e.to_string();
            proptest::prop_assert!(shown.starts_with("app.toml"), "{}", shown);
            proptest::prop_assert!(shown.len() > "app.toml: ".len(), "{}", shown);
            Ok(())
        }
    }
}

#[test]
fn the_parser_never_panics_on_mutated_examples_or_random_text() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let examples: Vec<String> = ["counter", "pingpong", "tasks", "ticker", "heir"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(
                PathBuf::from(foundation_fixtures::WORKSPACE)
                    .join("examples")
                    .join(name)
                    .join("app.toml"),
            )
            .unwrap()
        })
        .collect();
    // Mutations: cut a range, insert text, or overwrite a number, at any char.
    let insert = prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"".to_string()),
        Just("[".to_string()),
        Just("]]\n[[actors]]\n".to_string()),
        Just("{".to_string()),
        Just("\n".to_string()),
        Just("=".to_string()),
        Just("\"infinity\"".to_string()),
        Just("é".to_string()),
        "[ -~]{0,12}",
    ];
    let mutation = (
        0..examples.len(),
        any::<prop::sample::Index>(),
        0usize..40,
        insert,
    );
    let mut runner = TestRunner::new(Config::with_cases(fuzz_cases()));
    runner
        .run(&mutation, |(which, at, cut, text)| {
            let base = &examples[which];
            let chars: Vec<char> = base.chars().collect();
            let at = at.index(chars.len() + 1);
            let end = (at + cut).min(chars.len());
            let mutated: String = chars[..at]
                .iter()
                .chain(text.chars().collect::<Vec<_>>().iter())
                .chain(chars[end..].iter())
                .collect();
            parses_or_says_where(&mutated)
        })
        .unwrap();
    // And text with no structure at all.
    let mut runner = TestRunner::new(Config::with_cases(fuzz_cases()));
    runner
        .run(&"(?s).{0,200}", |text| parses_or_says_where(&text))
        .unwrap();
}
