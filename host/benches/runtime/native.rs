//! The native baseline: the same workloads as plain tokio tasks with bounded mpsc
//! mailboxes (capacity 1024, as foundation's default) and oneshot replies. No sandbox,
//! no encoding: what the work costs without foundation.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::{Measured, Sizes, percentiles_us};

const CAPACITY: usize = 1024;

enum Msg {
    Add(Vec<u8>),
    Count(oneshot::Sender<u64>),
    Echo(Vec<u8>, oneshot::Sender<Vec<u8>>),
    Ball {
        left: u64,
        back: mpsc::Sender<Msg>,
        done: mpsc::Sender<()>,
    },
    SetNext(mpsc::Sender<Msg>),
    Token {
        hops: u64,
        done: mpsc::Sender<()>,
    },
    CallPeer {
        peer: mpsc::Sender<Msg>,
        n: u64,
        done: mpsc::Sender<()>,
    },
    Stop,
}

/// One actor: a task over its mailbox. Returns its address.
fn spawn(next: Option<mpsc::Sender<Msg>>) -> (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Msg>(CAPACITY);
    let me = tx.clone();
    // The task holds a weak address of itself so that dropping every outside sender
    // still lets it end.
    let me = me.downgrade();
    let join = tokio::spawn(async move {
        let mut count = 0u64;
        let mut next = next;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Add(payload) => {
                    std::hint::black_box(payload);
                    count += 1;
                }
                Msg::Count(r) => {
                    let _ = r.send(count);
                }
                Msg::Echo(b, r) => {
                    let _ = r.send(b);
                }
                Msg::Ball { left, back, done } => {
                    if left == 0 {
                        done.send(()).await.unwrap();
                    } else {
                        let me = me.upgrade().unwrap();
                        back.send(Msg::Ball {
                            left: left - 1,
                            back: me,
                            done,
                        })
                        .await
                        .unwrap_or_else(|_| panic!("ball"));
                    }
                }
                Msg::SetNext(n) => next = Some(n),
                Msg::Token { hops, done } => {
                    if hops == 0 {
                        done.send(()).await.unwrap();
                    } else {
                        next.as_ref()
                            .unwrap()
                            .send(Msg::Token {
                                hops: hops - 1,
                                done,
                            })
                            .await
                            .unwrap_or_else(|_| panic!("token"));
                    }
                }
                Msg::CallPeer { peer, n, done } => {
                    for _ in 0..n {
                        let (rtx, rrx) = oneshot::channel();
                        peer.send(Msg::Echo(vec![b'x'], rtx))
                            .await
                            .unwrap_or_else(|_| panic!("call"));
                        let r = tokio::time::timeout(Duration::from_secs(30), rrx)
                            .await
                            .unwrap()
                            .unwrap();
                        assert_eq!(r, b"x");
                    }
                    done.send(()).await.unwrap();
                }
                Msg::Stop => return,
            }
        }
    });
    (tx, join)
}

async fn call_count(a: &mpsc::Sender<Msg>) -> u64 {
    let (tx, rx) = oneshot::channel();
    a.send(Msg::Count(tx))
        .await
        .unwrap_or_else(|_| panic!("count"));
    rx.await.unwrap()
}

