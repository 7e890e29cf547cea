//! Supervised tasks (Elixir's `Task.Supervisor.async_nolink`, OTP T1-T6): results
//! arrive as messages, crashes as DOWNs, the caller stays responsive and unharmed.

use std::time::Instant;

use foundation::ExitReason;

use crate::*;

/// A testactor that forwards DOWNs and task results to `probe`.
async fn owner(rt: &foundation::Runtime, probe: &foundation::Probe) -> foundation::ActorRef {
    let args = Args {
        forward_info: Some(probe.id().get()),
        ..Args::default()
    };
    rt.spawn("testactor", &args).await.unwrap()
}

/// Starts a task; returns its id and monitor ref.
async fn start_task(owner: &foundation::ActorRef, function: &str, input: u64) -> (u64, u64) {
    match call(
        owner,
        Call::StartTask {
            function: function.into(),
            input,
        },
    )
    .await
    {
        Reply::Task { id, monitor } => (id, monitor),
        other => panic!("start-task failed: {other:?}"),
    }
}

/// Starts a task; returns its monitor ref.
async fn start(owner: &foundation::ActorRef, function: &str, input: u64) -> u64 {
    start_task(owner, function, input).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t3_a_task_delivers_its_result_then_a_normal_down() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let m = start(&a, "double", 21).await;
    let first = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&first, Cast::TaskDone { monitor, result } if *monitor == m && result == "ok:42"),
        "{first:?}"
    );
    let second = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&second, Cast::Down { monitor, reason, .. } if *monitor == m && reason == "normal"),
        "{second:?}"
    );
    // A task function's own error is a result too, not a crash.
    let m = start(&a, "fail", 7).await;
    let got = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&got, Cast::TaskDone { monitor, result } if *monitor == m && result == "err:failed on 7"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t1_t2_t4_a_crashing_task_reports_its_reason_and_the_caller_lives_on() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let m = start(&a, "panic", 3).await;
    match probe.recv::<Cast>(LONG).await.unwrap().msg {
        Cast::Down {
            monitor, reason, ..
        } => {
            assert_eq!(monitor, m);
            assert!(reason.contains("task asked to panic with 3"), "{reason}");
        }
        other => panic!("expected the task's DOWN, got {other:?}"),
    }
    assert_eq!(
        call(&a, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
    // T4: tasks are never restarted; only the owner is left.
    assert_eq!(rt.actor_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_stays_responsive_while_a_task_burns_cpu() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let m = start(&a, "spin_ms", 1500).await;
    let mut worst = std::time::Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        assert_eq!(
            call(&a, Call::Echo(format!("{i}"))).await,
            Reply::Text(format!("{i}"))
        );
        worst = worst.max(started.elapsed());
    }
    assert!(
        worst < PROMPTLY,
        "slowest call during the task took {worst:?}"
    );
    let got = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&got, Cast::TaskDone { monitor, result } if *monitor == m && result == "ok:1500"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t6_a_task_can_be_shut_down_by_its_caller() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let (id, _) = start_task(&a, "spin_ms", 600_000).await;
    let task = rt
        .actor(foundation::ActorId::from_raw(id).unwrap())
        .expect("the task runs");
    assert_eq!(call(&a, Call::ShutdownTask).await, Reply::Bool(true));
    assert_eq!(task.wait_exit().await, ExitReason::Killed);
    // Neither a result nor a DOWN follows: a marker sent after the shutdown arrives
    // first (system messages would have overtaken it).
    assert_eq!(
        call(
            &a,
            Call::CastRecord {
                to: probe.id().get(),
                seq: 9
            }
        )
        .await,
        Reply::Ok
    );
    let got = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(matches!(got, Cast::Record(9)), "{got:?}");
    assert_eq!(
        call(&a, Call::ShutdownTask).await,
        Reply::Err("no task".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_shutdown_stops_running_tasks() {
    let rt = runtime();
    let probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let _m = start(&a, "spin_ms", 600_000).await;
    assert_eq!(rt.actor_count(), 2);
    rt.shutdown().await;
    assert_eq!(rt.actor_count(), 0);
    assert_eq!(a.exit_reason(), Some(ExitReason::Shutdown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_not_held_to_its_owner_s_handler_deadline() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = rt
        .spawn_with(
            foundation::ActorOptions::new("testactor")
                .deadline(std::time::Duration::from_millis(50)),
            &Args {
                forward_info: Some(probe.id().get()),
                ..Args::default()
            },
        )
        .await
        .unwrap();
    // Six times the owner's deadline of CPU work: tasks are for long work.
    let m = start(&a, "spin_ms", 300).await;
    let done = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&done, Cast::TaskDone { monitor, result } if *monitor == m && result == "ok:300"),
        "{done:?}"
    );
}

/// The `task-runner` export is optional: a component without task functions (the
/// counter) loads and runs as an actor, and a task asked of it fails at once with an
/// error naming the missing export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_without_task_functions_is_an_actor_and_refuses_tasks() {
    let rt = runtime();
    rt.add_component("counter", foundation_fixtures::COUNTER)
        .unwrap();
    let probe = rt.probe();
    let a = owner(&rt, &probe).await;
    let r = call(
        &a,
        Call::StartTaskOf {
            component: "counter".into(),
            function: "double".into(),
            input: 1,
        },
    )
    .await;
    assert_eq!(
        r,
        Reply::Err(
            "Unavailable(cannot start an actor: component \"counter\" runs no tasks: it does not export foundation:actor/task-runner@0.2.0)"
                .into()
        )
    );
    let counter = rt
        .spawn("counter", &serde_json::json!({ "start": 1 }))
        .await
        .unwrap();
    let n: i64 = counter.call(&"Get", PROMPTLY).await.unwrap();
    assert_eq!(n, 1);
}
