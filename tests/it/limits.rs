//! Hostile and buggy guests (the sandbox issue): each attack fails with a precise
//! error or exit reason, the host stays up, and a well-behaved neighbour keeps
//! answering calls throughout, with its call latency checked against a generous
//! bound (the benchmark has the exact figures).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use foundation::{
    ActorError, ActorId, ActorOptions, ExitReason, Limit, Limits, Sandbox, SendError, SpawnError,
};

use crate::*;

/// The neighbour's calls must stay under this while an attack runs: far above a
/// call's cost (microseconds) and a few epoch ticks (a slice is 1 ms), far below a stall.
const NEIGHBOUR_P99: Duration = Duration::from_millis(500);

/// A well-behaved actor called in a loop for the length of an attack.
pub struct Neighbour {
    stop: Arc<AtomicBool>,
    calls: tokio::task::JoinHandle<Vec<Duration>>,
}

impl Neighbour {
    /// Starts a neighbour and the loop that calls it.
    pub async fn watch(rt: &Runtime) -> Neighbour {
        let actor = spawn(rt).await;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let calls = tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let start = Instant::now();
                let r: Reply = actor
                    .call(&Call::Echo("still here".into()), PROMPTLY)
                    .await
                    .expect("the neighbour answers");
                took.push(start.elapsed());
                assert_eq!(r, Reply::Text("still here".into()));
                if flag.load(Ordering::Acquire) {
                    return took;
                }
            }
        });
        Neighbour { stop, calls }
    }

    /// Ends the loop and checks the neighbour answered promptly throughout.
    pub async fn finish(self) {
        self.stop.store(true, Ordering::Release);
        let mut took = self.calls.await.expect("the neighbour's caller ran");
        took.sort();
        let p99 = took[(took.len() * 99 / 100).min(took.len() - 1)];
        assert!(
            p99 < NEIGHBOUR_P99,
            "the neighbour's call p99 was {p99:?} over {} calls during the attack",
            took.len()
        );
    }
}

/// The neighbour answers a call at once.
async fn neighbour_answers(n: &ActorRef) {
    let r: Reply = n
        .call(&Call::Echo("still here".into()), PROMPTLY)
        .await
        .expect("the neighbour answers");
    assert_eq!(r, Reply::Text("still here".into()));
}

/// A testactor with these limits.
async fn spawn_limited(rt: &Runtime, limits: Limits) -> ActorRef {
    rt.spawn_with(
        ActorOptions::new("testactor").sandbox(Sandbox {
            limits,
            ..Sandbox::default()
        }),
        &Args::default(),
    )
    .await
    .expect("testactor starts")
}

/// Spawning a testactor with `args` fails: its `init` was stopped at a deadline,
/// with this message.
async fn init_stops_at_its_deadline(rt: &Runtime, args: Args, message: &str) {
    let r = rt.spawn("testactor", &args).await;
    let Err(SpawnError::InitFailed { reason, .. }) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(*reason, ExitReason::Limit(Limit::Deadline, message.into()));
}

/// A guest's request to spawn a testactor.
fn spawn_testactor() -> Call {
    Call::Spawn {
        component: "testactor".into(),
        name: None,
    }
}

/// Default limits but for `max_children`.
fn children(n: usize) -> Limits {
    Limits {
        max_children: Some(n),
        ..Limits::default()
    }
}

