//! Timers, process groups (R1, R2) and pub/sub with NATS-style wildcards: delivery,
//! cancellation races, cleanup on death, dead letters.

use std::time::Duration;

use foundation::{ActorOptions, ExitReason, Fanout, Probe};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::*;

async fn ev(actor: &ActorRef, op: EventCall) -> Reply {
    call(actor, Call::Event(op)).await
}

async fn timer(actor: &ActorRef, op: EventCall) -> u64 {
    match ev(actor, op).await {
        Reply::Id(t) => t,
        other => panic!("timer not started: {other:?}"),
    }
}

/// Has `from` cast `Record(seq)` to the probe, then reads the probe up to that
/// marker and returns what came before it. Casts queued earlier (by timers that are
/// cancelled or dead by now) arrive before the marker.
async fn drain_to_marker(from: &ActorRef, probe: &mut Probe, seq: u64) -> Vec<u64> {
    let to = probe.id().get();
    assert_eq!(call(from, Call::CastRecord { to, seq }).await, Reply::Ok);
    let mut before = Vec::new();
    loop {
        match probe.recv::<Cast>(LONG).await.unwrap().msg {
            Cast::Record(s) if s == seq => return before,
            Cast::Record(s) => before.push(s),
            other => panic!("{other:?}"),
        }
    }
}

