//! call and cast: round trips, deferred replies, ordering, timeouts (OTP G1-G4).

use std::time::{Duration, Instant};

use foundation::{ActorError, ExitReason, SendError};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_and_cast_round_trip_typed() {
    let rt = runtime();
    let a = spawn(&rt).await;
    assert_eq!(
        call(&a, Call::Echo("hello".into())).await,
        Reply::Text("hello".into())
    );
    a.cast(&Cast::Record(7)).await.unwrap();
    a.cast(&Cast::Record(8)).await.unwrap();
    assert_eq!(
        call(&a, Call::History).await,
        Reply::History(vec![(0, 7), (0, 8)])
    );
    assert_eq!(call(&a, Call::SelfId).await, Reply::Id(a.id().get()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_reply_is_delivered_from_a_later_message() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let waiting = {
        let a = a.clone();
        tokio::spawn(async move { a.call::<_, Reply>(&Call::Defer, LONG).await })
    };
    // The deferred call does not block the actor: it keeps answering others.
    assert_eq!(
        call(&a, Call::Echo("still here".into())).await,
        Reply::Text("still here".into())
    );
    // History is a call handled after Defer, so Defer is registered by now.
    a.cast(&Cast::Release("later".into())).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), Reply::Text("later".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l12_messages_from_one_sender_arrive_in_order() {
    let rt = runtime();
    let a = spawn(&rt).await;
    for seq in 0..2000 {
        a.cast(&Cast::Record(seq)).await.unwrap();
    }
    let expected: Vec<(u64, u64)> = (0..2000).map(|s| (0, s)).collect();
    assert_eq!(call(&a, Call::History).await, Reply::History(expected));

    // Guest to guest: b casts to c, in order, interleaved with its calls to us.
    let b = spawn(&rt).await;
    let c = spawn(&rt).await;
    for seq in 0..200 {
        let r = call(
            &b,
            Call::CastRecord {
                to: c.id().get(),
                seq,
            },
        )
        .await;
        assert_eq!(r, Reply::Ok);
    }
    let expected: Vec<(u64, u64)> = (0..200).map(|s| (0, s)).collect();
    assert_eq!(call(&c, Call::History).await, Reply::History(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_call_times_out_with_a_timeout_error() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let r = a.call::<_, Reply>(&Call::Defer, timeout).await;
    assert_eq!(r, Err(ActorError::Send(SendError::Timeout(timeout))));
    assert!(started.elapsed() >= timeout, "gave up before its timeout");
    // The actor is fine and answers the next call.
    assert_eq!(
        call(&a, Call::Echo("ok".into())).await,
        Reply::Text("ok".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g2_a_late_reply_is_dropped_never_delivered_later() {
    let rt = runtime();
    let server = spawn(&rt).await;
    let r = server
        .call::<_, Reply>(&Call::Defer, Duration::from_millis(50))
        .await;
    assert!(
        matches!(r, Err(ActorError::Send(SendError::Timeout(_)))),
        "{r:?}"
    );
    // The server now replies to the caller that gave up...
    server.cast(&Cast::Release("stale".into())).await.unwrap();
    // ...and the next call gets its own reply, not the stale one.
    assert_eq!(
        call(&server, Call::Echo("fresh".into())).await,
        Reply::Text("fresh".into())
    );

    // The same between guests: client calls server with a short timeout.
    let client = spawn(&rt).await;
    let r = call(
        &client,
        Call::CallDefer {
            to: server.id().get(),
            timeout_ms: 50,
        },
    )
    .await;
    assert_eq!(r, Reply::Err("Timeout".into()));
    server.cast(&Cast::Release("stale".into())).await.unwrap();
    let r = call(
        &client,
        Call::CallEcho {
            to: server.id().get(),
            text: "fresh".into(),
            timeout_ms: 30_000,
        },
    )
    .await;
    assert_eq!(r, Reply::Text("Text(\"fresh\")".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g3_calling_a_dead_or_unknown_actor_fails_at_once() {
    let rt = runtime();
    let a = spawn(&rt).await;
    assert_eq!(a.stop(ExitReason::Normal).await, ExitReason::Normal);
    let started = Instant::now();
    let r = a
        .call::<_, Reply>(&Call::Echo("anyone?".into()), LONG)
        .await;
    assert_eq!(r, Err(ActorError::Send(SendError::Noproc)));
    assert_eq!(
        a.cast(&Cast::Record(1)).await,
        Err(ActorError::Send(SendError::Noproc))
    );
    assert!(started.elapsed() < PROMPTLY);

    // From a guest: a dead id and an id that never existed.
    let b = spawn(&rt).await;
    let started = Instant::now();
    for to in [a.id().get(), 999_999] {
        let r = call(
            &b,
            Call::CallEcho {
                to,
                text: "x".into(),
                timeout_ms: 30_000,
            },
        )
        .await;
        assert_eq!(r, Reply::Err("Noproc".into()));
    }
    assert!(started.elapsed() < PROMPTLY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g4_a_trap_during_a_call_gives_the_caller_the_reason_at_once() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let started = Instant::now();
    let r = a.call::<_, Reply>(&Call::Panic("boom".into()), LONG).await;
    assert!(started.elapsed() < PROMPTLY);
    match r {
        Err(ActorError::Send(SendError::Exited(ExitReason::Trap(msg)))) => {
            assert!(
                msg.contains("boom"),
                "the reason carries the panic message: {msg}"
            );
            assert!(
                msg.contains("testactor/src/lib.rs"),
                "and where it panicked: {msg}"
            );
        }
        other => panic!("expected Exited(Trap), got {other:?}"),
    }

    // A call queued behind the fatal message gets the same reason, not a timeout.
    let b = spawn(&rt).await;
    let gate = spawn(&rt).await;
    block(&b, &gate).await;
    b.cast(&Cast::Panic("second".into())).await.unwrap();
    let msg = Call::Echo("queued".into());
    let mut queued = std::pin::pin!(b.call::<_, Reply>(&msg, LONG));
    // One poll puts the call in b's mailbox (it has room) and parks on the reply.
    std::future::poll_fn(|cx| {
        assert!(queued.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    match queued.await {
        Err(ActorError::Send(SendError::Exited(ExitReason::Trap(msg)))) => {
            assert!(msg.contains("second"), "{msg}")
        }
        other => panic!("expected Exited(Trap), got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_names_are_unique_and_freed_when_the_holder_dies_and_guests_call_and_spawn() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    assert_eq!(call(&a, Call::Register("alpha".into())).await, Reply::Ok);
    assert_eq!(
        call(&b, Call::Register("alpha".into())).await,
        Reply::Err("AlreadyRegistered".into())
    );
    assert_eq!(
        call(&a, Call::Register("beta".into())).await,
        Reply::Err("AlreadyNamed".into())
    );
    assert_eq!(
        call(&b, Call::Whereis("alpha".into())).await,
        Reply::MaybeId(Some(a.id().get()))
    );
    assert_eq!(rt.whereis("alpha").map(|r| r.id()), Some(a.id()));
    let r = call(
        &b,
        Call::CallEcho {
            to: a.id().get(),
            text: "hi".into(),
            timeout_ms: 30_000,
        },
    )
    .await;
    assert_eq!(r, Reply::Text("Text(\"hi\")".into()));

    // R1: the name is freed when its holder dies.
    a.kill();
    assert_eq!(a.wait_exit().await, ExitReason::Killed);
    assert_eq!(
        call(&b, Call::Whereis("alpha".into())).await,
        Reply::MaybeId(None)
    );
    assert_eq!(call(&b, Call::Register("alpha".into())).await, Reply::Ok);
    assert_eq!(call(&b, Call::Unregister("alpha".into())).await, Reply::Ok);
    assert_eq!(
        call(&b, Call::Unregister("alpha".into())).await,
        Reply::Err("NotRegistered".into())
    );
    assert_eq!(
        call(&b, Call::Register("".into())).await,
        Reply::Err("InvalidName".into())
    );

    // Spawn from a guest; the child registers itself in its init.
    let r = call(
        &b,
        Call::Spawn {
            component: "testactor".into(),
            name: Some("child".into()),
        },
    )
    .await;
    let Reply::Id(child) = r else {
        panic!("spawn failed: {r:?}")
    };
    let child_ref = rt.whereis("child").expect("child registered itself");
    assert_eq!(child_ref.id().get(), child);
    let r = call(
        &b,
        Call::Spawn {
            component: "nope".into(),
            name: None,
        },
    )
    .await;
    assert_eq!(r, Reply::Err("UnknownComponent(nope)".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_itself_times_out_instead_of_hanging() {
    let rt = runtime();
    let a = spawn(&rt).await;
    assert_eq!(
        call(&a, Call::CallSelf { timeout_ms: 100 }).await,
        Reply::Err("Timeout".into())
    );
    assert_eq!(
        call(&a, Call::Echo("alive".into())).await,
        Reply::Text("alive".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_the_limit_is_refused_at_the_sender() {
    let mut b = builder();
    b.max_message_size(1024);
    let rt = runtime_with(&b);
    let a = rt.spawn("testactor", &Args::default()).await.unwrap();
    let big = "x".repeat(4096);
    match a.call::<_, Reply>(&Call::Echo(big.clone()), LONG).await {
        Err(ActorError::Send(SendError::TooLarge { size, max: 1024 })) => assert!(size > 4096),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(
        a.cast(&Cast::Release(big)).await,
        Err(ActorError::Send(SendError::TooLarge { .. }))
    ));
    assert_eq!(
        call(&a, Call::Echo("small".into())).await,
        Reply::Text("small".into())
    );
}

/// The history entry testactor records for a cast that does not decode.
const UNEXPECTED: u64 = u64::MAX - 2;

/// A message of the wrong shape, from Rust, from another guest, from a timer or from
/// pub/sub, never kills its receiver: a call is answered `rejected`, a cast is
/// offered to `handle_unexpected`, each is counted, and the actor goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_that_do_not_decode_are_rejected_and_the_receiver_goes_on() {
    let rt = runtime();
    rt.add_component("counter", foundation_fixtures::COUNTER)
        .unwrap();
    let a = spawn(&rt).await;
    let before = rt.unexpected_messages();
    let bad: [Vec<u8>; 4] = [
        vec![],
        vec![0xc1, 0xff, 0x00, 0x17],
        foundation::codec::encode(&"NoSuchVariant").unwrap(),
        foundation::codec::encode(&12345u32).unwrap(),
    ];
    for msg in &bad {
        let r = a.call_raw(msg.clone(), LONG).await;
        assert!(
            matches!(&r, Err(SendError::Rejected(why)) if why.contains("not this actor's Call type")),
            "{msg:?}: {r:?}"
        );
        a.cast_raw(msg.clone()).await.unwrap();
    }
    // Alive, every cast offered to `handle_unexpected` (from the host), in order.
    assert_eq!(
        call(&a, Call::History).await,
        Reply::History(vec![(0, UNEXPECTED); bad.len()])
    );
    assert_eq!(rt.unexpected_messages() - before, 2 * bad.len() as u64);

    // From another guest: testactor's messages to a counter.
    let counter = rt
        .spawn("counter", &serde_json::json!({ "start": 7 }))
        .await
        .unwrap();
    let b = spawn(&rt).await;
    let to = counter.id().get();
    assert_eq!(call(&b, Call::CastRecord { to, seq: 1 }).await, Reply::Ok);
    let r = call(
        &b,
        Call::CallEcho {
            to,
            text: "hi".into(),
            timeout_ms: 5000,
        },
    )
    .await;
    assert!(
        matches!(&r, Reply::Err(e) if e.starts_with("Rejected(")),
        "the guest caller gets `rejected`: {r:?}"
    );
    // A timer and a publication of the wrong shape (testactor's `Record`).
    call(
        &b,
        Call::Event(EventCall::SendAfter {
            to,
            delay_ms: 1,
            seq: 2,
        }),
    )
    .await;
    a.call::<_, Reply>(&Call::Event(EventCall::Subscribe("news".into())), LONG)
        .await
        .unwrap();
    rt.publish("news", &serde_json::json!({ "Headline": 3 }))
        .await
        .unwrap();
    // The publication is queued at `a` before this call (one sender, in order), so
    // it has been handled when the call returns.
    let Reply::History(h) = call(&a, Call::History).await else {
        panic!()
    };
    assert_eq!(
        h.last(),
        Some(&(0, UNEXPECTED)),
        "the publication, from the host"
    );
    // The timer fires on its own time: wait for its count, with a deadline.
    let deadline = Instant::now() + LONG;
    while rt.unexpected_messages() - before < 2 * bad.len() as u64 + 4 {
        assert!(
            Instant::now() < deadline,
            "the timer's message was not counted"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        counter.call::<_, i64>(&"Get", LONG).await.unwrap(),
        7,
        "nothing reached the counter's handlers"
    );
    assert!(counter.exit_reason().is_none() && a.exit_reason().is_none());
    rt.shutdown().await;
}