async fn sandbox_call(actor: &ActorRef, p: SandboxCall) -> Reply {
    call(actor, Call::Sandbox(p)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_its_limit_and_traps_with_the_limit_named() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let neighbour = spawn(&rt).await;
    let bomb = rt
        .spawn_with(
            ActorOptions::new("testactor").max_memory(16 << 20),
            &Args::default(),
        )
        .await
        .unwrap();
    // Within the limit: fine.
    assert_eq!(call(&bomb, Call::Allocate(4)).await, Reply::Ok);
    let r = bomb.call::<_, Reply>(&Call::Allocate(64), LONG).await;
    let Err(ActorError::Send(SendError::Exited(ExitReason::Limit(Limit::Memory, why)))) = &r else {
        panic!("{r:?}")
    };
    assert!(
        why.starts_with("memory-limit: growing linear memory to "),
        "{why}"
    );
    assert!(
        why.ends_with("exceeds this actor's limit of 16777216 bytes"),
        "{why}"
    );
    assert_eq!(
        bomb.wait_exit().await,
        ExitReason::Limit(Limit::Memory, why.clone())
    );
    // The guest's allocator may try more than one growth before it gives up.
    assert!(rt.limit_hits().memory >= 1);
    neighbour_answers(&neighbour).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_overflows_the_stack_and_traps_only_that_actor() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let neighbour = spawn(&rt).await;
    let deep = spawn(&rt).await;
    // Within the stack: the sum of the depths, 0 + 1 + ... + 100.
    assert_eq!(
        call(&deep, Call::Recurse(100)).await,
        Reply::Text("5050".into())
    );
    let r = deep
        .call::<_, Reply>(&Call::Recurse(100_000_000), LONG)
        .await;
    let Err(ActorError::Send(SendError::Exited(ExitReason::Trap(why)))) = &r else {
        panic!("{r:?}")
    };
    // Each frame keeps an array on Rust's shadow stack, which sits at the bottom of
    // linear memory: it runs out first, and the next push leaves memory. (A guest
    // recursing in locals only hits wasmtime's own stack limit instead: "call stack
    // exhausted".) Either way a trap ends this instance only.
    assert!(why.contains("out of bounds memory access"), "{why}");
    neighbour_answers(&neighbour).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_loop_in_a_handler_is_stopped_at_its_deadline() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let neighbour = spawn(&rt).await;
    let busy = rt
        .spawn_with(
            ActorOptions::new("testactor").deadline(Duration::from_millis(200)),
            &Args::default(),
        )
        .await
        .unwrap();
    // Spin replies first, then loops; the neighbour answers meanwhile (epoch yields).
    assert_eq!(call(&busy, Call::Spin).await, Reply::Ok);
    neighbour_answers(&neighbour).await;
    let reason = busy.wait_exit().await;
    assert_eq!(
        reason,
        ExitReason::Limit(
            Limit::Deadline,
            "deadline-exceeded: a handler ran longer than 200ms".into()
        )
    );
    neighbour_answers(&neighbour).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_loop_in_init_fails_the_spawn_at_its_deadline() {
    let mut b = builder();
    b.handler_deadline(Some(Duration::from_millis(100)));
    let rt = runtime_with(&b);
    let watch = Neighbour::watch(&rt).await;
    init_stops_at_its_deadline(
        &rt,
        Args {
            spin_in_init: true,
            ..Args::default()
        },
        "deadline-exceeded: a handler ran longer than 100ms",
    )
    .await;
    // The runtime's default deadline applies to every actor; this one is quick.
    let ok = spawn(&rt).await;
    neighbour_answers(&ok).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_message_is_refused_at_the_sender() {
    let mut b = builder();
    // Room for the guest to build the message (and its encoding) in its memory.
    b.max_memory_bytes(512 << 20);
    let rt = runtime_with(&b);
    let watch = Neighbour::watch(&rt).await;
    let target = spawn(&rt).await;
    let sender = spawn(&rt).await;
    let r = sandbox_call(
        &sender,
        SandboxCall::SendLarge {
            to: target.id().get(),
            bytes: 100 << 20,
        },
    )
    .await;
    let Reply::Err(e) = &r else { panic!("{r:?}") };
    assert!(e.starts_with("TooLarge("), "{e}");
    // From the host too; nothing reached the target.
    let big = serde_bytes::ByteBuf::from(vec![7u8; 100 << 20]);
    let r = target.cast(&big).await;
    let Err(ActorError::Send(SendError::TooLarge { size, max })) = r else {
        panic!("{r:?}")
    };
    assert!(size > 100 << 20);
    assert_eq!(max, foundation::DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(call(&target, Call::History).await, Reply::History(vec![]));
    assert_eq!(rt.limit_hits().message_size, 2);
    // The sender lives on.
    neighbour_answers(&sender).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_s_own_message_size_limit_holds_for_every_sender() {
    let rt = runtime();
    let small = spawn_limited(
        &rt,
        Limits {
            max_message_size: Some(1024),
            ..Limits::default()
        },
    )
    .await;
    let sender = spawn(&rt).await;
    let r = sandbox_call(
        &sender,
        SandboxCall::SendLarge {
            to: small.id().get(),
            bytes: 2048,
        },
    )
    .await;
    assert_eq!(r, Reply::Err("TooLarge(2051)".into()));
    let r = small
        .cast(&serde_bytes::ByteBuf::from(vec![0u8; 2048]))
        .await;
    assert!(
        matches!(
            r,
            Err(ActorError::Send(SendError::TooLarge { max: 1024, .. }))
        ),
        "{r:?}"
    );
    // Small messages pass.
    assert_eq!(
        sandbox_call(
            &sender,
            SandboxCall::SendLarge {
                to: small.id().get(),
                bytes: 100,
            },
        )
        .await,
        Reply::Ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawn_bomb_stops_at_the_children_quota() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let bomber = spawn_limited(&rt, children(5)).await;
    let before = rt.actor_count();
    let r = sandbox_call(&bomber, SandboxCall::SpawnBomb { max: 10_000 }).await;
    assert_eq!(
        r,
        Reply::Text(
            "spawned 5: QuotaExceeded(max_children: the limit of 5 live children is reached (counting everything started from the same root actor))"
                .into()
        )
    );
    assert_eq!(rt.actor_count(), before + 5);
    assert_eq!(rt.limit_hits().children, 1);
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_exits_gives_its_quota_back() {
    let rt = runtime();
    let parent = spawn_limited(&rt, children(1)).await;
    let Reply::Id(child) = call(&parent, spawn_testactor()).await else {
        panic!("the first child starts")
    };
    let r = call(&parent, spawn_testactor()).await;
    let Reply::Err(e) = &r else { panic!("{r:?}") };
    assert!(e.starts_with("QuotaExceeded(max_children"), "{e}");
    let child = rt.actor(ActorId::from_raw(child).unwrap()).unwrap();
    child.kill();
    child.wait_exit().await;
    let r = call(&parent, spawn_testactor()).await;
    assert!(matches!(r, Reply::Id(_)), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawn_bomb_within_its_quota_meets_the_pool_limit_and_the_host_stays_up() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let bomber = spawn(&rt).await;
    let r = sandbox_call(&bomber, SandboxCall::SpawnBomb { max: 10_000 }).await;
    let Reply::Text(t) = &r else { panic!("{r:?}") };
    // The test pool has 64 slots; the neighbour and the bomber hold two. The
    // refusal names the pool's limit.
    assert!(t.starts_with("spawned 62: "), "{t}");
    assert!(
        t.contains("maximum concurrent limit of 64 for component instances reached"),
        "{t}"
    );
    assert!(rt.actor_count() <= 64, "{}", rt.actor_count());
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_flood_stops_at_the_tables_quota() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let flooder = spawn_limited(
        &rt,
        Limits {
            max_tables: Some(3),
            ..Limits::default()
        },
    )
    .await;
    let r = sandbox_call(&flooder, SandboxCall::TableFlood { max: 1000 }).await;
    assert_eq!(
        r,
        Reply::Text(
            "created 3: TableError::QuotaExceeded(\"max_tables: this actor already owns 3 tables, its limit\")"
                .into()
        )
    );
    assert_eq!(rt.limit_hits().tables, 1);
    // The default quota bounds an unconfigured actor too.
    let other = spawn(&rt).await;
    let r = sandbox_call(&other, SandboxCall::TableFlood { max: 100_000 }).await;
    assert_eq!(
        r,
        Reply::Text(format!(
            "created {0}: TableError::QuotaExceeded(\"max_tables: this actor already owns {0} tables, its limit\")",
            foundation::DEFAULT_MAX_TABLES
        ))
    );
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_stop_at_their_quota_and_an_ended_task_gives_it_back() {
    let rt = runtime();
    let owner = spawn_limited(
        &rt,
        Limits {
            max_tasks: Some(2),
            ..Limits::default()
        },
    )
    .await;
    let start = || Call::StartTask {
        function: "sleep_ms".into(),
        input: 600_000,
    };
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let Reply::Task { id, .. } = call(&owner, start()).await else {
            panic!("a task within the quota starts")
        };
        tasks.push(rt.actor(ActorId::from_raw(id).unwrap()).unwrap());
    }
    let r = call(&owner, start()).await;
    let Reply::Err(e) = &r else { panic!("{r:?}") };
    assert_eq!(
        e,
        "QuotaExceeded(max_tasks: the limit of 2 live tasks is reached (counting everything started from the same root actor))"
    );
    // Shut the newest down; once it has exited, its unit is free again.
    assert_eq!(call(&owner, Call::ShutdownTask).await, Reply::Bool(true));
    tasks.pop().unwrap().wait_exit().await;
    assert!(matches!(call(&owner, start()).await, Reply::Task { .. }));
    assert_eq!(rt.limit_hits().tasks, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_calling_itself_times_out_and_the_host_stays_up() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn(&rt).await;
    assert_eq!(
        call(&a, Call::CallSelf { timeout_ms: 200 }).await,
        Reply::Err("Timeout".into())
    );
    neighbour_answers(&a).await;
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_flood_from_many_senders_is_held_back_and_nothing_accepted_is_lost() {
    const CAPACITY: usize = 16;
    const SENDERS: u64 = 32;
    const EACH: u64 = 50;
    let mut b = builder();
    b.send_timeout(Duration::from_millis(20));
    let rt = runtime_with(&b);
    let watch = Neighbour::watch(&rt).await;
    let gate = spawn(&rt).await;
    let target = rt
        .spawn_with(
            ActorOptions::new("testactor").mailbox(CAPACITY),
            &Args::default(),
        )
        .await
        .unwrap();
    // The target is stuck in a call; every sender floods its mailbox meanwhile.
    block(&target, &gate).await;
    let mut floods = Vec::new();
    for sender in 0..SENDERS {
        let target = target.clone();
        floods.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            for seq in 0..EACH {
                let msg = Cast::Record(sender * 1000 + seq);
                match target.cast(&msg).await {
                    Ok(()) => accepted.push(sender * 1000 + seq),
                    Err(ActorError::Send(SendError::MailboxFull { .. })) => {}
                    Err(e) => panic!("a flood sender got {e:?}"),
                }
            }
            accepted
        }));
    }
    let mut accepted = Vec::new();
    for f in floods {
        accepted.extend(f.await.unwrap());
    }
    // Back-pressure: the mailbox held at most its capacity; the rest were refused
    // with an error, none dropped silently.
    assert!(accepted.len() <= CAPACITY, "{} accepted", accepted.len());
    assert!(!accepted.is_empty());
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    let Reply::History(history) = call(&target, Call::History).await else {
        panic!("history")
    };
    let mut got: Vec<u64> = history.into_iter().map(|(_, seq)| seq).collect();
    got.sort();
    accepted.sort();
    assert_eq!(got, accepted, "every accepted message was handled");
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_in_terminate_is_the_exit_reason_and_the_host_stays_up() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = rt
        .spawn(
            "testactor",
            &Args {
                panic_in_terminate: true,
                ..Args::default()
            },
        )
        .await
        .unwrap();
    let reason = a.stop(ExitReason::Shutdown).await;
    let ExitReason::Trap(why) = &reason else {
        panic!("{reason:?}")
    };
    assert!(why.contains("terminate asked to panic"), "{why}");
    watch.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawn_chain_shares_its_root_s_quota() {
    let rt = runtime();
    let root = spawn_limited(&rt, children(2)).await;
    let Reply::Id(child) = call(&root, spawn_testactor()).await else {
        panic!("the first child starts")
    };
    let child = rt.actor(ActorId::from_raw(child).unwrap()).unwrap();
    // The child spawns in turn: it draws on the same count as its parent.
    assert!(matches!(
        call(&child, spawn_testactor()).await,
        Reply::Id(_)
    ));
    let r = call(&child, spawn_testactor()).await;
    let Reply::Err(e) = &r else { panic!("{r:?}") };
    assert!(
        e.starts_with("QuotaExceeded(max_children: the limit of 2"),
        "{e}"
    );
    let r = call(&root, spawn_testactor()).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.starts_with("QuotaExceeded")),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_a_supervisor_for_children_never_widens_a_guest_s_authority() {
    let rt = runtime();
    let mut probe = rt.probe();
    // A supervisor the host started, with a generous default sandbox for its
    // children...
    let sup = rt
        .start_supervisor(
            foundation::SupervisorSpec {
                sandbox: Some(std::sync::Arc::new(Sandbox {
                    capabilities: foundation::Capabilities::default().env("SECRET", "host"),
                    ..Sandbox::default()
                })),
                ..foundation::SupervisorSpec::default()
            },
            None,
        )
        .await
        .unwrap();
    // ...and a guest with one child of quota and nothing granted.
    let guest = spawn_limited(&rt, children(1)).await;
    let notify = probe.id().get();
    let ask = |tag: &str| Call::StartChildOf {
        sup: sup.id().get(),
        notify,
        tag: tag.into(),
    };
    let Reply::Id(child) = call(&guest, ask("first")).await else {
        panic!("the first child starts")
    };
    assert!(matches!(
        probe.recv::<Cast>(LONG).await.unwrap().msg,
        Cast::Started(t) if t == "first"
    ));
    // The child runs in the guest's sandbox, not the supervisor's.
    let child = rt.actor(ActorId::from_raw(child).unwrap()).unwrap();
    assert_eq!(
        call(&child, Call::Sandbox(SandboxCall::EnvNames)).await,
        Reply::Text(String::new())
    );
    // And it is charged to the guest: a second one is refused.
    let r = call(&guest, ask("second")).await;
    let Reply::Err(e) = &r else { panic!("{r:?}") };
    assert!(
        e.contains("max_children: the limit of 1 live children"),
        "{e}"
    );
    // The host is not charged: it adds children in the supervisor's sandbox.
    let host_child = rt.start_child(&sup, temporary_testactor()).await.unwrap();
    assert_eq!(
        call(&host_child, Call::Sandbox(SandboxCall::EnvNames)).await,
        Reply::Text("SECRET".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_outliving_its_killed_supervisor_still_counts() {
    let rt = runtime();
    let mut probe = rt.probe();
    let guest = spawn_limited(&rt, children(2)).await;
    // A supervisor (one unit) with one child (another unit).
    let Reply::Id(sup) = call(
        &guest,
        Call::StartSupervisor {
            notify: probe.id().get(),
            tag: "kept".into(),
        },
    )
    .await
    else {
        panic!("the supervisor starts")
    };
    assert!(matches!(
        probe.recv::<Cast>(LONG).await.unwrap().msg,
        Cast::Started(t) if t == "kept"
    ));
    let child = rt.whereis("kept").unwrap();
    assert_eq!(
        call(&child, Call::TrapExits(true)).await,
        Reply::Bool(false)
    );
    // (The guest is linked to its supervisor: it traps exits to survive it.)
    assert_eq!(
        call(&guest, Call::TrapExits(true)).await,
        Reply::Bool(false)
    );
    // Killing the supervisor does not stop a child that traps exits...
    let sup = rt.actor(ActorId::from_raw(sup).unwrap()).unwrap();
    sup.kill();
    sup.wait_exit().await;
    assert!(child.exit_reason().is_none());
    // ...which still holds its unit: one more child fits, not two.
    assert!(matches!(
        call(&guest, spawn_testactor()).await,
        Reply::Id(_)
    ));
    let r = call(&guest, spawn_testactor()).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.starts_with("QuotaExceeded")),
        "{r:?}"
    );
    // Its exit gives the unit back.
    child.kill();
    child.wait_exit().await;
    assert!(matches!(
        call(&guest, spawn_testactor()).await,
        Reply::Id(_)
    ));
}

/// The handler deadline is wall time: a handler waiting in a call to another actor
/// or in WASI is stopped at it, its wait abandoned, as one that runs is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_in_a_call_or_in_wasi_counts_against_the_handler_deadline() {
    let rt = runtime();
    let server = spawn(&rt).await;
    let deadline = || ActorOptions::new("testactor").deadline(Duration::from_millis(100));
    let client = rt.spawn_with(deadline(), &Args::default()).await.unwrap();
    // The client's handler calls the server, which holds the call (30 s timeout).
    let asking = {
        let client = client.clone();
        let to = server.id().get();
        tokio::spawn(async move {
            client
                .call::<_, Reply>(
                    &Call::CallDefer {
                        to,
                        timeout_ms: 30_000,
                    },
                    LONG,
                )
                .await
        })
    };
    assert_eq!(call(&server, Call::AwaitWaiter).await, Reply::Ok);
    let stopped = ExitReason::Limit(
        Limit::Deadline,
        "deadline-exceeded: a handler ran longer than 100ms".into(),
    );
    assert_eq!(client.wait_exit().await, stopped);
    assert_eq!(
        asking.await.unwrap(),
        Err(ActorError::Send(SendError::Exited(stopped.clone())))
    );
    // The server lives on; the reply it gives later finds nobody and is dropped.
    server.cast(&Cast::Release("late".into())).await.unwrap();
    assert_eq!(
        call(&server, Call::Echo("ok".into())).await,
        Reply::Text("ok".into())
    );

    // A sleep in WASI (a minute) is cut at the deadline too.
    let sleeper = rt.spawn_with(deadline(), &Args::default()).await.unwrap();
    assert_eq!(call(&sleeper, Call::SleepMs(60_000)).await, Reply::Ok);
    assert_eq!(sleeper.wait_exit().await, stopped);
    assert_eq!(rt.limit_hits().deadline, 2);
}

/// `init` always has a deadline: the handler deadline bounds a sleeping `init` as a
/// busy one, and without one the init deadline does (configurable, 5 s by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_has_a_deadline_in_wall_time_even_without_a_handler_deadline() {
    let mut b = builder();
    b.handler_deadline(Some(Duration::from_millis(100)));
    let rt = runtime_with(&b);
    init_stops_at_its_deadline(
        &rt,
        Args {
            sleep_in_init_ms: Some(15_000),
            ..Args::default()
        },
        "deadline-exceeded: a handler ran longer than 100ms",
    )
    .await;

    // No handler deadline: the init deadline (here 300 ms) still stops a spinning init.
    let mut b = builder();
    b.default_limits(foundation::Limits {
        init_deadline: Some(Duration::from_millis(300)),
        ..foundation::Limits::default()
    });
    let rt = runtime_with(&b);
    init_stops_at_its_deadline(
        &rt,
        Args {
            spin_in_init: true,
            ..Args::default()
        },
        "deadline-exceeded: init ran longer than its init_deadline of 300ms",
    )
    .await;
    // The init deadline bounds `init` only: a handler may then take its time.
    let a = spawn(&rt).await;
    assert_eq!(call(&a, Call::SleepMs(600)).await, Reply::Ok);
    assert_eq!(
        call(&a, Call::Echo("after".into())).await,
        Reply::Text("after".into())
    );
}

/// Numbers given in code that the runtime cannot honour are refused with an error
/// that names them, or bounded as documented; never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_numbers_from_code_are_refused_or_bounded() {
    let err = builder().max_instances(4_000_000_000).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot configure the wasm engine: max_instances is 4000000000; it must be from 1 to 1000000"
    );

    let rt = runtime();
    // A mailbox past the maximum is lowered to it (tokio's semaphore would panic).
    let a = rt
        .spawn_with(
            foundation::ActorOptions::new("testactor").mailbox(usize::MAX),
            &Args::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        call(&a, Call::Echo("ok".into())).await,
        Reply::Text("ok".into())
    );

    // A restart window of zero would never see two restarts: refused, as OTP does.
    let spec = foundation::SupervisorSpec {
        max_seconds: Duration::ZERO,
        ..foundation::SupervisorSpec::default()
    };
    let err = rt.start_supervisor(spec, None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("max_seconds must be more than zero"),
        "{err}"
    );
    rt.shutdown().await;
}

/// What an actor can make the host hold through timers, subscriptions and group
/// memberships is bounded by quotas: past one, a typed error that names it, counted
/// and logged; what it held before keeps working, and a unit given back is reusable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_subscriptions_and_groups_stop_at_their_quotas() {
    let rt = runtime();
    let limits = Limits {
        max_timers: Some(3),
        max_subscriptions: Some(3),
        max_groups: Some(3),
        ..Limits::default()
    };
    let a = spawn_limited(&rt, limits).await;
    let ev = |op| call(&a, Call::Event(op));
    let me = a.id().get();
    let refused = |r: &Reply, quota: &str| matches!(r, Reply::Err(e) if e.contains("QuotaExceeded(") && e.contains(quota));

    let mut timers = vec![];
    for seq in 0..3 {
        let r = ev(EventCall::SendAfter {
            to: me,
            delay_ms: 600_000,
            seq,
        })
        .await;
        let Reply::Id(t) = r else { panic!("{r:?}") };
        timers.push(t);
    }
    let r = ev(EventCall::SendAfter {
        to: me,
        delay_ms: 600_000,
        seq: 9,
    })
    .await;
    assert!(
        refused(&r, "max_timers: this actor holds 3 live timers"),
        "{r:?}"
    );
    // A cancelled timer gives its unit back.
    assert_eq!(ev(EventCall::Cancel(timers[0])).await, Reply::Bool(true));
    let r = ev(EventCall::SendAfter {
        to: me,
        delay_ms: 600_000,
        seq: 10,
    })
    .await;
    assert!(matches!(r, Reply::Id(_)), "{r:?}");

    for p in ["a.*", "b.>", "c"] {
        assert_eq!(ev(EventCall::Subscribe(p.into())).await, Reply::Ok);
    }
    let r = ev(EventCall::Subscribe("d".into())).await;
    assert!(refused(&r, "max_subscriptions"), "{r:?}");
    // The same pattern again is not a new subscription.
    assert_eq!(ev(EventCall::Subscribe("c".into())).await, Reply::Ok);
    assert_eq!(
        rt.publish("c", &Cast::Record(1)).await.unwrap().delivered,
        1,
        "what it held before still works"
    );

    for g in ["g1", "g2", "g3"] {
        assert_eq!(ev(EventCall::Join(g.into())).await, Reply::Ok);
    }
    let r = ev(EventCall::Join("g4".into())).await;
    assert!(refused(&r, "max_groups"), "{r:?}");
    assert_eq!(
        ev(EventCall::Join("g1".into())).await,
        Reply::Ok,
        "a group it is in"
    );
    assert_eq!(ev(EventCall::Leave("g2".into())).await, Reply::Bool(true));
    assert_eq!(ev(EventCall::Join("g4".into())).await, Reply::Ok);

    let hits = rt.limit_hits();
    assert_eq!((hits.timers, hits.subscriptions, hits.groups), (1, 1, 1));
}

/// The measured attack: a flood of subscriptions by one actor meets the default
/// quota, so publishing and that actor's exit stay cheap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_flood_stops_at_the_default_quota() {
    let rt = runtime();
    let watch = Neighbour::watch(&rt).await;
    let a = spawn(&rt).await;
    for n in 0..foundation::DEFAULT_MAX_SUBSCRIPTIONS {
        assert_eq!(
            call(&a, Call::Event(EventCall::Subscribe(format!("t.{n}")))).await,
            Reply::Ok
        );
    }
    let r = call(&a, Call::Event(EventCall::Subscribe("t.more".into()))).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.contains("max_subscriptions: this actor holds 1000 subscriptions")),
        "{r:?}"
    );
    assert_eq!(rt.limit_hits().subscriptions, 1);
    a.kill();
    a.wait_exit().await;
    assert_eq!(
        rt.publish("t.1", &Cast::Record(1)).await.unwrap().delivered,
        0
    );
    watch.finish().await;
}

/// Monitors and links an actor holds are bounded by quotas too (a loop of
/// `monitor` once held 436 MB): past one, `quota-exceeded`, counted; a unit given
/// back (a demonitor, an unlink) is reusable, and an existing link is not a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_and_links_stop_at_their_quotas() {
    let rt = runtime();
    let a = spawn_limited(
        &rt,
        Limits {
            max_monitors: Some(3),
            max_links: Some(2),
            ..Limits::default()
        },
    )
    .await;
    let b = spawn(&rt).await;
    let c = spawn(&rt).await;
    let d = spawn(&rt).await;
    let mut monitors = vec![];
    for _ in 0..3 {
        let Reply::Id(m) = call(&a, Call::Monitor(b.id().get())).await else {
            panic!()
        };
        monitors.push(m);
    }
    let r = call(&a, Call::Monitor(b.id().get())).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.contains("QuotaExceeded(") && e.contains("max_monitors: this actor holds 3 monitors")),
        "{r:?}"
    );
    assert_eq!(
        call(&a, Call::Demonitor(monitors[0])).await,
        Reply::Bool(true)
    );
    assert!(matches!(
        call(&a, Call::Monitor(b.id().get())).await,
        Reply::Id(_)
    ));

    assert_eq!(call(&a, Call::Link(b.id().get())).await, Reply::Ok);
    assert_eq!(call(&a, Call::Link(c.id().get())).await, Reply::Ok);
    assert_eq!(
        call(&a, Call::Link(c.id().get())).await,
        Reply::Ok,
        "not a new link"
    );
    let r = call(&a, Call::Link(d.id().get())).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.contains("max_links")),
        "{r:?}"
    );
    let r = call(&a, Call::SpawnLink { fail: false }).await;
    assert!(
        matches!(&r, Reply::Err(e) if e.contains("max_links")),
        "{r:?}"
    );
    assert_eq!(call(&a, Call::Unlink(c.id().get())).await, Reply::Ok);
    assert_eq!(call(&a, Call::Link(d.id().get())).await, Reply::Ok);

    let hits = rt.limit_hits();
    assert_eq!((hits.monitors, hits.links), (1, 2));
}

