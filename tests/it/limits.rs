//! Hostile and buggy guests (the sandbox issue): each attack fails with a precise
//! exit reason, the host stays up, and a well-behaved neighbour keeps answering.

use foundation::{ActorError, ActorOptions, ExitReason, SendError};

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