pub async fn run(sizes: &Sizes, only: &(dyn Fn(&str) -> bool + Sync)) -> Vec<Measured> {
    let mut out = Vec::new();
    let (done_tx, mut done_rx) = mpsc::channel::<()>(CAPACITY);

    if only("counting") {
        let (a, _) = spawn(None);
        let t0 = Instant::now();
        for _ in 0..sizes.counting {
            a.send(Msg::Add(vec![7u8; 16]))
                .await
                .unwrap_or_else(|_| panic!("add"));
        }
        assert_eq!(call_count(&a).await, sizes.counting);
        let dt = t0.elapsed();
        out.push(Measured::new(
            "counting",
            "rate",
            sizes.counting as f64 / dt.as_secs_f64(),
        ));
    }

    for (key, inflight) in [("pingpong_1", 1u64), ("pingpong_64", 64)] {
        if !only(key) {
            continue;
        }
        let (a, _) = spawn(None);
        let (b, _) = spawn(None);
        let per_ball = sizes.pingpong / inflight;
        let t0 = Instant::now();
        for _ in 0..inflight {
            a.send(Msg::Ball {
                left: 2 * per_ball,
                back: b.clone(),
                done: done_tx.clone(),
            })
            .await
            .unwrap_or_else(|_| panic!("serve"));
        }
        for _ in 0..inflight {
            done_rx.recv().await.unwrap();
        }
        let dt = t0.elapsed();
        out.push(Measured::new(
            key,
            "rate",
            (2 * per_ball * inflight) as f64 / dt.as_secs_f64(),
        ));
    }

    if only("call") {
        let (a, _) = spawn(None);
        let mut samples = Vec::with_capacity(sizes.calls as usize);
        let t0 = Instant::now();
        for _ in 0..sizes.calls {
            let t = Instant::now();
            let (tx, rx) = oneshot::channel();
            a.send(Msg::Echo(vec![b'x'], tx))
                .await
                .unwrap_or_else(|_| panic!("call"));
            let r = tokio::time::timeout(Duration::from_secs(30), rx)
                .await
                .unwrap()
                .unwrap();
            samples.push(t.elapsed());
            assert_eq!(r, b"x");
        }
        let dt = t0.elapsed();
        out.push(Measured::new(
            "call",
            "rate",
            sizes.calls as f64 / dt.as_secs_f64(),
        ));
        let [p50, p99, p999] = percentiles_us(&mut samples, [0.5, 0.99, 0.999]);
        out.push(Measured::new("call", "p50_us", p50));
        out.push(Measured::new("call", "p99_us", p99));
        out.push(Measured::new("call", "p999_us", p999));
    }

    if only("actor_call") {
        let (a, _) = spawn(None);
        let (b, _) = spawn(None);
        let t0 = Instant::now();
        a.send(Msg::CallPeer {
            peer: b,
            n: sizes.actor_calls,
            done: done_tx.clone(),
        })
        .await
        .unwrap_or_else(|_| panic!("go"));
        done_rx.recv().await.unwrap();
        let dt = t0.elapsed();
        out.push(Measured::new(
            "actor_call",
            "rate",
            sizes.actor_calls as f64 / dt.as_secs_f64(),
        ));
    }

    if only("ring") {
        let t0 = Instant::now();
        let (first, _) = spawn(None);
        let mut members = vec![first.clone()];
        for _ in 1..sizes.ring_actors {
            let prev = members.last().unwrap().clone();
            members.push(spawn(Some(prev)).0);
        }
        let last = members.last().unwrap().clone();
        first
            .send(Msg::SetNext(last.clone()))
            .await
            .unwrap_or_else(|_| panic!("wire"));
        call_count(&first).await;
        out.push(Measured::new(
            "ring",
            "setup_ms",
            t0.elapsed().as_secs_f64() * 1e3,
        ));
        let t0 = Instant::now();
        last.send(Msg::Token {
            hops: sizes.ring_hops,
            done: done_tx.clone(),
        })
        .await
        .unwrap_or_else(|_| panic!("token"));
        done_rx.recv().await.unwrap();
        out.push(Measured::new(
            "ring",
            "rate",
            sizes.ring_hops as f64 / t0.elapsed().as_secs_f64(),
        ));
        for m in &members {
            m.send(Msg::Stop).await.unwrap_or_else(|_| panic!("stop"));
        }
    }

    if only("spawn") {
        const WINDOW: usize = 64;
        let mut live = VecDeque::with_capacity(WINDOW + 1);
        let t0 = Instant::now();
        for _ in 0..sizes.spawns {
            if live.len() == WINDOW {
                let j: tokio::task::JoinHandle<()> = live.pop_front().unwrap();
                j.await.unwrap();
            }
            let (a, j) = spawn(None);
            a.send(Msg::Stop).await.unwrap_or_else(|_| panic!("stop"));
            live.push_back(j);
        }
        for j in live {
            j.await.unwrap();
        }
        out.push(Measured::new(
            "spawn",
            "rate",
            sizes.spawns as f64 / t0.elapsed().as_secs_f64(),
        ));
    }

    out
}

