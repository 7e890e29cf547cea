//! Property test: random supervisors (strategy, restart types, intensity) under random
//! schedules of crashes, normal exits and kills, checked after every event against a
//! small reference model of OTP's supervisor: which children run, which were
//! restarted, which left the child list, and when the supervisor gives up (S2-S6).
//!
//! 512 cases by default; `FOUNDATION_PROPTEST_CASES=5000 cargo test -p
//! foundation-host --test it model` runs more.

use std::time::Duration;

use foundation::{ChildInfo, ChildSpec, ExitReason, Restart, Strategy, SupervisorSpec};
use proptest::prelude::{Just, prop_assert, prop_assert_eq, prop_oneof};
use proptest::strategy::Strategy as PropStrategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Crash,
    Normal,
    Kill,
}

#[derive(Debug, Clone)]
struct Scenario {
    strategy: Strategy,
    max_restarts: u32,
    children: Vec<Restart>,
    events: Vec<(usize, Event)>,
}

fn scenario() -> impl PropStrategy<Value = Scenario> {
    let strategy = prop_oneof![
        Just(Strategy::OneForOne),
        Just(Strategy::OneForAll),
        Just(Strategy::RestForOne)
    ];
    let restart = prop_oneof![
        3 => Just(Restart::Permanent),
        2 => Just(Restart::Transient),
        1 => Just(Restart::Temporary)
    ];
    let event = prop_oneof![Just(Event::Crash), Just(Event::Normal), Just(Event::Kill)];
    (
        strategy,
        0u32..4,
        proptest::collection::vec(restart, 1..5),
        proptest::collection::vec((0usize..8, event), 1..8),
    )
        .prop_map(|(strategy, max_restarts, children, events)| Scenario {
            strategy,
            max_restarts,
            children,
            events,
        })
}

/// The reference model: OTP's supervisor reduced to what the test observes.
#[derive(Debug, Clone)]
struct ModelChild {
    id: String,
    restart: Restart,
    running: bool,
    /// How many times it has been started.
    starts: u32,
}

#[derive(Debug)]
struct Model {
    strategy: Strategy,
    max_restarts: u32,
    restarts: u32,
    alive: bool,
    children: Vec<ModelChild>,
}

impl Model {
    /// Child `i` exits after `event`; returns nothing, updates the state.
    fn exit(&mut self, i: usize, event: Event) {
        self.children[i].running = false;
        let restart = match self.children[i].restart {
            Restart::Permanent => true,
            Restart::Transient => event != Event::Normal,
            Restart::Temporary => false,
        };
        if !restart {
            if self.children[i].restart == Restart::Temporary {
                self.children.remove(i);
            }
            return;
        }
        // S6: more than max_restarts restarts (all within the window here) and the
        // supervisor stops everything and exits `shutdown`.
        self.restarts += 1;
        if self.restarts > self.max_restarts {
            self.alive = false;
            for c in &mut self.children {
                c.running = false;
            }
            return;
        }
        let range = match self.strategy {
            Strategy::OneForOne => i..i + 1,
            Strategy::OneForAll => 0..self.children.len(),
            Strategy::RestForOne => i..self.children.len(),
        };
        // Every child in the range is stopped (if running) and started again, in
        // order, including ones that had exited without a restart.
        for c in &mut self.children[range] {
            c.running = true;
            c.starts += 1;
        }
    }
}

fn reason_ok(event: Event, reason: &ExitReason) -> bool {
    match event {
        Event::Crash => matches!(reason, ExitReason::Trap(_)),
        Event::Normal => *reason == ExitReason::Normal,
        Event::Kill => *reason == ExitReason::Killed,
    }
}

async fn check(rt: &foundation::Runtime, s: Scenario) -> Result<(), TestCaseError> {
    let mut probe = rt.probe();
    let children: Vec<ChildSpec> = s
        .children
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let args = foundation::codec::encode(&Args::default()).unwrap();
            ChildSpec::actor(&format!("c{i}"), "testactor", args).restart(*r)
        })
        .collect();
    let spec = SupervisorSpec {
        strategy: s.strategy,
        max_restarts: s.max_restarts,
        max_seconds: Duration::from_secs(600),
        children,
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, None).await.unwrap();
    let mut model = Model {
        strategy: s.strategy,
        max_restarts: s.max_restarts,
        restarts: 0,
        alive: true,
        children: s
            .children
            .iter()
            .enumerate()
            .map(|(i, r)| ModelChild {
                id: format!("c{i}"),
                restart: *r,
                running: true,
                starts: 1,
            })
            .collect(),
    };
    let mut seen: Vec<ChildInfo> = rt.which_children(&sup).await.unwrap();

    for (pick, event) in s.events {
        let running: Vec<usize> = (0..model.children.len())
            .filter(|&i| model.children[i].running)
            .collect();
        if !model.alive || running.is_empty() {
            break;
        }
        let i = running[pick % running.len()];
        let info = seen.iter().find(|c| c.id == model.children[i].id).unwrap();
        let instance = foundation::ActorId::from_raw(info.actor.unwrap()).unwrap();
        let target = rt.actor(instance).unwrap();
        probe.monitor(instance);
        match event {
            Event::Crash => target.cast(&Cast::Panic("model".into())).await.unwrap(),
            Event::Normal => target.cast(&Cast::Stop).await.unwrap(),
            Event::Kill => target.kill(),
        }
        // The DOWN comes after the exit signal reached the supervisor, which handles
        // signals before requests: `which_children` below sees the outcome.
        let down = probe.recv_down(LONG).await.unwrap();
        prop_assert_eq!(down.actor, instance.get());
        prop_assert!(
            reason_ok(event, &down.reason),
            "{event:?} gave {:?}",
            down.reason
        );
        let before: Vec<(String, u32)> = model
            .children
            .iter()
            .map(|c| (c.id.clone(), c.starts))
            .collect();
        model.exit(i, event);

        if !model.alive {
            prop_assert!(rt.which_children(&sup).await.is_err());
            prop_assert_eq!(sup.wait_exit().await, ExitReason::Shutdown);
            break;
        }
        let now = rt.which_children(&sup).await.unwrap();
        let ids: Vec<&str> = now.iter().map(|c| c.id.as_str()).collect();
        let expected: Vec<&str> = model.children.iter().map(|c| c.id.as_str()).collect();
        prop_assert_eq!(ids, expected, "child list");
        for (c, m) in now.iter().zip(&model.children) {
            prop_assert_eq!(c.actor.is_some(), m.running, "{} running", c.id);
            let old = seen.iter().find(|o| o.id == c.id).and_then(|o| o.actor);
            let restarted = before
                .iter()
                .find(|(id, _)| *id == c.id)
                .is_some_and(|(_, n)| *n != m.starts);
            if m.running {
                prop_assert_eq!(c.actor != old, restarted, "{} restarted", c.id);
            }
        }
        seen = now;
    }
    if sup.exit_reason().is_none() {
        prop_assert_eq!(sup.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    }
    prop_assert_eq!(rt.actor_count(), 0, "everything stopped");
    Ok(())
}

#[test]
fn supervisors_match_the_reference_model() {
    let cases = std::env::var("FOUNDATION_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rt = {
        let _guard = tokio.enter();
        runtime()
    };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&scenario(), |s| tokio.block_on(check(&rt, s)));
    if let Err(e) = result {
        panic!("{e}");
    }
}
