//! Example actors: "pong" answers every ball; "ping" finds "pong" by name, plays a
//! number of rounds with casts, then asks pong for its count with a call.

use std::time::Duration;

use foundation_sdk::{Actor, ActorId, CallResult, Caller, Flow};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Debug)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Args {
    /// Serves balls.
    Pong,
    /// Plays `rounds` rounds against the actor named `peer`.
    Ping { peer: String, rounds: u64 },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    /// Sent by ping to itself from `init`, so play starts once init has returned.
    Serve,
    Ball {
        n: u64,
        from: ActorId,
    },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    /// How many balls this actor has received.
    Count,
}

enum Player {
    Pong {
        received: u64,
    },
    Ping {
        peer: String,
        rounds: u64,
        received: u64,
        pong: Option<ActorId>,
    },
}

impl Actor for Player {
    type Args = Args;
    type Call = Call;
    type Reply = u64;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        Ok(match args {
            Args::Pong => Player::Pong { received: 0 },
            Args::Ping { peer, rounds } => {
                foundation_sdk::cast(foundation_sdk::self_id(), &Cast::Serve)
                    .map_err(|e| e.to_string())?;
                Player::Ping {
                    peer,
                    rounds,
                    received: 0,
                    pong: None,
                }
            }
        })
    }

    fn handle_call(&mut self, Call::Count: Call, _from: Caller) -> CallResult<u64> {
        match self {
            Player::Pong { received } | Player::Ping { received, .. } => {
                CallResult::Reply(*received)
            }
        }
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        let me = foundation_sdk::self_id();
        match (self, msg) {
            (Player::Pong { received }, Cast::Ball { n, from }) => {
                if *received == 0 {
                    // Plain stdout works too: the host logs it, tagged with this actor.
                    println!("first ball, from {from}");
                }
                *received += 1;
                // The sender may have finished and stopped; that is not pong's problem.
                let _ = foundation_sdk::cast(from, &Cast::Ball { n, from: me });
            }
            (Player::Ping { peer, pong, .. }, Cast::Serve) => {
                let Some(target) = foundation_sdk::whereis(peer) else {
                    return Flow::Stop(foundation_sdk::ExitReason::Custom(format!(
                        "no actor named {peer}"
                    )));
                };
                *pong = Some(target);
                foundation_sdk::log::info(&format!("serving to {peer} ({target})"));
                foundation_sdk::cast(target, &Cast::Ball { n: 1, from: me }).expect("serve");
            }
            (
                Player::Ping {
                    rounds,
                    received,
                    pong: Some(pong),
                    peer,
                },
                Cast::Ball { n, .. },
            ) => {
                *received += 1;
                if n < *rounds {
                    foundation_sdk::cast(*pong, &Cast::Ball { n: n + 1, from: me })
                        .expect("return the ball");
                } else {
                    let count: u64 =
                        foundation_sdk::call(*pong, &Call::Count, Duration::from_secs(5))
                            .expect("count");
                    foundation_sdk::log::info(&format!(
                        "finished {rounds} rounds; {peer} received {count} balls"
                    ));
                }
            }
            (_, msg) => foundation_sdk::log::warn(&format!("unexpected {msg:?}")),
        }
        Flow::Continue
    }
}

foundation_sdk::export_actor!(Player);