/// RSS per idle task with its mailbox, `n` of them; run in a fresh process.
pub async fn memory(n: usize) -> Vec<Measured> {
    let mut live = Vec::with_capacity(n);
    let baseline = crate::MemoryBaseline::now();
    for _ in 0..n {
        live.push(spawn(None));
    }
    // Every task has run up to its first `recv`.
    for (a, _) in &live {
        call_count(a).await;
    }
    let measured = baseline.per_actor(n);
    for (a, j) in live {
        a.send(Msg::Stop).await.unwrap_or_else(|_| panic!("stop"));
        j.await.unwrap();
    }
    measured
}

/// The baseline of the durable rows: the same acknowledged writes in plain Rust.
/// SQLite: rusqlite on a WAL database with `synchronous = FULL`, the writers' own
/// connections, one commit per write (what a program without group commit does).
/// PostgreSQL: tokio-postgres, one connection per writer, one upsert per write.
pub async fn durable(sizes: &Sizes, only: &(dyn Fn(&str) -> bool + Sync)) -> Vec<Measured> {
    let mut out = Vec::new();
    if only("durable") {
        let dir = crate::foundation::data_dir("rusqlite");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("baseline.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        drop(conn);
        for (metric, writers) in [("kv_write_1", 1u64), ("kv_write_8", 8)] {
            let per = sizes.kv_writes / writers;
            let file = file.clone();
            let rate = tokio::task::spawn_blocking(move || {
                let t0 = Instant::now();
                std::thread::scope(|scope| {
                    for w in 0..writers {
                        let file = &file;
                        scope.spawn(move || {
                            let conn = rusqlite::Connection::open(file).unwrap();
                            conn.execute_batch(
                                "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 60000;",
                            )
                            .unwrap();
                            let mut upsert = conn
                                .prepare(
                                    "INSERT INTO kv (key, value) VALUES (?1, ?2)
                                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                )
                                .unwrap();
                            let value = [7u8; 100];
                            for i in 0..per {
                                upsert
                                    .execute(rusqlite::params![
                                        format!("{metric}-w{w}-{i}"),
                                        &value[..]
                                    ])
                                    .unwrap();
                            }
                        });
                    }
                });
                (per * writers) as f64 / t0.elapsed().as_secs_f64()
            })
            .await
            .unwrap();
            out.push(Measured::new("durable", metric, rate));
            if writers == 1 {
                // The baseline of the Rust API's row too: the same single writer.
                out.push(Measured::new("durable", "rust_write_1", rate));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if crate::foundation::postgres_selected(only) {
        let server = foundation_fixtures::postgres::server();
        let password = std::env::var(foundation_fixtures::postgres::PASSWORD_ENV).unwrap();
        let config = format!(
            "host=127.0.0.1 port={} user={} password={password} dbname=postgres",
            server.port,
            foundation_fixtures::postgres::USER
        );
        let connect = || async {
            let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
        };
        connect()
            .await
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS native_kv (key TEXT PRIMARY KEY, value BYTEA NOT NULL)",
            )
            .await
            .unwrap();
        let run = std::process::id();
        for (metric, writers) in [("pg_write_1", 1u64), ("pg_write_8", 8)] {
            let per = sizes.kv_writes / writers;
            let mut clients = Vec::new();
            for _ in 0..writers {
                clients.push(connect().await);
            }
            let t0 = Instant::now();
            let tasks: Vec<_> = clients
                .into_iter()
                .enumerate()
                .map(|(w, client)| {
                    tokio::spawn(async move {
                        let upsert = client
                            .prepare(
                                "INSERT INTO native_kv (key, value) VALUES ($1, $2)
                                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            )
                            .await
                            .unwrap();
                        let value = vec![7u8; 100];
                        for i in 0..per {
                            let key = format!("{run}-{metric}-w{w}-{i}");
                            client.execute(&upsert, &[&key, &value]).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            out.push(Measured::new(
                "postgres",
                metric,
                (per * writers) as f64 / t0.elapsed().as_secs_f64(),
            ));
        }
    }
    out
}
