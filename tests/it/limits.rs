//! Hostile and buggy guests (the sandbox issue): each attack fails with a precise
//! exit reason, the host stays up, and a well-behaved neighbour keeps answering.

use std::time::Duration;

use foundation::{ActorError, ActorOptions, ExitReason, SendError, SpawnError};

use crate::*;

/// The neighbour answers a call at once.
async fn neighbour_answers(n: &ActorRef) {
    let r: Reply = n
        .call(&Call::Echo("still here".into()), PROMPTLY)
        .await
        .expect("the neighbour answers");
    assert_eq!(r, Reply::Text("still here".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_its_limit_and_traps_with_the_limit_named() {
    let rt = runtime();
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
    let Err(ActorError::Send(SendError::Exited(ExitReason::Trap(why)))) = &r else {
        panic!("{r:?}")
    };
    assert!(why.contains("memory-limit"), "{why}");
    assert!(why.contains("limit of 16777216 bytes"), "{why}");
    assert_eq!(bomb.wait_exit().await, ExitReason::Trap(why.clone()));
    neighbour_answers(&neighbour).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_overflows_the_stack_and_traps_only_that_actor() {
    let rt = runtime();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_loop_in_a_handler_is_stopped_at_its_deadline() {
    let rt = runtime();
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
        ExitReason::Trap("deadline-exceeded: a handler ran longer than 200ms".into())
    );
    neighbour_answers(&neighbour).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_loop_in_init_fails_the_spawn_at_its_deadline() {
    let mut b = builder();
    b.handler_deadline(Some(Duration::from_millis(100)));
    let rt = runtime_with(&b);
    let r = rt
        .spawn(
            "testactor",
            &Args {
                spin_in_init: true,
                ..Args::default()
            },
        )
        .await;
    let Err(SpawnError::InitFailed { reason, .. }) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        *reason,
        ExitReason::Trap("deadline-exceeded: a handler ran longer than 100ms".into())
    );
    // The runtime's default deadline applies to every actor; this one is quick.
    let ok = spawn(&rt).await;
    neighbour_answers(&ok).await;
}