async fn next_record(probe: &mut Probe) -> u64 {
    match probe.recv::<Cast>(LONG).await.unwrap().msg {
        Cast::Record(s) => s,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_after_fires_once_and_cancel_tells_whether_it_had_fired() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = spawn(&rt).await;
    let to = probe.id().get();
    let fired = timer(
        &a,
        EventCall::SendAfter {
            to,
            delay_ms: 1,
            seq: 1,
        },
    )
    .await;
    assert_eq!(next_record(&mut probe).await, 1);
    assert_eq!(
        ev(&a, EventCall::Cancel(fired)).await,
        Reply::Bool(false),
        "already fired"
    );
    let pending = timer(
        &a,
        EventCall::SendAfter {
            to,
            delay_ms: 60_000,
            seq: 2,
        },
    )
    .await;
    assert_eq!(ev(&a, EventCall::Cancel(pending)).await, Reply::Bool(true));
    assert_eq!(
        ev(&a, EventCall::Cancel(pending)).await,
        Reply::Bool(false),
        "once"
    );
    assert_eq!(
        ev(&a, EventCall::Cancel(987_654)).await,
        Reply::Bool(false),
        "unknown"
    );
    assert_eq!(drain_to_marker(&a, &mut probe, 3).await, Vec::<u64>::new());
    let zero = ev(
        &a,
        EventCall::SendInterval {
            to,
            period_ms: 0,
            seq: 4,
        },
    )
    .await;
    assert!(
        matches!(&zero, Reply::Err(e) if e.contains("at least 1 ms")),
        "{zero:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_ticks_until_cancelled_then_never_again() {
    let rt = runtime();
    let mut probe = rt.probe();
    let a = spawn(&rt).await;
    let to = probe.id().get();
    let t = timer(
        &a,
        EventCall::SendInterval {
            to,
            period_ms: 2,
            seq: 7,
        },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(next_record(&mut probe).await, 7);
    }
    assert_eq!(ev(&a, EventCall::Cancel(t)).await, Reply::Bool(true));
    let before = drain_to_marker(&a, &mut probe, 99).await;
    assert!(before.iter().all(|s| *s == 7), "{before:?}");
    probe.refute_receive(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_die_with_their_owner() {
    let rt = runtime();
    let mut probe = rt.probe();
    let owner = spawn(&rt).await;
    let to = probe.id().get();
    timer(
        &owner,
        EventCall::SendInterval {
            to,
            period_ms: 2,
            seq: 7,
        },
    )
    .await;
    timer(
        &owner,
        EventCall::SendAfter {
            to,
            delay_ms: 40,
            seq: 8,
        },
    )
    .await;
    assert_eq!(next_record(&mut probe).await, 7);
    owner.cast(&Cast::Panic("boom".into())).await.unwrap();
    assert!(matches!(owner.wait_exit().await, ExitReason::Trap(_)));
    let other = spawn(&rt).await;
    let before = drain_to_marker(&other, &mut probe, 99).await;
    assert!(before.iter().all(|s| *s == 7), "{before:?}");
    probe.refute_receive(Duration::from_millis(100)).await;
}

async fn history(actor: &ActorRef) -> Vec<u64> {
    match call(actor, Call::History).await {
        Reply::History(h) => h.into_iter().map(|(_, s)| s).collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_dispatch_reaches_every_member_and_r1_the_dead_leave_their_groups() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let b = spawn(&rt).await;
    assert_eq!(ev(&a, EventCall::Join("g".into())).await, Reply::Ok);
    assert_eq!(ev(&b, EventCall::Join("g".into())).await, Reply::Ok);
    assert_eq!(
        ev(&a, EventCall::Join("g".into())).await,
        Reply::Ok,
        "twice"
    );
    let (ai, bi) = (a.id(), b.id());
    assert_eq!(
        rt.members("g").unwrap(),
        [ai, bi],
        "each once, in join order"
    );
    let sent = rt.dispatch("g", &Cast::Record(5)).await.unwrap();
    assert_eq!(
        sent,
        Fanout {
            delivered: 2,
            dead_letters: 0
        }
    );
    let from_a = ev(
        &a,
        EventCall::Dispatch {
            group: "g".into(),
            seq: 6,
        },
    )
    .await;
    assert_eq!(
        from_a,
        Reply::Text("2/0".into()),
        "a member dispatching reaches itself too"
    );
    assert_eq!(history(&a).await, [5, 6]);
    assert_eq!(history(&b).await, [5, 6]);
    // Memberships count: one leave keeps a in.
    assert_eq!(
        ev(&a, EventCall::Leave("g".into())).await,
        Reply::Bool(true)
    );
    assert_eq!(rt.members("g").unwrap(), [ai, bi]);
    assert_eq!(
        ev(&a, EventCall::Leave("g".into())).await,
        Reply::Bool(true)
    );
    assert_eq!(
        ev(&a, EventCall::Leave("g".into())).await,
        Reply::Bool(false)
    );
    assert_eq!(rt.members("g").unwrap(), [bi]);
    // A dead member is out of its groups by the time anyone sees it exit.
    b.stop(ExitReason::Shutdown).await;
    assert_eq!(rt.members("g").unwrap(), []);
    let none = rt.dispatch("g", &Cast::Record(7)).await.unwrap();
    assert_eq!(none, Fanout::default());
    let bad = ev(&a, EventCall::Join(String::new())).await;
    assert!(
        matches!(&bad, Reply::Err(e) if e.contains("Invalid")),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_matches_wildcards_once_per_subscriber_and_ends_with_the_subscriber() {
    let rt = runtime();
    let mut probe = rt.probe();
    probe.subscribe("orders.*").unwrap();
    let a = spawn(&rt).await;
    assert_eq!(
        ev(&a, EventCall::Subscribe("orders.>".into())).await,
        Reply::Ok
    );
    assert_eq!(
        ev(&a, EventCall::Subscribe("orders.*".into())).await,
        Reply::Ok
    );
    let two = rt.publish("orders.eu", &Cast::Record(1)).await.unwrap();
    assert_eq!(
        two,
        Fanout {
            delivered: 2,
            dead_letters: 0
        },
        "a once despite two patterns"
    );
    let one = rt
        .publish("orders.eu.paid", &Cast::Record(2))
        .await
        .unwrap();
    assert_eq!(one.delivered, 1, "`*` is one token; `>` is the rest");
    let none = rt.publish("orders", &Cast::Record(3)).await.unwrap();
    assert_eq!(none.delivered, 0, "`>` needs at least one token");
    assert_eq!(next_record(&mut probe).await, 1);
    assert_eq!(history(&a).await, [1, 2]);
    // broadcast-from skips the sender.
    let b = ev(
        &a,
        EventCall::BroadcastFrom {
            topic: "orders.us".into(),
            seq: 4,
        },
    )
    .await;
    assert_eq!(b, Reply::Text("1/0".into()));
    assert_eq!(next_record(&mut probe).await, 4);
    assert_eq!(history(&a).await, [1, 2]);
    let p = ev(
        &a,
        EventCall::Publish {
            topic: "orders.us".into(),
            seq: 5,
        },
    )
    .await;
    assert_eq!(p, Reply::Text("2/0".into()));
    assert_eq!(
        ev(&a, EventCall::Unsubscribe("orders.*".into())).await,
        Reply::Bool(true)
    );
    assert_eq!(
        ev(&a, EventCall::Unsubscribe("orders.*".into())).await,
        Reply::Bool(false)
    );
    // The subscriber's death ends its subscriptions.
    a.stop(ExitReason::Shutdown).await;
    let after = rt
        .publish("orders.eu.paid", &Cast::Record(6))
        .await
        .unwrap();
    assert_eq!(after, Fanout::default());
    // Malformed topics and patterns are refused with the reason.
    for (topic, why) in [
        ("orders.*", "wildcard"),
        ("a..b", "empty token"),
        ("", "1 to 255"),
    ] {
        let r = rt.publish(topic, &Cast::Record(0)).await;
        assert!(
            matches!(&r, Err(foundation::EventError::Invalid(m)) if m.contains(why)),
            "{topic}: {r:?}"
        );
    }
    for (pattern, why) in [("a.>.b", "last token"), ("a.b*", "whole tokens")] {
        let r = probe.subscribe(pattern);
        assert!(
            matches!(&r, Err(foundation::EventError::Invalid(m)) if m.contains(why)),
            "{pattern}: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_subscriber_is_a_counted_dead_letter_not_a_silent_drop() {
    let mut b = builder();
    b.send_timeout(Duration::from_millis(50));
    let rt = runtime_with(&b);
    let sub = rt
        .spawn_with(ActorOptions::new("testactor").mailbox(1), &Args::default())
        .await
        .unwrap();
    assert_eq!(ev(&sub, EventCall::Subscribe("t".into())).await, Reply::Ok);
    let gate = spawn(&rt).await;
    block(&sub, &gate).await;
    let first = rt.publish("t", &Cast::Record(1)).await.unwrap();
    assert_eq!(
        first,
        Fanout {
            delivered: 1,
            dead_letters: 0
        },
        "fills the mailbox"
    );
    let second = rt.publish("t", &Cast::Record(2)).await.unwrap();
    assert_eq!(
        second,
        Fanout {
            delivered: 0,
            dead_letters: 1
        }
    );
    assert_eq!(rt.dead_letters(), 1);
    gate.cast(&Cast::Release("go".into())).await.unwrap();
    assert_eq!(history(&sub).await, [1]);
    // Too large is refused before anything is sent.
    let mut small = builder();
    small.max_message_size(16);
    let rt2 = runtime_with(&small);
    let big = rt2.publish("t", &Cast::Release("x".repeat(64))).await;
    assert!(
        matches!(big, Err(foundation::EventError::TooLarge(_))),
        "{big:?}"
    );
}

/// NATS subject matching, by a second, recursive definition.
fn reference(p: &[&str], t: &[&str]) -> bool {
    match (p.split_first(), t.split_first()) {
        (None, None) => true,
        (Some((&">", [])), Some(_)) => true,
        (Some((&"*", pr)), Some((_, tr))) => reference(pr, tr),
        (Some((a, pr)), Some((b, tr))) if a == b => reference(pr, tr),
        _ => false,
    }
}

#[test]
fn topic_matching_agrees_with_a_reference_matcher() {
    let token = prop_oneof![Just("a"), Just("b"), Just("ab")];
    let ptoken = prop_oneof![Just("a"), Just("b"), Just("ab"), Just("*"), Just(">")];
    let topics = proptest::collection::vec(token, 1..5);
    // `>` only as the last token: other patterns are refused at subscribe.
    let patterns = proptest::collection::vec(ptoken, 1..5)
        .prop_filter("`>` last", |p| p.iter().rev().skip(1).all(|t| *t != ">"));
    let mut runner = TestRunner::new(Config::with_cases(2000));
    runner
        .run(&(patterns, topics), |(p, t)| {
            let (pattern, topic) = (p.join("."), t.join("."));
            prop_assert_eq!(
                foundation::topic_matches(&pattern, &topic),
                reference(&p, &t),
                "{} vs {}",
                pattern,
                topic
            );
            Ok(())
        })
        .unwrap();
}

/// An interval whose sends are held back keeps its schedule: the ticks that missed
/// their time are skipped and counted as dead letters, so the shortfall shows
/// (before, a 1 ms interval to a full mailbox produced one tick per send timeout and
/// nothing counted the rest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_held_back_counts_the_ticks_it_skips() {
    let mut b = builder();
    b.send_timeout(Duration::from_millis(200));
    let rt = runtime_with(&b);
    let gate = spawn(&rt).await;
    let target = rt
        .spawn_with(ActorOptions::new("testactor").mailbox(1), &Args::default())
        .await
        .unwrap();
    block(&target, &gate).await;
    target.try_cast(&Cast::Record(0)).unwrap();
    let owner = spawn(&rt).await;
    let before = rt.dead_letters();
    timer(
        &owner,
        EventCall::SendInterval {
            to: target.id().get(),
            period_ms: 1,
            seq: 1,
        },
    )
    .await;
    // With the mailbox full each send waits its 200 ms; the ticks due meanwhile are
    // counted as they are skipped: a hundred in about 0.2 s. Counting only the sends
    // that timed out (five a second) would take 20 s: the 5 s bound tells them apart
    // with room for a slow machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rt.dead_letters() - before < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} dead letters",
            rt.dead_letters() - before
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    owner.kill();
    gate.cast(&Cast::Release("go".into())).await.unwrap();
}
