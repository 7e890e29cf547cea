//! Runtime benchmarks that print one table: restart latency after a trap (issue 3),
//! sequential host-to-actor call latency, and Counting (casts into one actor).
//!
//! Run: `cargo bench -p foundation-host --bench runtime` (release build; add
//! `-- --quick` for fewer iterations, `-- --current-thread` to run every actor on one
//! thread instead of a two-worker runtime). The Erlang/OTP column quotes the figures
//! measured on this kind of machine in `../shared/otp-semantics.md`; the side-by-side
//! run against `erl` is the benchmark issue's.

use std::time::{Duration, Instant};

use foundation::{ChildSpec, Probe, Runtime, Strategy, SupervisorSpec};
use serde::{Deserialize, Serialize};

/// The testactor fixture's messages, by shape (see tests/guests/testactor).
#[derive(Serialize)]
enum Call {
    Echo(String),
    History,
}

#[derive(Serialize)]
enum Cast {
    Record(u64),
    Panic(String),
}

#[derive(Deserialize, Debug)]
enum Reply {
    Text(String),
    History(Vec<(u64, u64)>),
}

#[derive(Deserialize, Debug)]
enum Event {
    Started(String),
}

#[derive(Serialize, Default)]
struct Args {
    notify_on_init: Option<u64>,
    tag: String,
}

const LONG: Duration = Duration::from_secs(30);

struct Row {
    workload: &'static str,
    figure: String,
    otp: &'static str,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

async fn restart_latency(rt: &Runtime, probe: &mut Probe, n: usize) -> Vec<Duration> {
    let args = Args {
        notify_on_init: Some(probe.id().get()),
        tag: "w".into(),
    };
    let spec = SupervisorSpec {
        strategy: Strategy::OneForOne,
        max_restarts: u32::MAX,
        max_seconds: Duration::from_secs(1),
        children: vec![
            ChildSpec::actor("w", "testactor", foundation::codec::encode(&args).unwrap()).name("w"),
        ],
        ..SupervisorSpec::default()
    };
    let _sup = rt.start_supervisor(spec, None).await.unwrap();
    probe.recv::<Event>(LONG).await.unwrap();
    let child = rt.whereis("w").unwrap();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        child.cast(&Cast::Panic("bench".into())).await.unwrap();
        // The restarted instance announces itself from its init; the call then
        // waits in its mailbox and is answered right after.
        let Event::Started(tag) = probe.recv::<Event>(LONG).await.unwrap().msg;
        let r: Reply = child.call(&Call::Echo("x".into()), LONG).await.unwrap();
        samples.push(t0.elapsed());
        assert_eq!(tag, "w");
        assert!(matches!(&r, Reply::Text(t) if t == "x"), "{r:?}");
    }
    samples.sort();
    samples
}

async fn call_latency(rt: &Runtime, n: usize) -> (Vec<Duration>, Duration) {
    let a = rt.spawn("testactor", &Args::default()).await.unwrap();
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let r: Reply = a.call(&Call::Echo("x".into()), LONG).await.unwrap();
        samples.push(t0.elapsed());
        assert!(matches!(&r, Reply::Text(t) if t == "x"), "{r:?}");
    }
    let total = start.elapsed();
    samples.sort();
    (samples, total)
}

async fn counting(rt: &Runtime, n: u64) -> Duration {
    let a = rt
        .spawn_with(
            foundation::ActorOptions::new("testactor").mailbox(4096),
            &Args::default(),
        )
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        a.cast(&Cast::Record(i)).await.unwrap();
    }
    let Reply::History(h) = a.call(&Call::History, LONG).await.unwrap() else {
        panic!("history")
    };
    let elapsed = start.elapsed();
    assert_eq!(h.len() as u64, n);
    elapsed
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,foundation::actor=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let quick = std::env::args().any(|a| a == "--quick");
    let (restarts, calls, casts) = if quick {
        (200, 20_000, 100_000)
    } else {
        (1000, 100_000, 1_000_000)
    };
    // `--current-thread`: every actor on one thread (no cross-thread wake-ups).
    let tokio = if std::env::args().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };
    let rows = tokio.block_on(async {
        let rt = Runtime::builder().build().unwrap();
        rt.add_component("testactor", foundation_fixtures::TESTACTOR)
            .unwrap();
        let mut probe = rt.probe();
        let mut rows = Vec::new();

        eprintln!("restart latency ({restarts} restarts)...");
        let r = restart_latency(&rt, &mut probe, restarts).await;
        rows.push(Row {
            workload: "restart after trap (p50 / p99)",
            figure: format!(
                "{} / {}",
                micros(percentile(&r, 0.5)),
                micros(percentile(&r, 0.99))
            ),
            otp: "51 / 103 µs",
        });

        eprintln!("call latency ({calls} calls)...");
        let (c, total) = call_latency(&rt, calls).await;
        rows.push(Row {
            workload: "sequential host→actor call (p50 / p99)",
            figure: format!(
                "{} / {}, {:.0} k/s",
                micros(percentile(&c, 0.5)),
                micros(percentile(&c, 0.99)),
                calls as f64 / total.as_secs_f64() / 1e3
            ),
            otp: "3.0 / 4.6 µs, 315 k/s",
        });

        eprintln!("Counting ({casts} casts)...");
        let t = counting(&rt, casts).await;
        rows.push(Row {
            workload: "Counting: casts into one actor",
            figure: format!("{:.2} M/s", casts as f64 / t.as_secs_f64() / 1e6),
            otp: "3.08 M/s",
        });
        rt.shutdown().await;
        rows
    });
    println!("| workload | foundation | Erlang/OTP 25 +S 1 (reference, not this run) |");
    println!("| --- | --- | --- |");
    for row in rows {
        println!("| {} | {} | {} |", row.workload, row.figure, row.otp);
    }
    println!("\nrestarts: {restarts}, calls: {calls}, casts: {casts}");
}
