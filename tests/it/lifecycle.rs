//! Actor lifecycle: init failures, traps, busy loops, stop, kill, shutdown order.

use std::time::{Duration, Instant};

use foundation::{ExitReason, SpawnError};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_failure_and_init_trap_are_reported_to_the_spawner() {
    let rt = runtime();
    let r = rt
        .spawn(
            "testactor",
            &Args {
                fail: Some("no config".into()),
                ..Args::default()
            },
        )
        .await;
    match r {
        Err(SpawnError::InitFailed { reason, .. }) => {
            assert_eq!(reason, ExitReason::Custom("no config".into()))
        }
        other => panic!("expected InitFailed, got {other:?}"),
    }
    let r = rt
        .spawn(
            "testactor",
            &Args {
                panic: true,
                ..Args::default()
            },
        )
        .await;
    match r {
        Err(SpawnError::InitFailed {
            reason: ExitReason::Trap(msg),
            ..
        }) => {
            assert!(msg.contains("init was told to panic"), "{msg}")
        }
        other => panic!("expected InitFailed(Trap), got {other:?}"),
    }
    let r = rt.spawn("nope", &Args::default()).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "unknown component \"nope\" (known: testactor)"
    );
    assert_eq!(rt.actor_count(), 0, "failed actors leave no trace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_ends_only_that_actor() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    a.cast(&Cast::Panic("cast went wrong".into()))
        .await
        .unwrap();
    match a.wait_exit().await {
        ExitReason::Trap(msg) => assert!(msg.contains("cast went wrong"), "{msg}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(
        a.exit_reason().map(|r| matches!(r, ExitReason::Trap(_))),
        Some(true)
    );
    assert_eq!(
        call(&b, Call::Echo("unaffected".into())).await,
        Reply::Text("unaffected".into())
    );
    assert_eq!(rt.actor_count(), 1);
    // The host can start new actors from the same component.
    let c = spawn(&rt).await;
    assert_eq!(
        call(&c, Call::Echo("new".into())).await,
        Reply::Text("new".into())
    );
}

#[test]
fn a_busy_loop_does_not_stall_other_actors() {
    // One worker thread: without epoch yields the spinning guest would hold it and
    // no other actor could run at all.
    let rt_tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt_tokio.block_on(async {
        let rt = runtime();
        let spinner = spawn(&rt).await;
        let other = spawn(&rt).await;
        // The reply comes just before the guest enters its loop.
        assert_eq!(call(&spinner, Call::Spin).await, Reply::Ok);
        let mut worst = Duration::ZERO;
        for i in 0..20 {
            let started = Instant::now();
            let r = other
                .call::<_, Reply>(&Call::Echo(format!("{i}")), PROMPTLY)
                .await;
            assert_eq!(r.unwrap(), Reply::Text(format!("{i}")));
            worst = worst.max(started.elapsed());
        }
        assert!(worst < PROMPTLY, "slowest call took {worst:?}");
        // A spinning guest can still be killed (at its next epoch tick).
        spinner.kill();
        assert_eq!(spinner.wait_exit().await, ExitReason::Killed);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_runs_terminate_and_own_stop_requests_carry_their_reason() {
    let rt = runtime();
    let recorder = spawn(&rt).await;
    let a = rt
        .spawn(
            "testactor",
            &Args {
                notify_on_terminate: Some(recorder.id().get()),
                tag: "abc".into(),
                ..Args::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(a.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    // terminate cast `Terminated("abc")`, recorded as (MAX, 3).
    assert_eq!(
        call(&recorder, Call::History).await,
        Reply::History(vec![(u64::MAX, 3)])
    );

    let b = spawn(&rt).await;
    assert_eq!(
        call(&b, Call::StopWith("done here".into())).await,
        Reply::Ok
    );
    assert_eq!(b.wait_exit().await, ExitReason::Custom("done here".into()));

    let c = spawn(&rt).await;
    c.cast(&Cast::Stop).await.unwrap();
    assert_eq!(c.wait_exit().await, ExitReason::Normal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_actor_is_killed_when_it_overruns_the_shutdown_timeout() {
    let mut b = builder();
    b.shutdown_timeout(Duration::from_millis(200));
    let rt = runtime_with(&b);
    let a = rt.spawn("testactor", &Args::default()).await.unwrap();
    assert_eq!(call(&a, Call::Spin).await, Reply::Ok);
    assert_eq!(a.stop(ExitReason::Shutdown).await, ExitReason::Killed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_actors_in_reverse_start_order() {
    let rt = runtime();
    let mut probe = rt.probe();
    let mut actors = Vec::new();
    for tag in ["1", "22", "333", "4444", "55555"] {
        let args = Args {
            notify_on_terminate: Some(probe.id().get()),
            tag: tag.into(),
            ..Args::default()
        };
        actors.push(rt.spawn("testactor", &args).await.unwrap());
    }
    rt.shutdown().await;
    // Each terminate told the probe, newest first.
    for (a, tag) in actors.iter().rev().zip(["55555", "4444", "333", "22", "1"]) {
        let got = probe.recv::<Cast>(LONG).await.unwrap();
        assert_eq!(got.from, Some(a.id()));
        assert!(
            matches!(&got.msg, Cast::Terminated(t) if t == tag),
            "{:?}",
            got.msg
        );
        assert_eq!(a.exit_reason(), Some(ExitReason::Shutdown));
    }
    assert_eq!(rt.actor_count(), 0);
    // After shutdown nothing new starts.
    assert!(matches!(
        rt.spawn("testactor", &Args::default()).await,
        Err(SpawnError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runtime_loads_the_component_from_the_cache() {
    // The first runtime compiles (or finds the entry from an earlier run); the second
    // must find a cache entry keyed by this component's hash.
    let _first = runtime();
    let bytes = std::fs::read(foundation_fixtures::TESTACTOR).unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
        .collect();
    assert!(!entries.is_empty(), "the cache holds compiled artifacts");
    let second = runtime();
    let a = spawn(&second).await;
    assert_eq!(
        call(&a, Call::Echo(format!("{}", bytes.len()))).await,
        Reply::Text(format!("{}", bytes.len()))
    );
}
