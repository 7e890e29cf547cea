//! The durability proof: `foundation run` SIGKILLed at random moments while writers
//! acknowledge each durable write to a file; after every kill, each acknowledged write
//! is in the store, whole. `FOUNDATION_KILL_ROUNDS` sets the number of kills (20 by
//! default; the note of the durable-state issue cites a run of 100).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cli::{Running, foundation};
use crate::kv::Backend;
use crate::*;

const WRITERS: usize = 4;

/// Where the writers write: the store itself, or a durable table each.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Store,
    Table,
}

/// A small xorshift generator: the kill moments vary from run to run, and the seed is
/// printed so a failing schedule can be replayed (`FOUNDATION_KILL_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn manifest(root: &Path, round: usize, backend: Backend, into: Target) -> std::path::PathBuf {
    let store = match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => format!(
            "backend = \"postgres\"\nurl = \"{}\"\npassword_env = \"{}\"\n",
            foundation_fixtures::postgres::server().url(),
            foundation_fixtures::postgres::PASSWORD_ENV
        ),
    };
    let mut text = format!(
        "[components.testactor]\npath = {:?}\n\n[storage]\ndir = \"data\"\ntables = \"ledger\"\n\n[stores.ledger]\n{store}\n",
        foundation_fixtures::TESTACTOR
    );
    for w in 0..WRITERS {
        let table = match into {
            Target::Store => String::new(),
            Target::Table => format!(", table = \"t-w{w}\""),
        };
        text.push_str(&format!(
            "[[actors]]\nname = \"w{w}\"\ncomponent = \"testactor\"\n\
             args = {{ kv_writer = {{ store = \"ledger\", prefix = \"r{round}-w{w}-\", ack_file = \"/acks/r{round}-w{w}\"{table} }} }}\n\
             [actors.capabilities]\nkeyvalue = [\"ledger\"]\n\
             dirs = [{{ host = \"acks\", guest = \"/acks\", access = \"read-write\" }}]\n\n"
        ));
    }
    let file = root.join("app.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// The complete lines of every ack file (a line cut by the kill is not an ack).
fn acks(dir: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        keys.extend(complete.lines().map(str::to_string));
    }
    keys
}

/// Every acknowledged key holds its value, and every key of the writers holds the
/// value of its number: nothing lost, nothing torn. Returns how many keys were acked.
fn verify(root: &Path, backend: Backend, into: Target) -> usize {
    let acked = acks(&root.join("acks"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut b = builder();
        b.data_dir(root.join("data"))
            .store("ledger", backend.config())
            .table_store("ledger");
        let runtime = runtime_with(&b);
        let stored = match into {
            Target::Store => stored_pairs(&runtime).await,
            Target::Table => table_rows(&runtime).await,
        };
        for key in &acked {
            assert!(
                stored.contains_key(key),
                "acknowledged write {key} is lost ({} keys stored)",
                stored.len()
            );
        }
    });
    acked.len()
}

/// Every key and value of the store, a page of keys and one batch read at a time.
async fn stored_pairs(runtime: &Runtime) -> std::collections::HashMap<String, Vec<u8>> {
    let ledger = runtime.store("ledger").unwrap();
    // Every key and value, a page of keys and one batch read at a time.
    let mut stored = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ledger.list_keys(cursor.as_deref()).await.unwrap();
        let values = ledger.get_many(&page.keys).await.unwrap();
        for (key, value) in page.keys.into_iter().zip(values) {
            let n: u64 = key.rsplit('-').next().unwrap().parse().unwrap();
            let value = value.expect("a listed key has a value");
            assert_eq!(value, kv_value(n), "{key} holds a torn or foreign value");
            stored.insert(key, value);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    stored
}

/// Every row of the writers' durable tables, as an actor that creates them again
/// finds them.
async fn table_rows(runtime: &Runtime) -> std::collections::HashMap<String, Vec<u8>> {
    let mut stored = std::collections::HashMap::new();
    for w in 0..WRITERS {
        let name = format!("t-w{w}");
        let owner = runtime.spawn("testactor", &Args::default()).await.unwrap();
        let created = call(&owner, Call::Table(crate::kv::durable_table(&name))).await;
        assert!(matches!(created, Reply::Id(_)), "{created:?}");
        let table = runtime.table(&name).unwrap();
        let mut from: Option<Vec<u8>> = None;
        loop {
            let page = table.range_raw(from.as_deref(), None, 1000).unwrap();
            for entry in &page.entries {
                let key = String::from_utf8(entry.key.clone()).unwrap();
                let n: u64 = key.rsplit('-').next().unwrap().parse().unwrap();
                let value: serde_bytes::ByteBuf = foundation::codec::decode(&entry.value)
                    .unwrap_or_else(|e| panic!("{key} holds a torn value: {e}"));
                assert_eq!(
                    value.as_ref(),
                    &kv_value(n)[..],
                    "{key} holds a torn or foreign value"
                );
                stored.insert(key, value.into_vec());
            }
            match page.next {
                Some(next) => from = Some(next),
                None => break,
            }
        }
    }
    stored
}

#[test]
fn no_acknowledged_write_is_lost_to_kill_9() {
    kill_rounds(Backend::Sqlite, Target::Store);
}

#[test]
fn no_acknowledged_durable_table_write_is_lost_to_kill_9() {
    kill_rounds(Backend::Sqlite, Target::Table);
}

#[test]
fn no_acknowledged_write_is_lost_to_kill_9_on_postgres() {
    kill_rounds(Backend::Postgres, Target::Store);
}

#[test]
fn no_acknowledged_durable_table_write_is_lost_to_kill_9_on_postgres() {
    kill_rounds(Backend::Postgres, Target::Table);
}

fn kill_rounds(backend: Backend, into: Target) {
    init_tracing();
    let rounds: usize = std::env::var("FOUNDATION_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("FOUNDATION_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill -9, {into:?} on {backend:?}: {rounds} rounds, FOUNDATION_KILL_SEED={seed}");
    let mut rng = Rng(seed);
    let root = scratch(&format!("kill-9-{backend:?}-{into:?}"));
    std::fs::create_dir_all(root.join("acks")).unwrap();
    let mut acked_before = 0;
    for round in 0..rounds {
        let file = manifest(&root, round, backend, into);
        let mut child = Running(
            foundation()
                .arg("run")
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // Kill at a random moment once writes flow: 0 to 300 ms after this round's
        // first acknowledgement.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acks(&root.join("acks")).len() == acked_before {
            assert!(
                Instant::now() < deadline,
                "round {round}: no write acknowledged within 60 s"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: foundation run exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.next() % 300));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = verify(&root, backend, into);
        assert!(acked > acked_before, "round {round} acknowledged nothing");
        acked_before = acked;
    }
    eprintln!(
        "{into:?} on {backend:?}: {rounds} kills, {acked_before} acknowledged writes, none lost"
    );
}
