//! Example: state that survives a crash, the OTP way. The counter keeps its count in
//! a table whose heir is its supervisor. When the counter traps, the supervisor
//! inherits the table, and hands it to the restarted counter before that instance's
//! `init` runs: the new instance finds the table by name, already its own, and counts
//! on from where the old one died.

use std::time::Duration;

use foundation_sdk::tables::{Table, TableError, TableOptions};
use foundation_sdk::{Actor, ActorId, CallResult, Caller, Flow, events, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Debug)]
pub struct Args {
    /// The table's name.
    pub table: String,
    /// Add 1 every this many milliseconds.
    #[serde(default)]
    pub tick_ms: Option<u32>,
    /// Trap when the count reaches a multiple of this.
    #[serde(default)]
    pub crash_every: Option<i64>,
    /// Cast `Started(count)` here from every `init`.
    #[serde(default)]
    pub notify: Option<ActorId>,
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    Add(i64),
    /// Traps this instance.
    Crash,
    /// Sent to `notify` by each instance's `init`, with the count it starts from.
    Started(i64),
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    Get,
}

#[derive(Debug)]
pub struct Counter {
    table: Table,
    crash_every: Option<i64>,
}

const KEY: &str = "count";

impl Actor for Counter {
    type Args = Args;
    type Call = Call;
    type Reply = i64;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        let table = match Table::open(&args.table) {
            // Inherited: the supervisor handed it to this instance already.
            Ok(t) => t,
            Err(TableError::UnknownName(_)) => Table::create(&TableOptions {
                name: Some(args.table.clone()),
                ..TableOptions::default()
            })
            .map_err(|e| format!("creating table {}: {e:?}", args.table))?,
            Err(e) => return Err(format!("opening table {}: {e:?}", args.table)),
        };
        // An inheritance uses the heir up: name the supervisor again.
        if let Some(supervisor) = foundation_sdk::parent() {
            table
                .set_heir(Some((supervisor, b"counter".as_slice())))
                .map_err(|e| format!("setting the heir: {e:?}"))?;
        }
        let count: i64 = table.get(KEY).map_err(|e| format!("{e:?}"))?.unwrap_or(0);
        log::info(&format!(
            "instance {} starts at count {count}",
            foundation_sdk::self_id()
        ));
        if let Some(to) = args.notify {
            let _ = foundation_sdk::cast(to, &Cast::Started(count));
        }
        if let Some(ms) = args.tick_ms {
            let me = foundation_sdk::self_id();
            events::send_interval(me, Duration::from_millis(ms.into()), &Cast::Add(1))
                .map_err(|e| format!("starting the tick: {e:?}"))?;
        }
        Ok(Counter {
            table,
            crash_every: args.crash_every,
        })
    }

    fn handle_call(&mut self, Call::Get: Call, _from: Caller) -> CallResult<i64> {
        CallResult::Reply(self.table.get(KEY).ok().flatten().unwrap_or(0))
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match msg {
            Cast::Add(k) => {
                let n = self
                    .table
                    .update_counter(KEY, k, Some(0))
                    .expect("the counter owns its table");
                if self.crash_every.is_some_and(|every| n % every == 0) {
                    panic!("crashing on purpose at count {n}");
                }
            }
            Cast::Crash => panic!("crash requested"),
            Cast::Started(_) => {}
        }
        Flow::Continue
    }
}

foundation_sdk::export_actor!(Counter);
