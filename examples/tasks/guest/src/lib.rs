//! Example: "primes" hands seconds of CPU work to a supervised task and stays
//! responsive; "pinger" calls it in a loop meanwhile and reports how fast it answered.

use std::time::{Duration, Instant};

use foundation_sdk::{Actor, CallResult, Caller, Flow, Info, Task};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Debug)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Args {
    /// Counts the primes below `limit` in a task of `component` (this component's
    /// name in the manifest).
    Primes { component: String, limit: u64 },
    /// Calls the actor named `target` in a loop until told the work is done.
    Pinger { target: String },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    Start,
    Tick,
    Done,
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    Ping,
}

enum Role {
    Primes {
        component: String,
        limit: u64,
        task: Option<Task>,
        started: Option<Instant>,
    },
    Pinger {
        target: String,
        pings: u64,
        slowest: Duration,
        done: bool,
    },
}

impl Actor for Role {
    type Args = Args;
    type Call = Call;
    type Reply = String;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        let me = foundation_sdk::self_id();
        Ok(match args {
            Args::Primes { component, limit } => {
                foundation_sdk::cast(me, &Cast::Start).map_err(|e| e.to_string())?;
                Role::Primes {
                    component,
                    limit,
                    task: None,
                    started: None,
                }
            }
            Args::Pinger { target } => {
                foundation_sdk::cast(me, &Cast::Tick).map_err(|e| e.to_string())?;
                Role::Pinger {
                    target,
                    pings: 0,
                    slowest: Duration::ZERO,
                    done: false,
                }
            }
        })
    }

    fn handle_call(&mut self, Call::Ping: Call, _from: Caller) -> CallResult<String> {
        CallResult::Reply("pong".into())
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match (self, msg) {
            (
                Role::Primes {
                    component,
                    limit,
                    task,
                    started,
                },
                Cast::Start,
            ) => match foundation_sdk::start_task(component, "count_primes", limit) {
                Ok(t) => {
                    foundation_sdk::log::info(&format!(
                        "counting the primes below {limit} in task {}",
                        t.id
                    ));
                    *task = Some(t);
                    *started = Some(Instant::now());
                }
                Err(e) => foundation_sdk::log::error(&format!("cannot start the task: {e:?}")),
            },
            (
                Role::Pinger {
                    target,
                    pings,
                    slowest,
                    done: false,
                },
                Cast::Tick,
            ) => {
                if let Some(to) = foundation_sdk::whereis(target) {
                    let t0 = Instant::now();
                    match foundation_sdk::call::<_, String>(to, &Call::Ping, Duration::from_secs(5))
                    {
                        Ok(_) => {
                            *pings += 1;
                            *slowest = (*slowest).max(t0.elapsed());
                        }
                        Err(e) => foundation_sdk::log::warn(&format!("ping failed: {e}")),
                    }
                }
                let _ = foundation_sdk::cast(foundation_sdk::self_id(), &Cast::Tick);
            }
            (
                Role::Pinger {
                    pings,
                    slowest,
                    done,
                    ..
                },
                Cast::Done,
            ) => {
                *done = true;
                foundation_sdk::log::info(&format!(
                    "{pings} pings answered while the task ran; slowest {slowest:?}"
                ));
            }
            (_, msg) => foundation_sdk::log::debug(&format!("ignored {msg:?}")),
        }
        Flow::Continue
    }

    fn handle_info(&mut self, info: Info) -> Flow {
        if let (
            Role::Primes {
                limit,
                task: Some(task),
                started,
                ..
            },
            Info::TaskDone { monitor, result },
        ) = (&*self, &info)
            && *monitor == task.monitor
        {
            let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
            match result
                .as_ref()
                .map(|bytes| foundation_sdk::codec::decode::<u64>(bytes))
            {
                Ok(Ok(count)) => foundation_sdk::log::info(&format!(
                    "the task found {count} primes below {limit} in {elapsed:?}"
                )),
                other => foundation_sdk::log::error(&format!("the task failed: {other:?}")),
            }
            if let Some(pinger) = foundation_sdk::whereis("pinger") {
                let _ = foundation_sdk::cast(pinger, &Cast::Done);
            }
        }
        Flow::Continue
    }
}

/// The task functions of this component.
fn tasks(function: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    match function {
        "count_primes" => {
            let limit: u64 = foundation_sdk::codec::decode(input).map_err(|e| e.to_string())?;
            foundation_sdk::codec::encode(&count_primes(limit)).map_err(|e| e.to_string())
        }
        other => Err(format!("no task function {other:?}")),
    }
}

/// Trial division: deliberately CPU-bound.
fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

foundation_sdk::export_actor!(Role, tasks = tasks);
