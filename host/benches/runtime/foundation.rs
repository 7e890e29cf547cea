//! The workloads on foundation: benchactor guests (tests/guests/benchactor) driven
//! from Rust, on whatever tokio runtime the caller runs them on.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use foundation::{
    ActorOptions, ActorRef, Capabilities, ChildSpec, Probe, Runtime, Sandbox, StoreConfig,
    Strategy, SupervisorSpec,
};
use serde::{Deserialize, Serialize};

use crate::{Measured, Sizes, percentiles_us};

/// benchactor's messages, by shape.
#[derive(Serialize, Deserialize, Debug)]
enum Cast {
    Add(#[serde(with = "serde_bytes")] Vec<u8>),
    Ball(u64, u64, u64),
    SetNext(u64),
    Token(u64, u64),
    CallPeer(u64, u64, u64),
    TableWrite(u64, u64, u64, u64),
    TableRead(u64, u64, u64, u64),
    TableWriteMany(u64, u64, u64, u64, u64),
    TableReadMany(u64, u64, u64, u64, u64),
    Stop,
    Done,
    Panic,
    KvWrite(String, String, u64, u64),
}

#[derive(Serialize, Debug)]
enum Call {
    Count,
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
    CreateTable,
    CreateDurableTable(String),
}

#[derive(Deserialize, Debug)]
enum Reply {
    Count(u64),
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
}

#[derive(Serialize, Default)]
struct Args {
    next: Option<u64>,
    notify_on_init: Option<u64>,
}

/// testactor's messages used by the restart workload.
#[derive(Serialize)]
enum TestCall {
    Echo(String),
    /// Replies, then loops forever.
    Spin,
    /// Monitors `target` `n` times.
    MonitorMany {
        target: u64,
        n: u64,
    },
}
#[derive(Serialize)]
enum TestCast {
    Panic(String),
}
#[derive(Deserialize, Debug)]
enum TestReply {
    Text(String),
    Ok,
}
#[derive(Deserialize, Debug)]
enum TestEvent {
    Started(String),
}
#[derive(Serialize)]
struct TestArgs {
    notify_on_init: Option<u64>,
    tag: String,
}

const LONG: Duration = Duration::from_secs(60);
/// Keys per `get-many` and entries per `insert-many` in the bulk table rows.
const TABLE_BATCH: u64 = 64;

fn runtime(max_instances: u32, cache: &Path) -> Runtime {
    try_runtime(max_instances, cache).expect("runtime")
}

fn try_runtime(max_instances: u32, cache: &Path) -> Result<Runtime, foundation::Error> {
    let rt = Runtime::builder()
        .max_instances(max_instances)
        .cache_dir(Some(cache.to_path_buf()))
        .build()?;
    rt.add_component("bench", foundation_fixtures::BENCHACTOR)
        .expect("benchactor");
    rt.add_component("testactor", foundation_fixtures::TESTACTOR)
        .expect("testactor");
    Ok(rt)
}

async fn spawn(rt: &Runtime, next: Option<u64>) -> ActorRef {
    rt.spawn(
        "bench",
        &Args {
            next,
            ..Args::default()
        },
    )
    .await
    .expect("spawn")
}

/// Restart latency, p50 and p99 in µs: a supervised `component` child traps on
/// `panic`; the time runs until the new instance has told the probe it started
/// (`started`) and answered `echo` (`answered`).
#[allow(clippy::too_many_arguments)]
async fn restart_latency<P, E, N, R>(
    rt: &Runtime,
    probe: &mut Probe,
    component: &str,
    args: Vec<u8>,
    panic: &P,
    echo: &E,
    started: impl Fn(&N) -> bool,
    answered: impl Fn(&R) -> bool,
    n: u64,
) -> [f64; 2]
where
    P: Serialize,
    E: Serialize,
    N: serde::de::DeserializeOwned + std::fmt::Debug,
    R: serde::de::DeserializeOwned + std::fmt::Debug,
{
    let spec = SupervisorSpec {
        strategy: Strategy::OneForOne,
        max_restarts: u32::MAX,
        max_seconds: Duration::from_secs(1),
        children: vec![ChildSpec::actor("w", component, args).name("w")],
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, None).await.unwrap();
    let first = probe.recv::<N>(LONG).await.unwrap().msg;
    assert!(started(&first), "{first:?}");
    let child = rt.whereis("w").unwrap();
    let mut samples = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t0 = Instant::now();
        child.cast(panic).await.unwrap();
        // The restarted instance announces itself from its init; the call then
        // waits in its mailbox and is answered right after.
        let note = probe.recv::<N>(LONG).await.unwrap().msg;
        let r: R = child.call(echo, LONG).await.unwrap();
        samples.push(t0.elapsed());
        assert!(started(&note), "{note:?}");
        assert!(answered(&r), "{r:?}");
    }
    sup.stop(foundation::ExitReason::Shutdown).await;
    percentiles_us(&mut samples, [0.5, 0.99])
}

