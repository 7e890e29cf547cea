//! Example: a bank whose state survives the host process.
//!
//! - An **account** keeps its balance in the durable store `bank`, under
//!   `balance/<name>`. It is the only writer of its balance, so a read-modify-write
//!   is safe; each change records the transfer it belongs to (`applied/<name>/<id>`)
//!   in the same transaction (`set-many`), so applying a transfer twice changes the
//!   balance once.
//! - The **teller** moves money: it numbers the transfer (an atomic `increment`),
//!   writes it to its journal (`transfer/<id>`), takes it from one account, gives it
//!   to the other, then deletes the journal entry. If the host dies in between, the
//!   teller finishes the journaled transfers when it starts again: nothing is lost
//!   or counted twice.
//! - The **clerk** asks for a random transfer every few milliseconds and logs the
//!   balances now and then; their total never changes.

use std::time::Duration;

use foundation_sdk::kv::{Bucket, KvError};
use foundation_sdk::{Actor, ActorId, CallResult, Caller, Flow, events, log};
use serde::{Deserialize, Serialize};

const STORE: &str = "bank";
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize, Debug)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Args {
    Account {
        name: String,
        opening: u64,
    },
    Teller,
    Clerk {
        accounts: Vec<String>,
        period_ms: u32,
        report_every: u64,
    },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    /// An account's balance.
    Balance,
    /// Account: apply transfer `id`'s change of `delta` once; the new balance, or why
    /// not (insufficient funds).
    Apply { id: u64, delta: i64 },
    /// Teller: move `amount` from one account to another; the transfer's id.
    Transfer {
        from: String,
        to: String,
        amount: u64,
    },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Reply {
    Balance(u64),
    Applied(Result<u64, String>),
    Transferred(Result<u64, String>),
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    /// Clerk: time for the next transfer.
    Tick,
}

/// A transfer as the teller's journal holds it until it is done.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct Transfer {
    from: String,
    to: String,
    amount: u64,
}

#[derive(Debug)]
pub enum Bank {
    Account {
        name: String,
        store: Bucket,
    },
    Teller {
        store: Bucket,
    },
    Clerk {
        accounts: Vec<String>,
        report_every: u64,
        done: u64,
        refused: u64,
        seed: u64,
    },
}

fn kv(e: KvError) -> String {
    format!("store {STORE}: {e}")
}

fn whereis(name: &str) -> Result<ActorId, String> {
    foundation_sdk::whereis(name).ok_or_else(|| format!("no actor named {name}"))
}

impl Bank {
    fn apply(name: &str, store: &Bucket, id: u64, delta: i64) -> Result<u64, String> {
        let key = format!("balance/{name}");
        let balance: u64 = store.get(&key).map_err(kv)?.unwrap_or(0);
        let marker = format!("applied/{name}/{id}");
        if store.exists(&marker).map_err(|e| kv(e.into()))? {
            return Ok(balance);
        }
        let new = balance
            .checked_add_signed(delta)
            .ok_or_else(|| format!("{name} has {balance}, not enough for {}", -delta))?;
        store
            .set_many(&[(key.as_str(), new), (marker.as_str(), 0)])
            .map_err(kv)?;
        Ok(new)
    }

    /// Asks `account` to apply transfer `id`'s `delta`: its answer (the new balance,
    /// or its refusal). An account that cannot be reached is not an answer: the
    /// teller crashes, and its supervisor restarts it, which finishes the journaled
    /// transfer (OTP's "let it crash").
    fn apply_at(account: &str, id: u64, delta: i64) -> Result<u64, String> {
        let to = whereis(account).unwrap_or_else(|e| panic!("transfer {id}: {e}"));
        let reply: Reply = foundation_sdk::call(to, &Call::Apply { id, delta }, TIMEOUT)
            .unwrap_or_else(|e| panic!("transfer {id}: {account} did not answer: {e}"));
        match reply {
            Reply::Applied(r) => r,
            other => panic!("transfer {id}: {account} answered {other:?}"),
        }
    }

    /// Takes the money from `from` and gives it to `to`, for journal entry `id`,
    /// then forgets the entry. Safe to run again for the same entry.
    fn finish(store: &Bucket, id: u64, t: &Transfer) -> Result<(), String> {
        let amount = t.amount as i64;
        let journal = format!("transfer/{id}");
        if let Err(why) = Self::apply_at(&t.from, id, -amount) {
            // Refused (not enough money): the transfer does not happen.
            store.delete(&journal).map_err(|e| kv(e.into()))?;
            return Err(why);
        }
        if let Err(why) = Self::apply_at(&t.to, id, amount) {
            panic!("transfer {id}: {} refused a deposit: {why}", t.to);
        }
        store.delete(&journal).map_err(|e| kv(e.into()))
    }
}