/// An actor that defers every call and never answers holds at most
/// `max_pending_calls` of them: the next caller is refused at once, not left to its
/// timeout, and each answer gives a unit back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_held_unanswered_stop_at_the_receiver_s_quota() {
    let rt = runtime();
    let hoarder = spawn_limited(
        &rt,
        Limits {
            max_pending_calls: Some(4),
            ..Limits::default()
        },
    )
    .await;
    // Five callers at once: whatever their order, four are held and one is refused
    // at once; its answer is the first to come back.
    let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..5 {
        let (h, tx) = (hoarder.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(h.call::<_, Reply>(&Call::Defer, LONG).await);
        });
    }
    let first = answers.recv().await.unwrap();
    assert!(
        matches!(&first, Err(ActorError::Send(SendError::QuotaExceeded(why))) if why.contains("max_pending_calls: the receiver holds 4 calls")),
        "{first:?}"
    );
    assert_eq!(rt.limit_hits().pending_calls, 1);
    // The refusal means the four others were taken already; the release comes after
    // them, and each gets its answer.
    hoarder.cast(&Cast::Release("done".into())).await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            answers.recv().await.unwrap(),
            Ok(Reply::Text("done".into()))
        );
    }
    assert_eq!(
        call(&hoarder, Call::Echo("free".into())).await,
        Reply::Text("free".into())
    );
}