async fn wait_done(probe: &mut Probe, n: usize) {
    for _ in 0..n {
        let m = probe.recv::<Cast>(LONG).await.expect("done").msg;
        assert!(matches!(m, Cast::Done), "{m:?}");
    }
}

/// `reads` lookups by each of `readers` at once in `table` (keys below `keys`); the
/// lookups per second of them all.
async fn lookup_rate(
    readers: &[ActorRef],
    probe: &mut Probe,
    table: u64,
    keys: u64,
    reads: u64,
) -> f64 {
    let t0 = Instant::now();
    for r in readers {
        r.cast(&Cast::TableRead(table, keys, reads, probe.id().get()))
            .await
            .unwrap();
    }
    wait_done(probe, readers.len()).await;
    (readers.len() as u64 * reads) as f64 / t0.elapsed().as_secs_f64()
}

/// Runs every selected workload; `cache` is the compile cache directory.
pub async fn run(
    sizes: &Sizes,
    only: &(dyn Fn(&str) -> bool + Sync),
    cache: &Path,
) -> Vec<Measured> {
    let mut out = Vec::new();
    let in_process = [
        "counting",
        "pingpong_1",
        "pingpong_64",
        "call",
        "actor_call",
        "ring",
        "spawn",
        "restart",
        "attack",
        "table",
        "scale",
    ];
    if !in_process.iter().any(|k| only(k)) && !only("cold_start") {
        return out;
    }
    let rt = runtime(sizes.ring_actors as u32 + 1000, cache);
    let mut probe = rt.probe();

    if only("counting") {
        let a = rt
            .spawn_with(ActorOptions::new("bench"), &Args::default())
            .await
            .unwrap();
        let n = sizes.counting;
        let t0 = Instant::now();
        for _ in 0..n {
            a.cast(&Cast::Add(vec![7u8; 16])).await.unwrap();
        }
        let Reply::Count(c) = a.call(&Call::Count, LONG).await.unwrap() else {
            panic!("count")
        };
        let dt = t0.elapsed();
        assert_eq!(c, n);
        out.push(Measured::new(
            "counting",
            "rate",
            n as f64 / dt.as_secs_f64(),
        ));
        a.stop(foundation::ExitReason::Shutdown).await;
    }

    for (key, inflight) in [("pingpong_1", 1u64), ("pingpong_64", 64)] {
        if !only(key) {
            continue;
        }
        let a = spawn(&rt, None).await;
        let b = spawn(&rt, None).await;
        let per_ball = sizes.pingpong / inflight;
        let t0 = Instant::now();
        for _ in 0..inflight {
            // a receives it first and bounces it to b: 2 * per_ball messages a ball.
            a.cast(&Cast::Ball(2 * per_ball, b.id().get(), probe.id().get()))
                .await
                .unwrap();
        }
        wait_done(&mut probe, inflight as usize).await;
        let dt = t0.elapsed();
        let msgs = 2 * per_ball * inflight;
        out.push(Measured::new(key, "rate", msgs as f64 / dt.as_secs_f64()));
        a.stop(foundation::ExitReason::Shutdown).await;
        b.stop(foundation::ExitReason::Shutdown).await;
    }

    if only("call") {
        let a = spawn(&rt, None).await;
        let n = sizes.calls;
        let mut samples = Vec::with_capacity(n as usize);
        let t0 = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            let r: Reply = a.call(&Call::Echo(vec![b'x']), LONG).await.unwrap();
            samples.push(t.elapsed());
            assert!(matches!(&r, Reply::Echo(b) if b == b"x"), "{r:?}");
        }
        let dt = t0.elapsed();
        out.push(Measured::new("call", "rate", n as f64 / dt.as_secs_f64()));
        let [p50, p99, p999] = percentiles_us(&mut samples, [0.5, 0.99, 0.999]);
        out.push(Measured::new("call", "p50_us", p50));
        out.push(Measured::new("call", "p99_us", p99));
        out.push(Measured::new("call", "p999_us", p999));
        a.stop(foundation::ExitReason::Shutdown).await;
    }

    if only("actor_call") {
        let a = spawn(&rt, None).await;
        let b = spawn(&rt, None).await;
        let n = sizes.actor_calls;
        let t0 = Instant::now();
        a.cast(&Cast::CallPeer(b.id().get(), n, probe.id().get()))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
        let dt = t0.elapsed();
        out.push(Measured::new(
            "actor_call",
            "rate",
            n as f64 / dt.as_secs_f64(),
        ));
        a.stop(foundation::ExitReason::Shutdown).await;
        b.stop(foundation::ExitReason::Shutdown).await;
    }

    if only("ring") {
        let t0 = Instant::now();
        let first = spawn(&rt, None).await;
        let mut members = vec![first.clone()];
        for _ in 1..sizes.ring_actors {
            let prev = members.last().unwrap().id().get();
            members.push(spawn(&rt, Some(prev)).await);
        }
        let last = members.last().unwrap().clone();
        first.cast(&Cast::SetNext(last.id().get())).await.unwrap();
        let _: Reply = first.call(&Call::Count, LONG).await.unwrap();
        let setup = t0.elapsed();
        out.push(Measured::new("ring", "setup_ms", setup.as_secs_f64() * 1e3));
        let t0 = Instant::now();
        last.cast(&Cast::Token(sizes.ring_hops, probe.id().get()))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
        let dt = t0.elapsed();
        out.push(Measured::new(
            "ring",
            "rate",
            sizes.ring_hops as f64 / dt.as_secs_f64(),
        ));
        for m in members.iter().rev() {
            m.cast(&Cast::Stop).await.unwrap();
        }
        for m in &members {
            m.wait_exit().await;
        }
    }

    if only("scale") {
        // What one process can make the host hold: a probe (the host's own, without
        // quotas) subscribed to `n` distinct subjects. A publish matches one pattern
        // among `n`; the holder's exit removes them all.
        let n = sizes.scale_held;
        let mut subscriber = rt.probe();
        for i in 0..n {
            subscriber.subscribe(&format!("scale.{i}")).unwrap();
        }
        let publishes = 10_000u64;
        let t0 = Instant::now();
        for i in 0..publishes {
            let topic = format!("scale.{}", (i * 7919) % n);
            let sent = rt.publish(&topic, &Cast::Stop).await.unwrap();
            assert_eq!(sent.delivered, 1);
            subscriber.recv::<Cast>(LONG).await.unwrap();
        }
        let per = t0.elapsed().as_secs_f64() * 1e6 / publishes as f64;
        out.push(Measured::new("scale", "publish_us", per));
        let t0 = Instant::now();
        drop(subscriber);
        out.push(Measured::new(
            "scale",
            "exit_subscriptions_ms",
            t0.elapsed().as_secs_f64() * 1e3,
        ));
        // Reading a manifest of 20,000 actors (half of them under one supervisor),
        // what `foundation check` does before it compiles the components.
        let mut text = String::from("[components.c]\npath = \"c.wasm\"\n\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "[[actors]]\nname = \"a{i}\"\ncomponent = \"c\"\nargs = {{ start = {i} }}\n\n"
            ));
        }
        let children: Vec<String> = (0..20_000)
            .step_by(2)
            .map(|i| format!("\"a{i}\""))
            .collect();
        text.push_str(&format!(
            "[[supervisors]]\nname = \"root\"\nchildren = [{}]\n",
            children.join(", ")
        ));
        let t0 = Instant::now();
        let manifest =
            foundation::Manifest::parse(&text, Path::new("app.toml"), Path::new(".")).unwrap();
        out.push(Measured::new(
            "scale",
            "manifest_20k_ms",
            t0.elapsed().as_secs_f64() * 1e3,
        ));
        assert_eq!(manifest.actor_names().len(), 20_000);
        // A guest holding `n` monitors on one target (its quota's default), killed:
        // its exit removes them all from the target.
        let args = TestArgs {
            notify_on_init: None,
            tag: "watcher".into(),
        };
        let target = rt.spawn("testactor", &args).await.unwrap();
        let watcher = rt.spawn("testactor", &args).await.unwrap();
        let monitored: TestReply = watcher
            .call(
                &TestCall::MonitorMany {
                    target: target.id().get(),
                    n,
                },
                LONG,
            )
            .await
            .unwrap();
        assert!(matches!(monitored, TestReply::Ok), "{monitored:?}");
        let t0 = Instant::now();
        watcher.kill();
        watcher.wait_exit().await;
        out.push(Measured::new(
            "scale",
            "exit_monitors_ms",
            t0.elapsed().as_secs_f64() * 1e3,
        ));
        target.kill();
    }

    if only("spawn") {
        const WINDOW: usize = 64;
        let n = sizes.spawns;
        let mut live: VecDeque<ActorRef> = VecDeque::with_capacity(WINDOW + 1);
        let t0 = Instant::now();
        for _ in 0..n {
            if live.len() == WINDOW {
                live.pop_front().unwrap().wait_exit().await;
            }
            let a = spawn(&rt, None).await;
            a.cast(&Cast::Stop).await.unwrap();
            live.push_back(a);
        }
        for a in live {
            a.wait_exit().await;
        }
        let dt = t0.elapsed();
        out.push(Measured::new("spawn", "rate", n as f64 / dt.as_secs_f64()));
    }

    if only("restart") {
        // The same restart twice: benchactor imports what an actor usually does
        // (foundation's interfaces, stdio); testactor also imports WASI's files and
        // sockets, and every imported function costs instantiation time.
        let bench_args = Args {
            notify_on_init: Some(probe.id().get()),
            ..Args::default()
        };
        let [p50, p99] = restart_latency(
            &rt,
            &mut probe,
            "bench",
            foundation::codec::encode(&bench_args).unwrap(),
            &Cast::Panic,
            &Call::Echo(vec![b'x']),
            |n: &Cast| matches!(n, Cast::Done),
            |r: &Reply| matches!(r, Reply::Echo(b) if b == b"x"),
            sizes.restarts,
        )
        .await;
        out.push(Measured::new("restart", "p50_us", p50));
        out.push(Measured::new("restart", "p99_us", p99));
        let test_args = TestArgs {
            notify_on_init: Some(probe.id().get()),
            tag: "w".into(),
        };
        let [p50, p99] = restart_latency(
            &rt,
            &mut probe,
            "testactor",
            foundation::codec::encode(&test_args).unwrap(),
            &TestCast::Panic("bench".into()),
            &TestCall::Echo("x".into()),
            |n: &TestEvent| matches!(n, TestEvent::Started(tag) if tag == "w"),
            |r: &TestReply| matches!(r, TestReply::Text(t) if t == "x"),
            sizes.restarts,
        )
        .await;
        out.push(Measured::new("restart", "wasi_p50_us", p50));
        out.push(Measured::new("restart", "wasi_p99_us", p99));
    }

    if only("attack") {
        // The sandbox issue's figure: sequential calls to a well-behaved actor while
        // another actor on the same runtime loops forever in a handler (no deadline).
        // Epoch yields bound what the busy one takes from it.
        let neighbour = spawn(&rt, None).await;
        let attacker = rt
            .spawn(
                "testactor",
                &TestArgs {
                    notify_on_init: None,
                    tag: "attacker".into(),
                },
            )
            .await
            .unwrap();
        let r: TestReply = attacker.call(&TestCall::Spin, LONG).await.unwrap();
        assert!(matches!(r, TestReply::Ok), "{r:?}");
        let mut samples = Vec::with_capacity(sizes.attack_calls as usize);
        for _ in 0..sizes.attack_calls {
            let t = Instant::now();
            let r: Reply = neighbour.call(&Call::Echo(vec![b'x']), LONG).await.unwrap();
            samples.push(t.elapsed());
            assert!(matches!(&r, Reply::Echo(b) if b == b"x"), "{r:?}");
        }
        let [p50, p99] = percentiles_us(&mut samples, [0.5, 0.99]);
        out.push(Measured::new("attack", "p50_us", p50));
        out.push(Measured::new("attack", "p99_us", p99));
        attacker.kill();
        attacker.wait_exit().await;
        neighbour.stop(foundation::ExitReason::Shutdown).await;
    }

    if only("table") {
        let owner = spawn(&rt, None).await;
        let readers = [spawn(&rt, None).await, spawn(&rt, None).await];
        let Reply::Count(table) = owner.call(&Call::CreateTable, LONG).await.unwrap() else {
            panic!("create table")
        };
        let keys = sizes.table_keys;
        let done = probe.id().get();
        // Fill, then time overwriting inserts by the owner.
        owner
            .cast(&Cast::TableWrite(table, keys, keys, done))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
        let writes = keys * sizes.table_writes_per_key;
        let t0 = Instant::now();
        owner
            .cast(&Cast::TableWrite(table, keys, writes, done))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
        out.push(Measured::new(
            "table",
            "write_rate",
            writes as f64 / t0.elapsed().as_secs_f64(),
        ));
        // Two readers at once (on two threads when there are two).
        let reads = keys * sizes.table_reads_per_key;
        let rate = lookup_rate(&readers, &mut probe, table, keys, reads).await;
        out.push(Measured::new("table", "lookup_rate", rate));
        // The same in bulk: `get-many` and `insert-many` of TABLE_BATCH keys.
        let t0 = Instant::now();
        owner
            .cast(&Cast::TableWriteMany(
                table,
                keys,
                writes,
                TABLE_BATCH,
                done,
            ))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
        out.push(Measured::new(
            "table",
            "write_many_rate",
            writes as f64 / t0.elapsed().as_secs_f64(),
        ));
        let t0 = Instant::now();
        for r in &readers {
            r.cast(&Cast::TableReadMany(table, keys, reads, TABLE_BATCH, done))
                .await
                .unwrap();
        }
        wait_done(&mut probe, 2).await;
        out.push(Measured::new(
            "table",
            "lookup_many_rate",
            (2 * reads) as f64 / t0.elapsed().as_secs_f64(),
        ));
        owner.stop(foundation::ExitReason::Shutdown).await;
    }

    rt.shutdown().await;
    drop(probe);

    if only("cold_start") {
        out.push(Measured::new(
            "cold_start",
            "ms",
            cold_start(sizes.cold_components, cache).await,
        ));
    }
    out
}

