//! The benchmark suite (issue 6): Savina workloads and OTP practice, measured on
//! foundation, on native tokio (the cost of the sandbox) and on Erlang/OTP (the bar),
//! in one run, printed as one table of figures and ratios and written as JSON.
//!
//! ```text
//! cargo bench -p foundation-host --bench runtime                 # everything
//! cargo bench -p foundation-host --bench runtime -- --quick      # smaller sizes
//! cargo bench -p foundation-host --bench runtime -- --only call,restart --schedulers 1
//! ```
//!
//! Each system runs with one scheduler thread and with two: foundation and tokio on a
//! current-thread and on a two-worker tokio runtime (the driver itself runs as a task
//! on a worker), Erlang with `+S 1` and `+S 2`. Erlang runs when `erlc` and `erl` are
//! on the PATH (`apt-get install erlang`); otherwise the table says so and shows the
//! other columns. Absolute figures move between runs on a shared machine; the ratios,
//! measured side by side, are what to compare.

mod erlang;
mod foundation;
mod native;

/// The allocator the `foundation` binary runs with (mimalloc with the default
/// features), for foundation and the tokio baseline alike, wrapped to count the
/// bytes live in the heap while a memory figure is measured.
#[global_allocator]
static GLOBAL: Counting = Counting;

#[cfg(feature = "mimalloc")]
type Underlying = mimalloc::MiMalloc;
#[cfg(not(feature = "mimalloc"))]
type Underlying = std::alloc::System;

/// Counts heap bytes only once `COUNT_HEAP` is set (in a memory-measuring child
/// process), so throughput figures pay one relaxed load per allocation.
struct Counting;

static COUNT_HEAP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static HEAP_LIVE: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

fn count_heap(delta: isize) {
    use std::sync::atomic::Ordering::Relaxed;
    if COUNT_HEAP.load(Relaxed) {
        HEAP_LIVE.fetch_add(delta, Relaxed);
    }
}

// SAFETY: every call is forwarded to the underlying allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Underlying {}.alloc(layout) };
        if !p.is_null() {
            count_heap(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Underlying {}.alloc_zeroed(layout) };
        if !p.is_null() {
            count_heap(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { Underlying {}.dealloc(ptr, layout) };
        count_heap(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Underlying {}.realloc(ptr, layout, new) };
        if !p.is_null() {
            count_heap(new as isize - layout.size() as isize);
        }
        p
    }
}

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "foundation's benchmark suite, side by side with Erlang/OTP and tokio")]
struct Opts {
    /// Smaller sizes (about ten times fewer iterations).
    #[arg(long)]
    quick: bool,
    /// Only these workloads (comma-separated keys, e.g. `counting,call`); the table
    /// lists every key.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Scheduler threads to measure with (1, 2 or both).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1u32, 2])]
    schedulers: Vec<u32>,
    /// Skip Erlang/OTP even if it is installed.
    #[arg(long)]
    no_erlang: bool,
    /// Skip the native tokio baseline.
    #[arg(long)]
    no_tokio: bool,
    /// Where to write the results as JSON (default: the workspace's
    /// `target/bench/runtime.json`, whatever directory cargo runs the bench in).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Internal: measure one memory workload (`--only memory_N`) of this system
    /// (`foundation` or `tokio`) in this fresh process and print it as JSON.
    #[arg(long, hide = true)]
    memory_child: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Workload sizes, shared by all three systems.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub counting: u64,
    pub pingpong: u64,
    pub calls: u64,
    pub actor_calls: u64,
    pub ring_actors: u64,
    pub ring_hops: u64,
    pub spawns: u64,
    pub restarts: u64,
    pub attack_calls: u64,
    pub memory: Vec<usize>,
    pub cold_components: usize,
    pub table_keys: u64,
    pub table_writes_per_key: u64,
    pub table_reads_per_key: u64,
    /// Subscriptions (and monitors) one process holds in the `scale` workload.
    pub scale_held: u64,
    /// Acknowledged durable writes per figure (`durable`, `postgres`).
    pub kv_writes: u64,
    /// Keys of the durable and in-memory tables read side by side (`durable`).
    pub durable_table_keys: u64,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            counting: 1_000_000,
            pingpong: 1_000_000,
            calls: 100_000,
            actor_calls: 100_000,
            ring_actors: 10_000,
            ring_hops: 1_000_000,
            spawns: 100_000,
            restarts: 1000,
            attack_calls: 1000,
            memory: vec![10_000, 100_000],
            cold_components: 10,
            table_keys: 65_536,
            table_writes_per_key: 16,
            table_reads_per_key: 32,
            scale_held: 100_000,
            kv_writes: 8_000,
            durable_table_keys: 16_384,
        }
    }
    fn quick() -> Sizes {
        Sizes {
            counting: 100_000,
            pingpong: 100_000,
            calls: 20_000,
            actor_calls: 20_000,
            ring_actors: 10_000,
            ring_hops: 100_000,
            spawns: 10_000,
            restarts: 200,
            attack_calls: 200,
            memory: vec![10_000],
            cold_components: 10,
            table_keys: 65_536,
            table_writes_per_key: 2,
            table_reads_per_key: 4,
            scale_held: 10_000,
            kv_writes: 1_600,
            durable_table_keys: 4_096,
        }
    }
}

