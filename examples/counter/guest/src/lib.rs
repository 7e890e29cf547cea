//! Example actor: a counter. Casts change it, calls read it.

use foundation_sdk::{Actor, CallResult, Caller, ExitReason, Flow};
use serde::{Deserialize, Serialize};

/// Init arguments (the manifest's `args` table).
#[derive(Deserialize, Debug)]
pub struct Args {
    #[serde(default)]
    start: i64,
}

/// Fire-and-forget updates.
#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    Add(i64),
    Reset,
}

/// Requests with a reply (always an `i64`: the counter's value).
#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    Get,
    AddAndGet(i64),
}

struct Counter {
    value: i64,
}

impl Actor for Counter {
    type Args = Args;
    type Call = Call;
    type Reply = i64;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        foundation_sdk::log::info(&format!("counter starting at {}", args.start));
        Ok(Counter { value: args.start })
    }

    fn handle_call(&mut self, msg: Call, _from: Caller) -> CallResult<i64> {
        match msg {
            Call::Get => {}
            Call::AddAndGet(n) => self.value += n,
        }
        CallResult::Reply(self.value)
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match msg {
            Cast::Add(n) => self.value += n,
            Cast::Reset => self.value = 0,
        }
        Flow::Continue
    }

    fn terminate(&mut self, reason: ExitReason) {
        foundation_sdk::log::info(&format!("counter stopping at {} ({reason})", self.value));
    }
}

foundation_sdk::export_actor!(Counter);
