//! Links, exit signals and trapping exits (OTP L1-L5, L10), and spawn-link.

use foundation::{ExitReason, SystemMessage};

use crate::*;

/// A testactor that traps exits and forwards every exit signal to `probe`.
async fn trapper(rt: &foundation::Runtime, probe: &foundation::Probe) -> foundation::ActorRef {
    let args = Args {
        forward_info: Some(probe.id().get()),
        trap_exits: true,
        ..Args::default()
    };
    rt.spawn("testactor", &args).await.unwrap()
}

async fn link(a: &foundation::ActorRef, b: &foundation::ActorRef) {
    assert_eq!(call(a, Call::Link(b.id().get())).await, Reply::Ok);
}

async fn next_exit(probe: &mut foundation::Probe) -> (u64, String) {
    match probe.recv::<Cast>(LONG).await.unwrap().msg {
        Cast::Exit { from, reason } => (from, reason),
        other => panic!("expected an exit signal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_a_normal_exit_signal_is_ignored_without_trapping() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    link(&a, &b).await;
    b.cast(&Cast::Stop).await.unwrap();
    assert_eq!(b.wait_exit().await, ExitReason::Normal);
    // The signal was acted on during b's exit, before wait_exit returned.
    assert_eq!(
        call(&a, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
    assert!(a.exit_reason().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l2_a_normal_exit_becomes_a_message_when_trapping() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = trapper(&rt, &probe).await;
    let b = spawn(&rt).await;
    link(&a, &b).await;
    b.cast(&Cast::Stop).await.unwrap();
    assert_eq!(next_exit(&mut probe).await, (b.id().get(), "normal".into()));
    assert_eq!(call(&a, Call::TrapExits(false)).await, Reply::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l3_kill_cannot_be_trapped_and_observers_see_killed() {
    let rt = runtime();
    let mut probe = rt.probe();
    let observer = trapper(&rt, &probe).await;
    let victim = rt
        .spawn(
            "testactor",
            &Args {
                trap_exits: true,
                ..Args::default()
            },
        )
        .await
        .unwrap();
    link(&observer, &victim).await;
    let killer = spawn(&rt).await;
    let r = call(
        &killer,
        Call::ExitSignal {
            to: victim.id().get(),
            reason: "kill".into(),
        },
    )
    .await;
    assert_eq!(r, Reply::Ok);
    assert_eq!(victim.wait_exit().await, ExitReason::Killed);
    // The linked observer traps exits: it sees `killed`, which it could trap.
    assert_eq!(
        next_exit(&mut probe).await,
        (victim.id().get(), "killed".into())
    );
    assert_eq!(
        call(&observer, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l4_an_abnormal_exit_kills_linked_actors_that_do_not_trap() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    let c = spawn(&rt).await;
    // A chain a - b - c: the failure spreads along it.
    link(&a, &b).await;
    link(&b, &c).await;
    c.cast(&Cast::Panic("chain".into())).await.unwrap();
    let reason = c.wait_exit().await;
    assert!(
        matches!(&reason, ExitReason::Trap(m) if m.contains("chain")),
        "{reason:?}"
    );
    assert_eq!(b.wait_exit().await, reason);
    assert_eq!(a.wait_exit().await, reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l4_an_exit_signal_stops_a_busy_actor_at_once() {
    let rt = runtime();
    let busy = spawn(&rt).await;
    let other = spawn(&rt).await;
    link(&busy, &other).await;
    assert_eq!(call(&busy, Call::Spin).await, Reply::Ok);
    other.cast(&Cast::Panic("stop them".into())).await.unwrap();
    let reason = busy.wait_exit().await;
    assert!(
        matches!(&reason, ExitReason::Trap(m) if m.contains("stop them")),
        "{reason:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l5_a_peers_normal_exit_does_not_stop_a_linked_actor_and_unlink_cuts_the_link() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    link(&a, &b).await;
    assert_eq!(call(&a, Call::Unlink(b.id().get())).await, Reply::Ok);
    b.cast(&Cast::Panic("after unlink".into())).await.unwrap();
    assert!(matches!(b.wait_exit().await, ExitReason::Trap(_)));
    assert_eq!(
        call(&a, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
    // exit(a, normal) from another actor is ignored too.
    let c = spawn(&rt).await;
    assert_eq!(
        call(
            &c,
            Call::ExitSignal {
                to: a.id().get(),
                reason: "normal".into()
            }
        )
        .await,
        Reply::Ok
    );
    assert_eq!(
        call(&a, Call::Echo("still".into())).await,
        Reply::Text("still".into())
    );
    // A custom reason is not: a dies with it.
    assert_eq!(
        call(
            &c,
            Call::ExitSignal {
                to: a.id().get(),
                reason: "go away".into()
            }
        )
        .await,
        Reply::Ok
    );
    assert_eq!(a.wait_exit().await, ExitReason::Custom("go away".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l10_linking_to_a_dead_actor_gives_noproc() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let dead = spawn(&rt).await;
    dead.kill();
    dead.wait_exit().await;
    assert_eq!(
        call(&a, Call::Link(dead.id().get())).await,
        Reply::Err("Noproc".into())
    );
    assert_eq!(
        call(&a, Call::Link(a.id().get())).await,
        Reply::Ok,
        "linking to oneself does nothing"
    );
    let probe = rt.probe();
    assert_eq!(probe.link(dead.id()), Err(foundation::SendError::Noproc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_link_ties_the_child_to_its_parent() {
    let rt = runtime();
    let mut probe = rt.probe();
    let parent = spawn(&rt).await;
    probe.monitor(parent.id());
    let child = match call(&parent, Call::SpawnLink { fail: false }).await {
        Reply::Id(id) => rt
            .actor(foundation::ActorId::from_raw(id).unwrap())
            .unwrap(),
        other => panic!("{other:?}"),
    };
    // A failed start returns the error and leaves the parent alive.
    let r = call(&parent, Call::SpawnLink { fail: true }).await;
    assert_eq!(r, Reply::Err("InitFailed(refused)".into()));
    assert_eq!(
        call(&parent, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
    // The child's crash takes the parent down with the same reason.
    child
        .cast(&Cast::Panic("child failed".into()))
        .await
        .unwrap();
    let down = probe.recv_down(LONG).await.unwrap();
    assert_eq!(down.actor, parent.id().get());
    assert!(
        matches!(&down.reason, ExitReason::Trap(m) if m.contains("child failed")),
        "{down:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_probe_receives_exit_signals() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = spawn(&rt).await;
    probe.link(a.id()).unwrap();
    a.kill();
    assert_eq!(
        probe.recv_signal(LONG).await.unwrap(),
        SystemMessage::Exit {
            from: a.id(),
            reason: ExitReason::Killed
        }
    );
}

/// `processes.exit` to an actor that traps exits is back-pressured like a cast: the
/// signals hold places of its mailbox until it handles them, so a sender looping on
/// `exit` meets `mailbox-full` instead of growing the host without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_signals_sent_in_a_loop_meet_the_target_s_mailbox_bound() {
    let mut b = builder();
    b.send_timeout(std::time::Duration::from_millis(100));
    let rt = runtime_with(&b);
    let watch = crate::limits::Neighbour::watch(&rt).await;
    let mut probe = rt.probe();
    let gate = spawn(&rt).await;
    let target = rt
        .spawn_with(
            foundation::ActorOptions::new("testactor").mailbox(4),
            &Args {
                forward_info: Some(probe.id().get()),
                trap_exits: true,
                ..Args::default()
            },
        )
        .await
        .unwrap();
    // The target handles nothing while it waits on the gate.
    block(&target, &gate).await;
    let flooder = spawn(&rt).await;
    let to = target.id().get();
    assert_eq!(
        call(&flooder, Call::ExitFlood { to, n: 1_000 }).await,
        Reply::Err("after 4: MailboxFull".into())
    );
    // Casts compete for the same places.
    assert!(matches!(
        target.try_cast(&Cast::Record(1)),
        Err(foundation::ActorError::Send(
            foundation::SendError::MailboxFull { capacity: 4 }
        ))
    ));
    // Released, the target handles the four signals in order and the places come
    // back: four more go through.
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    for i in 0..4 {
        assert_eq!(
            next_exit(&mut probe).await,
            (flooder.id().get(), format!("flood {i}"))
        );
    }
    assert_eq!(
        call(&flooder, Call::ExitFlood { to, n: 4 }).await,
        Reply::Ok
    );
    for i in 0..4 {
        assert_eq!(
            next_exit(&mut probe).await,
            (flooder.id().get(), format!("flood {i}"))
        );
    }
    assert_eq!(
        call(&target, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
    // To a dead target `exit` does nothing, as OTP's `exit/2`.
    target.kill();
    target.wait_exit().await;
    assert_eq!(
        call(&flooder, Call::ExitFlood { to, n: 3 }).await,
        Reply::Ok
    );
    watch.finish().await;
}