/// RSS per idle actor with `n` live actors; run in a fresh process (see `main`).
pub async fn memory(n: usize, cache: &Path) -> Result<Vec<Measured>, String> {
    if let Some(why) = crate::memory_skip(n) {
        return Err(why);
    }
    let rt = try_runtime(n as u32 + 16, cache).map_err(|e| e.to_string())?;
    // Warm the pool and the allocator with one actor, so the figure is per actor.
    let warm = spawn(&rt, None).await;
    let _: Reply = warm.call(&Call::Count, LONG).await.unwrap();
    let mut live = Vec::with_capacity(n);
    let baseline = crate::MemoryBaseline::now();
    for _ in 0..n {
        live.push(spawn(&rt, None).await);
    }
    let measured = baseline.per_actor(n);
    drop(live);
    rt.shutdown().await;
    Ok(measured)
}

/// An app of `n` distinct components (benchactor with a distinct custom section
/// appended, so each has its own compile-cache entry), from a warm cache to every
/// actor's first reply.
async fn cold_start(n: usize, cache: &Path) -> f64 {
    let base = std::fs::read(foundation_fixtures::BENCHACTOR).unwrap();
    let variants: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let name = format!("bench-variant-{i}");
            let mut payload = vec![name.len() as u8];
            payload.extend_from_slice(name.as_bytes());
            let mut bytes = base.clone();
            bytes.push(0); // custom section
            leb128(&mut bytes, payload.len() as u64);
            bytes.extend_from_slice(&payload);
            bytes
        })
        .collect();
    // Warm the cache.
    {
        let rt = Runtime::builder()
            .cache_dir(Some(cache.to_path_buf()))
            .build()
            .unwrap();
        for (i, v) in variants.iter().enumerate() {
            rt.add_component_bytes(&format!("c{i}"), v).unwrap();
        }
        rt.shutdown().await;
    }
    let t0 = Instant::now();
    let rt = Runtime::builder()
        .cache_dir(Some(cache.to_path_buf()))
        .build()
        .unwrap();
    for (i, v) in variants.iter().enumerate() {
        rt.add_component_bytes(&format!("c{i}"), v).unwrap();
    }
    let mut actors = Vec::new();
    for i in 0..n {
        actors.push(rt.spawn(&format!("c{i}"), &Args::default()).await.unwrap());
    }
    for a in &actors {
        let _: Reply = a.call(&Call::Count, LONG).await.unwrap();
    }
    let dt = t0.elapsed();
    rt.shutdown().await;
    dt.as_secs_f64() * 1e3
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A fresh directory for one system's durable data, under the workspace's target.
pub fn data_dir(system: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(foundation_fixtures::WORKSPACE)
        .join("target/bench")
        .join(format!("durable-{system}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Whether the `postgres` workload runs: selected, and PostgreSQL installed.
pub fn postgres_selected(only: &(dyn Fn(&str) -> bool + Sync)) -> bool {
    if !only("postgres") {
        return false;
    }
    let installed = foundation_fixtures::postgres::available();
    if !installed {
        eprintln!("  postgres: skipped: PostgreSQL is not installed (apt-get install postgresql)");
    }
    installed
}

/// `n` acknowledged writes to `store`, split over `writers` running at once; the
/// rate of acknowledged writes.
async fn kv_writes(writers: &[ActorRef], probe: &mut Probe, store: &str, run: &str, n: u64) -> f64 {
    let per = n / writers.len() as u64;
    let t0 = Instant::now();
    for (i, w) in writers.iter().enumerate() {
        w.cast(&Cast::KvWrite(
            store.to_string(),
            format!("{run}-w{i}-"),
            per,
            probe.id().get(),
        ))
        .await
        .unwrap();
    }
    wait_done(probe, writers.len()).await;
    (per * writers.len() as u64) as f64 / t0.elapsed().as_secs_f64()
}

/// `n` acknowledged writes to `store` by the first writer alone (`{metric}_1`), then
/// by all of them at once (`{metric}_8`).
async fn write_rows(
    writers: &[ActorRef],
    probe: &mut Probe,
    store: &str,
    workload: &str,
    metric: &str,
    n: u64,
) -> Vec<Measured> {
    let run = std::process::id();
    let mut out = Vec::new();
    for w in [1, writers.len()] {
        let rate = kv_writes(&writers[..w], probe, store, &format!("{run}-{w}"), n).await;
        out.push(Measured::new(workload, &format!("{metric}_{w}"), rate));
    }
    out
}

/// Durable state: acknowledged writes from 1 and 8 guest writers to a SQLite store
/// (`durable`) and to PostgreSQL (`postgres`), and the lookups of two readers in a
/// durable table beside the same in an in-memory table.
pub async fn durable(
    sizes: &Sizes,
    only: &(dyn Fn(&str) -> bool + Sync),
    cache: &Path,
) -> Vec<Measured> {
    let mut out = Vec::new();
    // SQLite first, in a runtime of its own: the PostgreSQL server starts only after
    // (its start-up writes would share the disk with SQLite's fsyncs).
    if only("durable") {
        out.extend(sqlite_rows(sizes, cache).await);
    }
    if postgres_selected(only) {
        out.extend(postgres_rows(sizes, cache).await);
    }
    out
}

/// A runtime with the store `store` as `config` (and durable tables in it when it is
/// SQLite), and eight writer actors granted it.
async fn store_runtime(
    cache: &Path,
    dir: &Path,
    store: &str,
    config: StoreConfig,
) -> (Runtime, Vec<ActorRef>) {
    let sqlite = config == StoreConfig::sqlite();
    let mut b = Runtime::builder();
    b.max_instances(64)
        .cache_dir(Some(cache.to_path_buf()))
        .data_dir(dir)
        .store(store, config);
    if sqlite {
        b.table_store(store);
    }
    let rt = b.build().expect("a runtime with a store");
    rt.add_component("bench", foundation_fixtures::BENCHACTOR)
        .expect("benchactor");
    let sandbox = Sandbox {
        capabilities: Capabilities::default().keyvalue(store),
        ..Sandbox::default()
    };
    let mut writers = Vec::new();
    for _ in 0..8 {
        let w = rt
            .spawn_with(
                ActorOptions::new("bench").sandbox(sandbox.clone()),
                &Args::default(),
            )
            .await
            .expect("a writer");
        writers.push(w);
    }
    (rt, writers)
}

async fn sqlite_rows(sizes: &Sizes, cache: &Path) -> Vec<Measured> {
    let mut out = Vec::new();
    let dir = data_dir("foundation");
    let (rt, writers) = store_runtime(cache, &dir, "bench", StoreConfig::sqlite()).await;
    let mut probe = rt.probe();
    let run = format!("{}", std::process::id());
    out.extend(
        write_rows(
            &writers,
            &mut probe,
            "bench",
            "durable",
            "kv_write",
            sizes.kv_writes,
        )
        .await,
    );
    // The same writes from Rust (`Runtime::store`): the store without the guest.
    let bucket = rt.store("bench").unwrap();
    let value = [7u8; 100];
    let t0 = Instant::now();
    for i in 0..sizes.kv_writes {
        bucket
            .set(&format!("{run}-rust-{i}"), &value)
            .await
            .unwrap();
    }
    out.push(Measured::new(
        "durable",
        "rust_write_1",
        sizes.kv_writes as f64 / t0.elapsed().as_secs_f64(),
    ));

    // Lookups in an in-memory and a durable table of the same keys, side by side.
    let owner = spawn(&rt, None).await;
    let readers = [spawn(&rt, None).await, spawn(&rt, None).await];
    let keys = sizes.durable_table_keys;
    let reads = keys * sizes.table_reads_per_key;
    let done = probe.id().get();
    let Reply::Count(memory) = owner.call(&Call::CreateTable, LONG).await.unwrap() else {
        panic!("create table")
    };
    let durable_name = format!("bench-{run}");
    let Reply::Count(durable) = owner
        .call(&Call::CreateDurableTable(durable_name), LONG)
        .await
        .unwrap()
    else {
        panic!("create a durable table")
    };
    for table in [memory, durable] {
        owner
            .cast(&Cast::TableWriteMany(table, keys, keys, TABLE_BATCH, done))
            .await
            .unwrap();
        wait_done(&mut probe, 1).await;
    }
    // Alternating rounds, the best of each: the two tables are read the same way
    // (a durable table's reads are an in-memory table's), so what differs between
    // single rounds is the machine.
    let mut best = [0f64; 2];
    for _ in 0..3 {
        for (i, table) in [memory, durable].into_iter().enumerate() {
            let rate = lookup_rate(&readers, &mut probe, table, keys, reads).await;
            best[i] = best[i].max(rate);
        }
    }
    out.push(Measured::new("durable", "memory_lookup_rate", best[0]));
    out.push(Measured::new("durable", "durable_lookup_rate", best[1]));
    rt.shutdown().await;
    drop(probe);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

async fn postgres_rows(sizes: &Sizes, cache: &Path) -> Vec<Measured> {
    let url = foundation_fixtures::postgres::server().url();
    let config =
        StoreConfig::postgres(url).password_env(foundation_fixtures::postgres::PASSWORD_ENV);
    let dir = data_dir("foundation-pg");
    let (rt, writers) = store_runtime(cache, &dir, "pg", config).await;
    let mut probe = rt.probe();
    let out = write_rows(
        &writers,
        &mut probe,
        "pg",
        "postgres",
        "pg_write",
        sizes.kv_writes,
    )
    .await;
    rt.shutdown().await;
    drop(probe);
    out
}