/// One figure: `workload`'s `metric`.
#[derive(Debug, Clone)]
pub struct Measured {
    pub workload: String,
    pub metric: String,
    pub value: f64,
}

impl Measured {
    pub fn new(workload: &str, metric: &str, value: f64) -> Measured {
        Measured {
            workload: workload.into(),
            metric: metric.into(),
            value,
        }
    }
}

/// Sorts `samples` and returns the given percentiles in microseconds.
pub fn percentiles_us<const N: usize>(samples: &mut [Duration], ps: [f64; N]) -> [f64; N] {
    samples.sort();
    ps.map(|p| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i].as_secs_f64() * 1e6
    })
}

/// This process's resident set size, from `/proc/self/status`.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes live in the heap, counted since `COUNT_HEAP` was set (see `Counting`).
pub fn heap_bytes() -> i64 {
    HEAP_LIVE.load(std::sync::atomic::Ordering::Relaxed) as i64
}

/// This process's proportional set size: resident pages, each shared one divided
/// among the mappings that share it. A wasm instance maps its component's data
/// segments copy-on-write from one image, so those pages count in the RSS of every
/// instance but are held once.
pub fn pss_bytes() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// RSS, PSS and heap at one moment, to measure what `n` actors added since.
#[derive(Debug)]
pub struct MemoryBaseline {
    rss: i64,
    pss: i64,
    heap: i64,
}

impl MemoryBaseline {
    pub fn now() -> Self {
        MemoryBaseline {
            rss: rss_bytes() as i64,
            pss: pss_bytes() as i64,
            heap: heap_bytes(),
        }
    }

    /// The growth since `self` per actor, as the figures of workload `memory_{n}`.
    pub fn per_actor(&self, n: usize) -> Vec<Measured> {
        let now = MemoryBaseline::now();
        let key = format!("memory_{n}");
        let per = |before: i64, after: i64| (after - before) as f64 / n as f64;
        vec![
            Measured::new(&key, "bytes_per_actor", per(self.rss, now.rss)),
            Measured::new(&key, "pss_per_actor", per(self.pss, now.pss)),
            Measured::new(&key, "heap_per_actor", per(self.heap, now.heap)),
        ]
    }
}

/// Why `n` live instances cannot be measured on this machine, if they cannot.
pub fn memory_skip(n: usize) -> Option<String> {
    // Each live instance takes about 4 memory mappings, as measured here: with Linux's
    // default `vm.max_map_count` (65530), spawns failed with ENOMEM near 16k instances.
    let need = n * 4 + 10_000;
    let have: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530);
    if have < need {
        return Some(format!(
            "vm.max_map_count is {have}, {n} instances need about {need}; \
             raise it with `sysctl -w vm.max_map_count=1048576`"
        ));
    }
    None
}

