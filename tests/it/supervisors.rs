//! Supervisors (OTP S1-S7, S10, S12): start and stop order, strategies, restart
//! types, intensity and escalation, shutdown kinds, significant children, children
//! added at run time, and addresses that survive restarts.

use std::time::Duration;

use foundation::{
    ActorRef, AutoShutdown, ChildInfo, ChildSpec, ExitReason, NewChild, Probe, Restart, Runtime,
    Shutdown, SpawnError, Strategy, SupervisorSpec,
};

use crate::*;

/// A testactor child that tells `probe` when it starts (`Started(tag)`) and when its
/// `terminate` runs (`Terminated(tag)`); registered under `tag`.
fn child(probe: &Probe, tag: &str) -> ChildSpec {
    let args = Args {
        notify_on_init: Some(probe.id().get()),
        notify_on_terminate: Some(probe.id().get()),
        tag: tag.into(),
        ..Args::default()
    };
    ChildSpec::actor(tag, "testactor", foundation::codec::encode(&args).unwrap()).name(tag)
}

fn sup(strategy: Strategy, children: Vec<ChildSpec>) -> SupervisorSpec {
    SupervisorSpec {
        strategy,
        max_restarts: 10,
        children,
        ..SupervisorSpec::default()
    }
}

/// The next `n` lifecycle events at the probe, as "+tag" (started) or "-tag"
/// (terminated).
async fn events(probe: &mut Probe, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        match probe.recv::<Cast>(LONG).await.unwrap().msg {
            Cast::Started(t) => out.push(format!("+{t}")),
            Cast::Terminated(t) => out.push(format!("-{t}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn named(rt: &Runtime, name: &str) -> ActorRef {
    rt.whereis(name)
        .unwrap_or_else(|| panic!("{name} is registered"))
}

async fn crash(actor: &ActorRef) {
    actor.cast(&Cast::Panic("crash".into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_children_start_in_order_and_stop_in_reverse() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForOne,
        vec![child(&probe, "a"), child(&probe, "b"), child(&probe, "c")],
    );
    let root = rt.start_supervisor(spec, Some("root")).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+a", "+b", "+c"]);
    assert_eq!(root.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    assert_eq!(events(&mut probe, 3).await, ["-c", "-b", "-a"]);
    assert_eq!(rt.actor_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_one_for_one_restarts_only_the_failed_child() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForOne,
        vec![child(&probe, "a"), child(&probe, "b"), child(&probe, "c")],
    );
    let _root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+a", "+b", "+c"]);
    let (a, c) = (named(&rt, "a").id(), named(&rt, "c").id());
    crash(&named(&rt, "b")).await;
    assert_eq!(events(&mut probe, 1).await, ["+b"]);
    assert_eq!((named(&rt, "a").id(), named(&rt, "c").id()), (a, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_one_for_all_stops_the_others_in_reverse_then_starts_all_in_order() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForAll,
        vec![child(&probe, "a"), child(&probe, "b"), child(&probe, "c")],
    );
    let _root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+a", "+b", "+c"]);
    crash(&named(&rt, "b")).await;
    assert_eq!(events(&mut probe, 5).await, ["-c", "-a", "+a", "+b", "+c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::RestForOne,
        vec![child(&probe, "a"), child(&probe, "b"), child(&probe, "c")],
    );
    let _root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+a", "+b", "+c"]);
    let a = named(&rt, "a").id();
    crash(&named(&rt, "b")).await;
    assert_eq!(events(&mut probe, 3).await, ["-c", "+b", "+c"]);
    assert_eq!(named(&rt, "a").id(), a, "earlier children are untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_restart_types() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForOne,
        vec![
            child(&probe, "perm"),
            child(&probe, "trans").restart(Restart::Transient),
            child(&probe, "temp").restart(Restart::Temporary),
        ],
    );
    let _root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+perm", "+trans", "+temp"]);

    // Permanent: restarted even after a normal exit (its terminate runs first).
    named(&rt, "perm").cast(&Cast::Stop).await.unwrap();
    assert_eq!(events(&mut probe, 2).await, ["-perm", "+perm"]);
    // Transient: restarted after a crash...
    crash(&named(&rt, "trans")).await;
    assert_eq!(events(&mut probe, 1).await, ["+trans"]);
    // ...not after a normal exit.
    let trans = named(&rt, "trans");
    trans.cast(&Cast::Stop).await.unwrap();
    assert_eq!(events(&mut probe, 1).await, ["-trans"]);
    assert_eq!(trans.wait_exit().await, ExitReason::Normal);
    // Temporary: never restarted.
    let temp = named(&rt, "temp");
    crash(&temp).await;
    assert!(matches!(temp.wait_exit().await, ExitReason::Trap(_)));
    // The supervisor handles exits in order, so a restart of trans or temp would
    // show up before the restart of perm that comes next.
    named(&rt, "perm").cast(&Cast::Stop).await.unwrap();
    assert_eq!(events(&mut probe, 2).await, ["-perm", "+perm"]);
    assert!(rt.whereis("trans").is_none() && rt.whereis("temp").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_past_the_intensity_the_supervisor_gives_up_and_its_parent_restarts_it() {
    let rt = runtime();
    let mut probe = rt.probe();
    let inner = SupervisorSpec {
        strategy: Strategy::OneForOne,
        max_restarts: 1,
        max_seconds: Duration::from_secs(60),
        children: vec![child(&probe, "w")],
        ..SupervisorSpec::default()
    };
    let root = SupervisorSpec {
        max_restarts: 5,
        children: vec![ChildSpec::supervisor("inner", inner)],
        ..SupervisorSpec::default()
    };
    let root = rt.start_supervisor(root, Some("root")).await.unwrap();
    assert_eq!(events(&mut probe, 1).await, ["+w"]);
    // One restart is within the intensity...
    crash(&named(&rt, "w")).await;
    assert_eq!(events(&mut probe, 1).await, ["+w"]);
    // ...the second is past it: `inner` stops and exits `shutdown`; `root` restarts
    // it, which starts a fresh `w` (had `root` given up too, no `w` would start).
    let inner_before = named(&rt, "w").id();
    crash(&named(&rt, "w")).await;
    assert_eq!(events(&mut probe, 1).await, ["+w"]);
    assert_ne!(named(&rt, "w").id(), inner_before);
    assert!(
        root.exit_reason().is_none(),
        "the root absorbed the escalation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_a_root_supervisor_past_its_intensity_exits_with_shutdown() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = SupervisorSpec {
        max_restarts: 0,
        children: vec![child(&probe, "only")],
        ..SupervisorSpec::default()
    };
    let root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 1).await, ["+only"]);
    crash(&named(&rt, "only")).await;
    assert_eq!(root.wait_exit().await, ExitReason::Shutdown);
    assert_eq!(rt.actor_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_shutdown_kinds() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForOne,
        vec![
            child(&probe, "graceful"),
            child(&probe, "brutal").shutdown(Shutdown::BrutalKill),
            child(&probe, "stuck").shutdown(Shutdown::Timeout(Duration::from_millis(100))),
        ],
    );
    let root = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(
        events(&mut probe, 3).await,
        ["+graceful", "+brutal", "+stuck"]
    );
    let stuck = named(&rt, "stuck");
    let brutal = named(&rt, "brutal");
    let graceful = named(&rt, "graceful");
    assert_eq!(call(&stuck, Call::Spin).await, Reply::Ok);
    assert_eq!(root.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    // Newest first: stuck is killed past its timeout, brutal is killed at once (no
    // terminate), graceful runs its terminate.
    assert_eq!(events(&mut probe, 1).await, ["-graceful"]);
    assert_eq!(stuck.exit_reason(), Some(ExitReason::Killed));
    assert_eq!(brutal.exit_reason(), Some(ExitReason::Killed));
    assert_eq!(graceful.exit_reason(), Some(ExitReason::Shutdown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_taken_before_a_restart_reaches_the_new_instance() {
    let rt = runtime();
    let mut probe = rt.probe();
    let _root = rt
        .start_supervisor(sup(Strategy::OneForOne, vec![child(&probe, "w")]), None)
        .await
        .unwrap();
    assert_eq!(events(&mut probe, 1).await, ["+w"]);
    let before = named(&rt, "w");
    let old_id = before.id();
    // A call in flight when the instance dies gets the reason at once...
    let r = before
        .call::<_, Reply>(&Call::Panic("mid-call".into()), LONG)
        .await;
    assert!(
        matches!(
            r,
            Err(foundation::ActorError::Send(foundation::SendError::Exited(
                ExitReason::Trap(_)
            )))
        ),
        "{r:?}"
    );
    assert_eq!(events(&mut probe, 1).await, ["+w"]);
    // ...and the same reference, and the name, reach the restarted instance.
    assert_ne!(before.id(), old_id);
    assert_eq!(
        call(&before, Call::Echo("again".into())).await,
        Reply::Text("again".into())
    );
    assert_eq!(named(&rt, "w").id(), before.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_fails_to_start_fails_the_supervisor_start_naming_it() {
    let rt = runtime();
    let probe = rt.probe();
    let bad = Args {
        fail: Some("no config".into()),
        ..Args::default()
    };
    let spec = sup(
        Strategy::OneForOne,
        vec![
            child(&probe, "ok"),
            ChildSpec::actor("bad", "testactor", foundation::codec::encode(&bad).unwrap()),
        ],
    );
    let err = rt
        .start_supervisor(spec, None)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cannot start an actor: child \"bad\" failed to start: init of actor testactor#4 failed: no config"
    );
    assert_eq!(
        rt.actor_count(),
        0,
        "the child started before it was stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_tree_starts_in_order_restarts_and_shuts_down_in_reverse() {
    let rt = builder().build().unwrap();
    let mut probe = rt.probe();
    let p = probe.id().get();
    let actor = |name: &str, extra: &str| {
        format!(
            "[[actors]]\nname = \"{name}\"\ncomponent = \"t\"\n{extra}args = {{ notify_on_init = {p}, notify_on_terminate = {p}, tag = \"{name}\" }}\n\n"
        )
    };
    let text = format!(
        "[components.t]\npath = {:?}\n\n{}[[supervisors]]\nname = \"root\"\nstrategy = \"one_for_all\"\nmax_restarts = 5\nchildren = [\"x\", \"y\"]\n\n{}{}",
        foundation_fixtures::TESTACTOR,
        actor("solo", ""),
        actor("x", ""),
        actor("y", "restart = \"transient\"\n"),
    );
    let manifest = foundation::Manifest::parse(
        &text,
        std::path::Path::new("tree.toml"),
        std::path::Path::new("."),
    )
    .unwrap();
    assert_eq!(manifest.roots().collect::<Vec<_>>(), ["solo", "root"]);
    rt.start(&manifest).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+solo", "+x", "+y"]);
    crash(&named(&rt, "y")).await;
    assert_eq!(events(&mut probe, 3).await, ["-x", "+x", "+y"]);
    rt.shutdown().await;
    // Newest top-level first: the supervisor (its children newest first), then solo.
    assert_eq!(events(&mut probe, 3).await, ["-y", "-x", "-solo"]);
    assert_eq!(rt.actor_count(), 0);
}

fn new_child(probe: &Probe, tag: &str) -> NewChild {
    let args = Args {
        notify_on_init: Some(probe.id().get()),
        tag: tag.into(),
        ..Args::default()
    };
    NewChild {
        id: Some(tag.into()),
        component: "testactor".into(),
        args: foundation::codec::encode(&args).unwrap(),
        name: Some(tag.into()),
        ..NewChild::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_children_added_at_run_time_restart_with_their_own_args_up_to_max_children() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = SupervisorSpec {
        max_restarts: 10,
        max_children: Some(2),
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, Some("dyn")).await.unwrap();
    let one = rt
        .start_child(&sup, new_child(&probe, "one"))
        .await
        .unwrap();
    let _two = rt
        .start_child(&sup, new_child(&probe, "two"))
        .await
        .unwrap();
    assert_eq!(events(&mut probe, 2).await, ["+one", "+two"]);
    let err = rt
        .start_child(&sup, new_child(&probe, "three"))
        .await
        .unwrap_err();
    assert_eq!(err, SpawnError::Unavailable("max_children".into()));
    let err = rt
        .start_child(&sup, new_child(&probe, "one"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SpawnError::Unavailable("max_children".into()),
        "the limit is checked first"
    );

    // A permanent dynamic child restarts with the same init argument.
    crash(&one).await;
    assert_eq!(events(&mut probe, 1).await, ["+one"]);
    assert_eq!(
        call(&one, Call::Echo("back".into())).await,
        Reply::Text("back".into())
    );

    rt.terminate_child(&sup, "two").await.unwrap();
    let children = rt.which_children(&sup).await.unwrap();
    assert_eq!(
        children,
        vec![ChildInfo {
            id: "one".into(),
            actor: Some(one.id().get()),
            supervisor: false
        }]
    );
    assert_eq!(
        rt.terminate_child(&sup, "two").await,
        Err(SpawnError::Unavailable("not_found".into()))
    );

    // A child whose init fails: the caller gets the child's own error, typed, and
    // the supervisor keeps no trace of it.
    let failing = NewChild {
        id: Some("failing".into()),
        args: foundation::codec::encode(&Args {
            fail: Some("no config".into()),
            ..Args::default()
        })
        .unwrap(),
        ..new_child(&probe, "failing")
    };
    match rt.start_child(&sup, failing).await {
        Err(SpawnError::InitFailed { reason, .. }) => {
            assert_eq!(reason, ExitReason::Custom("no config".into()))
        }
        other => panic!("expected InitFailed, got {other:?}"),
    }
    assert_eq!(rt.which_children(&sup).await.unwrap().len(), 1);

    // A guest adds a child through the same protocol.
    let guest = spawn(&rt).await;
    let r = call(
        &guest,
        Call::StartChildOf {
            sup: sup.id().get(),
            notify: probe.id().get(),
            tag: "g".into(),
        },
    )
    .await;
    assert!(matches!(r, Reply::Id(_)), "{r:?}");
    assert_eq!(events(&mut probe, 1).await, ["+g"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_any_significant_child_exiting_shuts_the_supervisor_down() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = SupervisorSpec {
        auto_shutdown: AutoShutdown::AnySignificant,
        children: vec![
            child(&probe, "worker"),
            child(&probe, "sig")
                .restart(Restart::Transient)
                .significant(true),
        ],
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 2).await, ["+worker", "+sig"]);
    named(&rt, "sig").cast(&Cast::Stop).await.unwrap();
    assert_eq!(sup.wait_exit().await, ExitReason::Shutdown);
    assert_eq!(events(&mut probe, 2).await, ["-sig", "-worker"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_all_significant_waits_for_the_last_significant_child() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = SupervisorSpec {
        auto_shutdown: AutoShutdown::AllSignificant,
        children: vec![
            child(&probe, "s1")
                .restart(Restart::Temporary)
                .significant(true),
            child(&probe, "s2")
                .restart(Restart::Transient)
                .significant(true),
        ],
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 2).await, ["+s1", "+s2"]);
    let s1 = named(&rt, "s1");
    probe.monitor(s1.id());
    s1.cast(&Cast::Stop).await.unwrap();
    assert_eq!(events(&mut probe, 1).await, ["-s1"]);
    // Its DOWN and its exit signal to the supervisor leave in the same step of its
    // exit; once the DOWN is here, the exit signal is in the supervisor's system
    // queue, which it takes before the call below.
    probe.recv_down(LONG).await.unwrap();
    // The supervisor still answers: it lists the remaining child.
    let children = rt.which_children(&sup).await.unwrap();
    assert_eq!(
        children.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["s2"]
    );
    named(&rt, "s2").cast(&Cast::Stop).await.unwrap();
    assert_eq!(sup.wait_exit().await, ExitReason::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_significant_permanent_child_is_refused() {
    let rt = runtime();
    let probe = rt.probe();
    let spec = SupervisorSpec {
        children: vec![child(&probe, "x").significant(true)],
        ..SupervisorSpec::default()
    };
    let err = rt.start_supervisor(spec, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start an actor: child \"x\" is significant and permanent; a significant child must be transient or temporary"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_starts_a_linked_supervisor() {
    let rt = runtime();
    let mut probe = rt.probe();
    let owner = spawn(&rt).await;
    let sup = match call(
        &owner,
        Call::StartSupervisor {
            notify: probe.id().get(),
            tag: "kid".into(),
        },
    )
    .await
    {
        Reply::Id(id) => rt
            .actor(foundation::ActorId::from_raw(id).unwrap())
            .unwrap(),
        other => panic!("start-supervisor failed: {other:?}"),
    };
    assert_eq!(events(&mut probe, 1).await, ["+kid"]);
    crash(&named(&rt, "kid")).await;
    assert_eq!(events(&mut probe, 1).await, ["+kid"]);
    // The supervisor is linked to the guest that started it: when the guest goes,
    // the supervisor stops its children and exits with the same reason.
    owner.kill();
    assert_eq!(sup.wait_exit().await, ExitReason::Killed);
    assert!(rt.whereis("kid").is_none());
    assert_eq!(rt.actor_count(), 0);
}

/// Regression: runtime shutdown once stopped supervised children directly (as if
/// top level), bypassing their shutdown specs, and their supervisor took the exits for
/// crashes and retried restarts that could not succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_shutdown_stops_children_through_their_supervisor() {
    let rt = runtime();
    let mut probe = rt.probe();
    let spec = sup(
        Strategy::OneForOne,
        vec![
            child(&probe, "a"),
            child(&probe, "bk").shutdown(Shutdown::BrutalKill),
        ],
    );
    let root = rt.start_supervisor(spec, None).await.unwrap();
    let later = spawn(&rt).await;
    assert_eq!(events(&mut probe, 2).await, ["+a", "+bk"]);
    tokio::time::timeout(LONG, rt.shutdown())
        .await
        .expect("shutdown completes");
    assert_eq!(later.exit_reason(), Some(ExitReason::Shutdown));
    assert_eq!(root.exit_reason(), Some(ExitReason::Shutdown));
    // The supervisor killed `bk` (no terminate), then stopped `a` gracefully; had
    // the runtime stopped `bk` itself, its terminate would have run first.
    assert_eq!(events(&mut probe, 1).await, ["-a"]);
}

/// Polls `call` once, which queues it (there is room), and returns it to await
/// later: messages sent after this come after it in the mailbox.
async fn queued<F: std::future::Future + Unpin>(mut call: F) -> F {
    tokio::select! {
        biased;
        _ = &mut call => panic!("answered before the receiver could handle it"),
        _ = std::future::ready(()) => {}
    }
    call
}

/// A child that keeps its mailbox hands what was queued when it trapped to its next
/// instance, in order, a waiting call included; without a next instance the kept
/// messages end as an exit ends them: calls `exited`, casts dead letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_mailbox_hands_queued_messages_to_the_next_instance() {
    let rt = runtime();
    let mut probe = rt.probe();
    let gate = spawn(&rt).await;
    let spec = sup(
        Strategy::OneForOne,
        vec![
            child(&probe, "keeper").keep_mailbox(true),
            child(&probe, "once")
                .keep_mailbox(true)
                .restart(Restart::Temporary),
        ],
    );
    let _sup = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(events(&mut probe, 2).await, ["+keeper", "+once"]);

    // The keeper waits on the gate while 5 casts and a call queue behind it, then
    // traps once released.
    let keeper = rt.whereis("keeper").unwrap();
    let first = keeper.id();
    block_then_panic(&keeper, &gate).await;
    for seq in 0..5 {
        keeper.try_cast(&Cast::Record(seq)).unwrap();
    }
    let history = queued(Box::pin(keeper.call::<_, Reply>(&Call::History, LONG))).await;
    let dead_before = rt.dead_letters();
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    assert_eq!(events(&mut probe, 1).await, ["+keeper"]);
    assert_ne!(keeper.id(), first, "a new instance");
    // The next instance handled the kept casts, in order, then answered the kept call.
    let expected: Vec<(u64, u64)> = (0..5).map(|s| (0, s)).collect();
    assert_eq!(history.await.unwrap(), Reply::History(expected));
    assert_eq!(rt.dead_letters(), dead_before, "nothing was lost");

    // A temporary child is not restarted: what it kept ends with it.
    let once = rt.whereis("once").unwrap();
    block_then_panic(&once, &gate).await;
    for seq in 0..3 {
        once.try_cast(&Cast::Record(seq)).unwrap();
    }
    let orphan = queued(Box::pin(once.call::<_, Reply>(&Call::History, LONG))).await;
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    let r = orphan.await;
    assert!(
        matches!(&r, Err(foundation::ActorError::Send(foundation::SendError::Exited(ExitReason::Trap(m)))) if m.contains("full mailbox")),
        "{r:?}"
    );
    assert_eq!(rt.dead_letters() - dead_before, 3);
}
