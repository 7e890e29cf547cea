//! Monitors and DOWN messages (OTP M1-M4), delivered as `handle-info`.

use foundation::ExitReason;

use crate::*;

/// Spawns a testactor that forwards every DOWN it receives to `probe`.
async fn watcher(rt: &foundation::Runtime, probe: &foundation::Probe) -> foundation::ActorRef {
    let args = Args {
        forward_info: Some(probe.id().get()),
        ..Args::default()
    };
    rt.spawn("testactor", &args).await.unwrap()
}

async fn monitor(watcher: &foundation::ActorRef, target: &foundation::ActorRef) -> u64 {
    match call(watcher, Call::Monitor(target.id().get())).await {
        Reply::Id(m) => m,
        other => panic!("monitor failed: {other:?}"),
    }
}

async fn next_down(probe: &mut foundation::Probe) -> (u64, u64, String) {
    match probe.recv::<Cast>(LONG).await.unwrap().msg {
        Cast::Down {
            monitor,
            actor,
            reason,
        } => (monitor, actor, reason),
        other => panic!("expected a DOWN, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_carries_the_exit_reason_of_a_trap() {
    let rt = runtime();
    let mut probe = rt.probe();
    let w = watcher(&rt, &probe).await;
    let target = spawn(&rt).await;
    let m = monitor(&w, &target).await;
    target.cast(&Cast::Panic("bad input".into())).await.unwrap();
    let (monitor, actor, reason) = next_down(&mut probe).await;
    assert_eq!((monitor, actor), (m, target.id().get()));
    assert!(reason.starts_with("trap: panicked at"), "{reason}");
    assert!(reason.contains("bad input"), "{reason}");
    // The watcher is untouched: monitors are not links.
    assert_eq!(
        call(&w, Call::Echo("fine".into())).await,
        Reply::Text("fine".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m1_monitoring_a_dead_actor_gives_noproc_at_once() {
    let rt = runtime();
    let mut probe = rt.probe();
    let w = watcher(&rt, &probe).await;
    let target = spawn(&rt).await;
    target.kill();
    assert_eq!(target.wait_exit().await, ExitReason::Killed);
    let m = monitor(&w, &target).await;
    assert_eq!(
        next_down(&mut probe).await,
        (m, target.id().get(), "noproc".into())
    );
    // An id that never existed.
    let m = match call(&w, Call::Monitor(987_654)).await {
        Reply::Id(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(next_down(&mut probe).await, (m, 987_654, "noproc".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2_two_monitors_give_two_downs_and_m4_monitors_are_one_way() {
    let rt = runtime();
    let mut probe = rt.probe();
    let w = watcher(&rt, &probe).await;
    let target = spawn(&rt).await;
    let m1 = monitor(&w, &target).await;
    let m2 = monitor(&w, &target).await;
    assert_ne!(m1, m2);
    // M4: the watcher stopping does not affect the target.
    let mut target_probe = rt.probe();
    target_probe.monitor(target.id());
    assert_eq!(call(&target, Call::StopWith("bye".into())).await, Reply::Ok);
    let mut got = vec![next_down(&mut probe).await, next_down(&mut probe).await];
    got.sort();
    let id = target.id().get();
    assert_eq!(got, vec![(m1, id, "bye".into()), (m2, id, "bye".into())]);
    let down = target_probe.recv_down(LONG).await.unwrap();
    assert_eq!(
        (down.actor, down.reason),
        (id, ExitReason::Custom("bye".into()))
    );

    let other = spawn(&rt).await;
    let m3 = monitor(&other, &w).await;
    w.kill();
    assert_eq!(w.wait_exit().await, ExitReason::Killed);
    // `other` keeps running after the DOWN it got (it does not forward DOWNs).
    assert_eq!(
        call(&other, Call::Demonitor(m3)).await,
        Reply::Bool(false),
        "the monitor fired"
    );
    assert_eq!(
        call(&other, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3_demonitor_flushes_a_down_already_queued() {
    let rt = runtime();
    let mut probe = rt.probe();
    let w = watcher(&rt, &probe).await;
    let gate = spawn(&rt).await;
    let target = spawn(&rt).await;
    let m = monitor(&w, &target).await;
    // w is blocked inside a handler; the DOWN queues up behind it.
    assert_eq!(
        call(
            &w,
            Call::BlockOnThenDemonitor {
                gate: gate.id().get(),
                monitor: m
            }
        )
        .await,
        Reply::Ok
    );
    assert_eq!(call(&gate, Call::AwaitWaiter).await, Reply::Ok);
    target.kill();
    assert_eq!(target.wait_exit().await, ExitReason::Killed);
    // Release w: it demonitors, then its loop finds the queued DOWN and drops it. A
    // marker cast after that reaches the probe first: had the DOWN been delivered, it
    // would have been forwarded before (system messages overtake user messages).
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    assert_eq!(
        call(
            &w,
            Call::CastRecord {
                to: probe.id().get(),
                seq: 42
            }
        )
        .await,
        Reply::Ok
    );
    let first = probe.recv::<Cast>(LONG).await.unwrap();
    assert!(matches!(first.msg, Cast::Record(42)), "{:?}", first.msg);
    assert_eq!(
        call(&w, Call::History).await,
        Reply::History(vec![(u64::MAX - 1, 1)])
    );
    // Demonitoring again: no longer active.
    assert_eq!(call(&w, Call::Demonitor(m)).await, Reply::Bool(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downs_are_not_lost_when_the_watchers_mailbox_is_full() {
    let rt = runtime();
    let mut probe = rt.probe();
    let args = Args {
        forward_info: Some(probe.id().get()),
        ..Args::default()
    };
    let w = rt
        .spawn_with(foundation::ActorOptions::new("testactor").mailbox(1), &args)
        .await
        .unwrap();
    let gate = spawn(&rt).await;
    let target = spawn(&rt).await;
    let m = monitor(&w, &target).await;
    block(&w, &gate).await;
    w.try_cast(&Cast::Record(1)).unwrap();
    assert!(w.try_cast(&Cast::Record(2)).is_err(), "the mailbox is full");
    target.kill();
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    assert_eq!(
        next_down(&mut probe).await,
        (m, target.id().get(), "killed".into())
    );
}