impl Actor for Bank {
    type Args = Args;
    type Call = Call;
    type Reply = Reply;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        match args {
            Args::Account { name, opening } => {
                let store = Bucket::open(STORE).map_err(|e| kv(e.into()))?;
                let key = format!("balance/{name}");
                // Only the first start ever opens the account.
                if !store.exists(&key).map_err(|e| kv(e.into()))? {
                    store.set(&key, &opening).map_err(kv)?;
                }
                Ok(Bank::Account { name, store })
            }
            Args::Teller => {
                let store = Bucket::open(STORE).map_err(|e| kv(e.into()))?;
                // Before anyone can ask for a new transfer (the supervisor starts the
                // clerk after this returns), finish the interrupted ones.
                Self::recover(&store);
                Ok(Bank::Teller { store })
            }
            Args::Clerk {
                accounts,
                period_ms,
                report_every,
            } => {
                events::send_interval(
                    foundation_sdk::self_id(),
                    Duration::from_millis(period_ms.into()),
                    &Cast::Tick,
                )
                .map_err(|e| format!("timer: {e:?}"))?;
                let clerk = Bank::Clerk {
                    accounts,
                    report_every,
                    done: 0,
                    refused: 0,
                    seed: 0x9e37_79b9_7f4a_7c15,
                };
                clerk.report("at start");
                Ok(clerk)
            }
        }
    }

    fn handle_call(&mut self, msg: Call, _from: Caller) -> CallResult<Reply> {
        let reply = match (&*self, msg) {
            (Bank::Account { name, store }, Call::Balance) => {
                let balance = store.get(&format!("balance/{name}")).ok().flatten();
                Reply::Balance(balance.unwrap_or(0))
            }
            (Bank::Account { name, store }, Call::Apply { id, delta }) => {
                Reply::Applied(Self::apply(name, store, id, delta))
            }
            (Bank::Teller { store }, Call::Transfer { from, to, amount }) => {
                Reply::Transferred((|| {
                    let id = store
                        .increment("next-transfer", 1)
                        .map_err(|e| kv(e.into()))? as u64;
                    let t = Transfer { from, to, amount };
                    store.set(&format!("transfer/{id}"), &t).map_err(kv)?;
                    Self::finish(store, id, &t).map(|()| id)
                })())
            }
            (_, other) => {
                log::warn(&format!("{other:?} is not for this actor"));
                Reply::Transferred(Err("not for this actor".into()))
            }
        };
        CallResult::Reply(reply)
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match (self, msg) {
            (clerk @ Bank::Clerk { .. }, Cast::Tick) => {
                let Bank::Clerk {
                    accounts,
                    report_every,
                    done,
                    refused,
                    seed,
                } = clerk
                else {
                    unreachable!()
                };
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let n = accounts.len() as u64;
                let from = accounts[(*seed % n) as usize].clone();
                let to = accounts[((*seed / n) % n) as usize].clone();
                let amount = 1 + (*seed >> 32) % 100;
                if from != to {
                    let teller = match whereis("teller") {
                        Ok(t) => t,
                        Err(_) => return Flow::Continue,
                    };
                    let reply: Result<Reply, _> =
                        foundation_sdk::call(teller, &Call::Transfer { from, to, amount }, TIMEOUT);
                    match reply {
                        Ok(Reply::Transferred(Ok(_))) => {
                            *done += 1;
                            if *done % *report_every == 0 {
                                let (d, r) = (*done, *refused);
                                clerk.report(&format!("after {d} transfers ({r} refused)"));
                            }
                        }
                        _ => *refused += 1,
                    }
                }
            }
            (_, other) => log::warn(&format!("{other:?} is not for this actor")),
        }
        Flow::Continue
    }
}

impl Bank {
    /// Finishes every transfer the journal holds (the host died during them).
    fn recover(store: &Bucket) {
        let pending: Vec<String> = store
            .keys()
            .filter_map(Result::ok)
            .filter(|k| k.starts_with("transfer/"))
            .collect();
        for key in &pending {
            let id: u64 = key["transfer/".len()..].parse().unwrap_or(0);
            if let Ok(Some(t)) = store.get::<Transfer>(key) {
                let outcome = Self::finish(store, id, &t);
                log::info(&format!(
                    "finished interrupted transfer {id} {t:?}: {outcome:?}"
                ));
            }
        }
        if !pending.is_empty() {
            log::info(&format!(
                "recovered {} interrupted transfer(s)",
                pending.len()
            ));
        }
    }

    /// Logs every account's balance and their total.
    fn report(&self, when: &str) {
        let Bank::Clerk { accounts, .. } = self else {
            return;
        };
        let mut total = 0;
        let mut line = String::new();
        for name in accounts {
            let balance = whereis(name)
                .ok()
                .and_then(|a| foundation_sdk::call::<_, Reply>(a, &Call::Balance, TIMEOUT).ok());
            match balance {
                Some(Reply::Balance(b)) => {
                    total += b;
                    line.push_str(&format!("{name} {b}, "));
                }
                _ => line.push_str(&format!("{name} ?, ")),
            }
        }
        log::info(&format!("balances {when}: {line}total {total}"));
    }
}

foundation_sdk::export_actor!(Bank);