/// How a row's figures read and what the issue asks of them.
struct Row {
    key: &'static str,
    metric: &'static str,
    label: &'static str,
    unit: Unit,
    target: Target,
}

#[derive(Clone, Copy)]
enum Unit {
    Rate,
    Micros,
    Millis,
    Bytes,
}

impl Unit {
    fn higher_is_better(self) -> bool {
        matches!(self, Unit::Rate)
    }
    fn show(self, v: f64) -> String {
        match self {
            Unit::Rate if v >= 1e6 => format!("{:.2} M/s", v / 1e6),
            Unit::Rate if v >= 1e5 => format!("{:.0} k/s", v / 1e3),
            Unit::Rate => format!("{:.1} k/s", v / 1e3),
            Unit::Micros => format!("{v:.1} µs"),
            Unit::Millis => format!("{v:.1} ms"),
            Unit::Bytes => format!("{:.1} KiB", v / 1024.0),
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    /// At least this factor of Erlang's figure (speed factor, > 1 is faster).
    Erlang(f64),
    AtLeast(f64),
    AtMost(f64),
    /// At least `factor` of the native baseline's figure (the tokio column: the same
    /// work in plain Rust) and at least `at_least`.
    Native {
        factor: f64,
        at_least: f64,
    },
    /// At least `factor` of foundation's own figure `metric` of the same workload
    /// (measured side by side).
    Of {
        metric: &'static str,
        factor: f64,
    },
    None,
}

const ROWS: &[Row] = &[
    Row {
        key: "counting",
        metric: "rate",
        label: "Counting: casts into one actor",
        unit: Unit::Rate,
        target: Target::Erlang(3.0),
    },
    Row {
        key: "pingpong_1",
        metric: "rate",
        label: "PingPong, 1 in flight (msgs)",
        unit: Unit::Rate,
        target: Target::Erlang(0.8),
    },
    Row {
        key: "pingpong_64",
        metric: "rate",
        label: "PingPong, 64 in flight (msgs)",
        unit: Unit::Rate,
        target: Target::AtLeast(8e6),
    },
    Row {
        key: "call",
        metric: "rate",
        label: "host→actor calls, sequential",
        unit: Unit::Rate,
        target: Target::Erlang(1.5),
    },
    Row {
        key: "call",
        metric: "p50_us",
        label: "  call p50",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "call",
        metric: "p99_us",
        label: "  call p99",
        unit: Unit::Micros,
        target: Target::AtMost(5.0),
    },
    Row {
        key: "call",
        metric: "p999_us",
        label: "  call p99.9",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "actor_call",
        metric: "rate",
        label: "actor→actor calls",
        unit: Unit::Rate,
        target: Target::Erlang(1.0),
    },
    Row {
        key: "ring",
        metric: "rate",
        label: "ThreadRing 10k actors (hops)",
        unit: Unit::Rate,
        target: Target::Erlang(0.75),
    },
    Row {
        key: "ring",
        metric: "setup_ms",
        label: "  ring set-up",
        unit: Unit::Millis,
        target: Target::AtMost(250.0),
    },
    Row {
        key: "spawn",
        metric: "rate",
        label: "spawn + exit",
        unit: Unit::Rate,
        target: Target::AtLeast(50e3),
    },
    Row {
        key: "restart",
        metric: "p50_us",
        label: "restart after trap p50",
        unit: Unit::Micros,
        target: Target::AtMost(25.0),
    },
    Row {
        key: "restart",
        metric: "p99_us",
        label: "restart after trap p99",
        unit: Unit::Micros,
        target: Target::AtMost(100.0),
    },
    Row {
        key: "restart",
        metric: "wasi_p50_us",
        label: "  the same, an actor importing WASI files and sockets, p50",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "restart",
        metric: "wasi_p99_us",
        label: "  the same, p99",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "attack",
        metric: "p50_us",
        label: "call p50, a neighbour in a busy loop",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "attack",
        metric: "p99_us",
        label: "call p99, a neighbour in a busy loop",
        unit: Unit::Micros,
        target: Target::None,
    },
    Row {
        key: "memory_10000",
        metric: "bytes_per_actor",
        label: "RSS per idle actor, 10k",
        unit: Unit::Bytes,
        target: Target::AtMost(24.0 * 1024.0),
    },
    Row {
        key: "memory_100000",
        metric: "bytes_per_actor",
        label: "RSS per idle actor, 100k",
        unit: Unit::Bytes,
        target: Target::AtMost(25.6 * 1024.0),
    },
    Row {
        key: "memory_10000",
        metric: "pss_per_actor",
        label: "  PSS per idle actor, 10k",
        unit: Unit::Bytes,
        target: Target::None,
    },
    Row {
        key: "memory_100000",
        metric: "pss_per_actor",
        label: "  PSS per idle actor, 100k",
        unit: Unit::Bytes,
        target: Target::None,
    },
    Row {
        key: "memory_10000",
        metric: "heap_per_actor",
        label: "  host heap per idle actor, 10k",
        unit: Unit::Bytes,
        target: Target::None,
    },
    Row {
        key: "table",
        metric: "lookup_rate",
        label: "table lookups, 2 readers",
        unit: Unit::Rate,
        target: Target::AtLeast(8e6),
    },
    Row {
        key: "table",
        metric: "write_rate",
        label: "table writes by the owner",
        unit: Unit::Rate,
        target: Target::AtLeast(3e6),
    },
    Row {
        key: "table",
        metric: "lookup_many_rate",
        label: "  the same lookups, get-many of 64",
        unit: Unit::Rate,
        target: Target::AtLeast(8e6),
    },
    Row {
        key: "table",
        metric: "write_many_rate",
        label: "  the same writes, insert-many of 64",
        unit: Unit::Rate,
        target: Target::AtLeast(3e6),
    },
    Row {
        key: "scale",
        metric: "publish_us",
        label: "publish among 100k patterns, one matching",
        unit: Unit::Micros,
        target: Target::AtMost(10.0),
    },
    Row {
        key: "scale",
        metric: "exit_subscriptions_ms",
        label: "  exit of a holder of 100k subscriptions",
        unit: Unit::Millis,
        target: Target::AtMost(100.0),
    },
    Row {
        key: "scale",
        metric: "exit_monitors_ms",
        label: "  exit of a guest holding 100k monitors on one target",
        unit: Unit::Millis,
        target: Target::AtMost(100.0),
    },
    Row {
        key: "scale",
        metric: "manifest_20k_ms",
        label: "  reading a manifest of 20k actors (check's parse)",
        unit: Unit::Millis,
        target: Target::AtMost(1000.0),
    },
    Row {
        key: "durable",
        metric: "kv_write_1",
        label: "acknowledged durable writes (SQLite), 1 writer",
        unit: Unit::Rate,
        target: Target::Native {
            factor: 0.8,
            at_least: 0.0,
        },
    },
    Row {
        key: "durable",
        metric: "kv_write_8",
        label: "  the same, 8 writers (group commit)",
        unit: Unit::Rate,
        target: Target::Native {
            factor: 0.8,
            at_least: 20e3,
        },
    },
    Row {
        key: "durable",
        metric: "rust_write_1",
        label: "  the same, 1 writer from Rust (Runtime::store)",
        unit: Unit::Rate,
        target: Target::Native {
            factor: 0.8,
            at_least: 0.0,
        },
    },
    Row {
        key: "durable",
        metric: "memory_lookup_rate",
        label: "table lookups, 2 readers, in-memory table",
        unit: Unit::Rate,
        target: Target::None,
    },
    Row {
        key: "durable",
        metric: "durable_lookup_rate",
        label: "  the same lookups, durable table",
        unit: Unit::Rate,
        target: Target::Of {
            metric: "memory_lookup_rate",
            factor: 0.9,
        },
    },
    Row {
        key: "postgres",
        metric: "pg_write_1",
        label: "acknowledged writes to PostgreSQL, 1 writer",
        unit: Unit::Rate,
        target: Target::Native {
            factor: 0.8,
            at_least: 0.0,
        },
    },
    Row {
        key: "postgres",
        metric: "pg_write_8",
        label: "  the same, 8 writers",
        unit: Unit::Rate,
        target: Target::Native {
            factor: 0.8,
            at_least: 0.0,
        },
    },
    Row {
        key: "cold_start",
        metric: "ms",
        label: "cold start, 10 components",
        unit: Unit::Millis,
        target: Target::AtMost(100.0),
    },
];

/// Figures by (system, schedulers) then (workload, metric).
type Results = BTreeMap<(&'static str, u32), BTreeMap<(String, String), f64>>;

fn main() {
    // With RUST_BACKTRACE=1 in the environment (common on developer machines), every
    // guest trap makes anyhow capture a *native* backtrace of the host, which doubles
    // the restart latency and tells nothing about the guest (its wasm backtrace is
    // captured regardless). Leave library backtraces off unless asked for.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // The restart workload traps on purpose a thousand times.
                tracing_subscriber::EnvFilter::new(
                    "warn,foundation::wasm::actor=off,foundation::supervisor=off",
                )
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let opts = Opts::parse();
    let sizes = if opts.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let only_list = opts.only.clone();
    let only = move |key: &str| only_list.is_empty() || only_list.iter().any(|k| k == key);
    let workspace = PathBuf::from(foundation_fixtures::WORKSPACE);
    let scratch = workspace.join("target/bench");
    let cache = scratch.join("cache");

    if let Some(system) = &opts.memory_child {
        memory_child(system, &opts, &cache);
        return;
    }

    let mut results: Results = BTreeMap::new();
    let mut record = |system: &'static str, s: u32, ms: Vec<Measured>| {
        let entry = results.entry((system, s)).or_default();
        for m in ms {
            entry.insert((m.workload, m.metric), m.value);
        }
    };

    for &s in &opts.schedulers {
        eprintln!("foundation, {s} scheduler thread(s)...");
        record(
            "foundation",
            s,
            on_tokio(s, {
                let sizes = sizes.clone();
                let only = only.clone();
                let cache = cache.clone();
                async move {
                    let mut out = foundation::run(&sizes, &only, &cache).await;
                    out.extend(foundation::durable(&sizes, &only, &cache).await);
                    out
                }
            }),
        );
        if !opts.no_tokio {
            eprintln!("tokio baseline, {s} thread(s)...");
            record(
                "tokio",
                s,
                on_tokio(s, {
                    let sizes = sizes.clone();
                    let only = only.clone();
                    async move {
                        let mut out = native::run(&sizes, &only).await;
                        out.extend(native::durable(&sizes, &only).await);
                        out
                    }
                }),
            );
        }
    }

    // Memory in a fresh process per figure: the heap that earlier workloads freed
    // would otherwise absorb the growth.
    for &s in &opts.schedulers {
        for &n in &sizes.memory {
            let key = format!("memory_{n}");
            if !only(&key) {
                continue;
            }
            let mut systems = vec!["foundation"];
            if !opts.no_tokio {
                systems.push("tokio");
            }
            for system in systems {
                eprintln!("{system}, {s} thread(s): {key} (own process)...");
                match run_memory_child(system, s, &key) {
                    Ok(m) => record(system, s, m),
                    Err(e) => eprintln!("  {key}: skipped: {e}"),
                }
            }
        }
    }

    let erlang_note = if opts.no_erlang {
        Some("skipped (--no-erlang)".to_string())
    } else {
        match erlang::Erlang::prepare(&workspace, &scratch.join("erlang")) {
            Ok(erl) => {
                for &s in &opts.schedulers {
                    eprintln!("Erlang/OTP +S {s}...");
                    record("erlang", s, erl.run(s, &sizes, &only));
                }
                None
            }
            Err(why) => Some(why),
        }
    };

    print_table(&results, &opts.schedulers, &sizes, erlang_note.as_deref());
    let json = opts
        .json
        .clone()
        .unwrap_or_else(|| scratch.join("runtime.json"));
    if let Err(e) = write_json(&json, &results, &sizes, opts.quick) {
        eprintln!("cannot write {}: {e}", json.display());
    }
}

/// Runs this benchmark binary again to measure one memory figure in a fresh process.
fn run_memory_child(system: &str, schedulers: u32, key: &str) -> Result<Vec<Measured>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["--memory-child", system, "--only", key, "--schedulers"])
        .arg(schedulers.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("the measuring process failed: {}", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut measured = Vec::new();
    for line in stdout.lines() {
        if let Some(why) = line.strip_prefix("skipped: ") {
            return Err(why.to_string());
        }
        // The figures are the JSON lines; anything else printed is not one.
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let metric = v["metric"].as_str().ok_or("no metric")?;
        let value = v["value"].as_f64().ok_or("no value")?;
        measured.push(Measured::new(key, metric, value));
    }
    if measured.is_empty() {
        return Err("no output".into());
    }
    Ok(measured)
}

/// The child side of `run_memory_child`.
fn memory_child(system: &str, opts: &Opts, cache: &std::path::Path) {
    COUNT_HEAP.store(true, std::sync::atomic::Ordering::Relaxed);
    let n: usize = opts
        .only
        .first()
        .and_then(|k| k.strip_prefix("memory_"))
        .and_then(|n| n.parse().ok())
        .expect("--memory-child needs --only memory_N");
    let threads = opts.schedulers.first().copied().unwrap_or(1);
    let result = match system {
        "foundation" => {
            let cache = cache.to_path_buf();
            on_tokio(threads, async move {
                foundation::memory(n, &cache).await.unwrap_or_else(|why| {
                    println!("skipped: {why}");
                    vec![]
                })
            })
        }
        "tokio" => on_tokio(threads, async move { native::memory(n).await }),
        other => panic!("unknown system {other}"),
    };
    for m in result {
        println!(
            "{}",
            serde_json::json!({ "workload": m.workload, "metric": m.metric, "value": m.value })
        );
    }
}

/// Runs `fut` on a tokio runtime with `threads` threads (a current-thread runtime for
/// one), with the driver spawned as a task, so it is measured where actors run: not
/// across threads from `block_on`, and not as a current-thread `block_on` future,
/// which tokio polls only between batches of 61 tasks (its `event_interval`).
fn on_tokio<F>(threads: u32, fut: F) -> Vec<Measured>
where
    F: std::future::Future<Output = Vec<Measured>> + Send + 'static,
{
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads as usize)
            .enable_all()
            .build()
            .unwrap()
    };
    rt.block_on(async { tokio::spawn(fut).await.unwrap() })
}

