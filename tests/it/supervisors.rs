//! Supervisors (OTP S1-S7): start and stop order, strategies, restart types,
//! intensity and escalation, shutdown kinds, and addresses that survive restarts.

use std::time::Duration;

use foundation::{
    ActorRef, ChildSpec, ExitReason, Probe, Restart, Runtime, Shutdown, Strategy, SupervisorSpec,
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
    // Temporary: never restarted.
    crash(&named(&rt, "temp")).await;
    // A restart of `perm` is the next event: nothing came from trans or temp before it.
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
    assert_eq!(manifest.roots, ["solo", "root"]);
    rt.start(&manifest).await.unwrap();
    assert_eq!(events(&mut probe, 3).await, ["+solo", "+x", "+y"]);
    crash(&named(&rt, "y")).await;
    assert_eq!(events(&mut probe, 3).await, ["-x", "+x", "+y"]);
    rt.shutdown().await;
    // Newest top-level first: the supervisor (its children newest first), then solo.
    assert_eq!(events(&mut probe, 3).await, ["-y", "-x", "-solo"]);
    assert_eq!(rt.actor_count(), 0);
}
