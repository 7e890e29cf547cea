//! Bounded mailboxes and back-pressure: a full mailbox makes `cast` wait and
//! `try_cast` fail with `MailboxFull`; nothing accepted is dropped.

use std::time::Duration;

use foundation::{ActorError, ActorOptions, SendError};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_makes_senders_wait_or_fail_and_drops_nothing() {
    let mut b = builder();
    b.send_timeout(Duration::from_millis(100));
    let rt = runtime_with(&b);
    let gate = rt.spawn("testactor", &Args::default()).await.unwrap();
    let capacity = 4;
    let a = rt
        .spawn_with(
            ActorOptions::new("testactor").mailbox(capacity),
            &Args::default(),
        )
        .await
        .unwrap();

    // `a` blocks in a call to the gate, so its mailbox fills up. Its reply to BlockOn
    // says the message has left the mailbox and `a` handles nothing more until the
    // gate is released.
    block(&a, &gate).await;
    for seq in 0..capacity as u64 {
        a.try_cast(&Cast::Record(seq)).unwrap();
    }
    let accepted = capacity as u64;
    assert_eq!(
        a.try_cast(&Cast::Record(accepted)),
        Err(ActorError::Send(SendError::MailboxFull { capacity }))
    );
    // `cast` waits for room up to the send timeout, then reports MailboxFull.
    assert_eq!(
        a.cast(&Cast::Record(999)).await,
        Err(ActorError::Send(SendError::MailboxFull { capacity }))
    );

    // A waiting sender gets in once room appears.
    let waiter = {
        let a = a.clone();
        tokio::spawn(async move {
            // Retry on MailboxFull (the short send timeout above), never dropping.
            loop {
                match a.cast(&Cast::Record(1000)).await {
                    Ok(()) => return,
                    Err(ActorError::Send(SendError::MailboxFull { .. })) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        })
    };
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    waiter.await.unwrap();

    let mut expected: Vec<(u64, u64)> = (0..accepted).map(|s| (0, s)).collect();
    expected.push((0, 1000));
    assert_eq!(call(&a, Call::History).await, Reply::History(expected));
}

/// Casts still queued when an actor stops die with it, as in OTP, but not silently:
/// each is a dead letter, counted once, whether the actor trapped or was killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn casts_queued_at_a_trap_or_a_kill_are_counted_as_dead_letters() {
    let rt = runtime();
    let gate = spawn(&rt).await;

    // A trap with a full mailbox: the actor is blocked, 10 casts fill its mailbox,
    // then it traps.
    let a = rt
        .spawn_with(ActorOptions::new("testactor").mailbox(10), &Args::default())
        .await
        .unwrap();
    block_then_panic(&a, &gate).await;
    for seq in 0..10 {
        a.try_cast(&Cast::Record(seq)).unwrap();
    }
    assert_eq!(
        a.try_cast(&Cast::Record(10)),
        Err(ActorError::Send(SendError::MailboxFull { capacity: 10 })),
        "full"
    );
    let before = rt.dead_letters();
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    let reason = a.wait_exit().await;
    assert!(
        matches!(&reason, foundation::ExitReason::Trap(m) if m.contains("full mailbox")),
        "{reason:?}"
    );
    assert_eq!(rt.dead_letters() - before, 10);

    // A kill: 7 casts queued behind a blocked actor.
    let b = spawn(&rt).await;
    block(&b, &gate).await;
    for seq in 0..7 {
        b.try_cast(&Cast::Record(seq)).unwrap();
    }
    let before = rt.dead_letters();
    b.kill();
    b.wait_exit().await;
    assert_eq!(rt.dead_letters() - before, 7);

    // An actor that stops with an empty mailbox adds none.
    let c = spawn(&rt).await;
    let before = rt.dead_letters();
    c.stop(foundation::ExitReason::Normal).await;
    assert_eq!(rt.dead_letters(), before);
}