fn print_table(results: &Results, schedulers: &[u32], sizes: &Sizes, erlang_note: Option<&str>) {
    let get = |system: &'static str, s: u32, row: &Row| {
        results
            .get(&(system, s))
            .and_then(|m| m.get(&(row.key.to_string(), row.metric.to_string())))
            .copied()
    };
    let mut header = String::from("| workload |");
    let mut rule = String::from("| --- |");
    for &s in schedulers {
        header.push_str(&format!(
            " foundation {s}T | tokio {s}T | Erlang +S {s} | vs Erlang {s}T |"
        ));
        rule.push_str(" --: | --: | --: | --: |");
    }
    header.push_str(" target |");
    rule.push_str(" --- |");
    println!("{header}\n{rule}");
    for row in ROWS {
        let mut line = format!("| {} |", row.label);
        let mut any = false;
        let mut verdicts = Vec::new();
        for &s in schedulers {
            let f = get("foundation", s, row);
            let t = get("tokio", s, row);
            let e = get("erlang", s, row);
            any |= f.is_some() || t.is_some() || e.is_some();
            let show = |v: Option<f64>| v.map_or("—".to_string(), |v| row.unit.show(v));
            let factor = match (f, e) {
                (Some(f), Some(e)) if f > 0.0 && e > 0.0 => Some(if row.unit.higher_is_better() {
                    f / e
                } else {
                    e / f
                }),
                _ => None,
            };
            line.push_str(&format!(
                " {} | {} | {} | {} |",
                show(f),
                show(t),
                show(e),
                factor.map_or("—".to_string(), |x| format!("{x:.2}x"))
            ));
            // Targets relative to another figure show the ratio they judge.
            let (ok, ratio) = match (row.target, f) {
                (Target::Erlang(x), Some(_)) => (factor.map(|k| k >= x), None),
                (Target::AtLeast(x), Some(f)) => (Some(f >= x), None),
                (Target::AtMost(x), Some(f)) => (Some(f <= x), None),
                (Target::Native { factor, at_least }, Some(f)) => match t {
                    Some(t) if t > 0.0 => (Some(f / t >= factor && f >= at_least), Some(f / t)),
                    _ => (None, None),
                },
                (Target::Of { metric, factor }, Some(f)) => {
                    let of = results
                        .get(&("foundation", s))
                        .and_then(|m| m.get(&(row.key.to_string(), metric.to_string())))
                        .copied();
                    match of {
                        Some(o) if o > 0.0 => (Some(f / o >= factor), Some(f / o)),
                        _ => (None, None),
                    }
                }
                _ => (None, None),
            };
            if let Some(ok) = ok {
                let ratio = ratio.map_or(String::new(), |r| format!(" {r:.2}x"));
                verdicts.push(format!("{s}T{ratio} {}", if ok { "✓" } else { "✗" }));
            }
        }
        if !any {
            continue;
        }
        let target = match row.target {
            Target::Erlang(x) => format!("≥ {x}x Erlang"),
            Target::AtLeast(x) => format!("≥ {}", row.unit.show(x)),
            Target::AtMost(x) => format!("≤ {}", row.unit.show(x)),
            Target::Native { factor, at_least } if at_least > 0.0 => {
                format!("≥ {factor}x native, ≥ {}", row.unit.show(at_least))
            }
            Target::Native { factor, .. } => format!("≥ {factor}x native"),
            Target::Of { metric, factor } => format!("≥ {factor}x {metric}"),
            Target::None => String::new(),
        };
        let verdicts = verdicts.join(" ");
        line.push_str(&format!(" {target} {verdicts} |"));
        println!("{line}");
    }
    println!(
        "\n\"vs Erlang\" is a speed factor (> 1: foundation is faster or smaller). \
         For the durable rows the tokio column is the same writes in plain Rust \
         (rusqlite, WAL, synchronous = FULL, a commit per write; tokio-postgres, a \
         statement per write), and the target column shows foundation's ratio to it. \
         Sizes: {sizes:?}"
    );
    if let Some(note) = erlang_note {
        println!("Erlang/OTP: not measured: {note}");
    }
}

fn write_json(
    path: &PathBuf,
    results: &Results,
    sizes: &Sizes,
    quick: bool,
) -> std::io::Result<()> {
    let mut rows = Vec::new();
    for ((system, s), figures) in results {
        for ((workload, metric), value) in figures {
            rows.push(serde_json::json!({
                "system": system,
                "schedulers": s,
                "workload": workload,
                "metric": metric,
                "value": value,
            }));
        }
    }
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let doc = serde_json::json!({
        "unix_time": unix,
        "quick": quick,
        "sizes": format!("{sizes:?}"),
        "results": rows,
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("results written to {}", path.display());
    Ok(())
}
