//! Example: a price ticker built from a table, a timer and pub/sub.
//!
//! - "feed" owns the table `prices` (an ordered set, protected: everyone reads, only
//!   the feed writes). A timer ticks it; each tick moves every price and publishes the
//!   change on `prices.<symbol>`.
//! - "quote" actors answer `Quote(symbol)` calls straight from the table: no message
//!   to the feed, however many quote actors read at once.
//! - "watcher" subscribes to a pattern (`prices.>`), counts changes, and every
//!   `report_after` changes asks a quote actor for the price it just saw change.

use std::time::Duration;

use foundation_sdk::tables::{Table, TableKind, TableOptions};
use foundation_sdk::{Actor, CallResult, Caller, Flow, events, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Debug)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Args {
    Feed {
        symbols: Vec<String>,
        period_ms: u32,
    },
    Quote,
    Watcher {
        pattern: String,
        report_after: u64,
        quote: String,
    },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    /// The feed's timer.
    Tick,
    /// Published on `prices.<symbol>`: the new price, in hundredths.
    Change { symbol: String, price: u64 },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    /// The symbol's current price in hundredths, read from the table.
    Quote(String),
}

pub enum Ticker {
    Feed {
        table: Table,
        symbols: Vec<String>,
        seed: u64,
    },
    Quote {
        table: Option<Table>,
    },
    Watcher {
        seen: u64,
        report_after: u64,
        quote: String,
    },
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ticker::Feed { .. } => "Feed",
            Ticker::Quote { .. } => "Quote",
            Ticker::Watcher { .. } => "Watcher",
        })
    }
}

impl Actor for Ticker {
    type Args = Args;
    type Call = Call;
    type Reply = Option<u64>;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        match args {
            Args::Feed { symbols, period_ms } => {
                let table = Table::create(&TableOptions {
                    name: Some("prices".into()),
                    kind: TableKind::OrderedSet,
                    ..TableOptions::default()
                })
                .map_err(|e| format!("creating the prices table: {e:?}"))?;
                for s in &symbols {
                    table.insert(s, &10_000u64).map_err(|e| format!("{e:?}"))?;
                }
                let me = foundation_sdk::self_id();
                events::send_interval(me, Duration::from_millis(period_ms.into()), &Cast::Tick)
                    .map_err(|e| format!("starting the tick: {e:?}"))?;
                log::info(&format!(
                    "feeding {} symbols every {period_ms} ms",
                    symbols.len()
                ));
                Ok(Ticker::Feed {
                    table,
                    symbols,
                    seed: 1,
                })
            }
            Args::Quote => Ok(Ticker::Quote { table: None }),
            Args::Watcher {
                pattern,
                report_after,
                quote,
            } => {
                events::subscribe(&pattern).map_err(|e| format!("subscribing: {e:?}"))?;
                Ok(Ticker::Watcher {
                    seen: 0,
                    report_after,
                    quote,
                })
            }
        }
    }

    fn handle_call(&mut self, Call::Quote(symbol): Call, _from: Caller) -> CallResult<Option<u64>> {
        let Ticker::Quote { table } = self else {
            return CallResult::Reply(None);
        };
        // The table may not exist yet (the feed starts it); open it on first use.
        if table.is_none() {
            *table = Table::open("prices").ok();
        }
        let price = table
            .as_ref()
            .and_then(|t| t.get::<u64>(&symbol).ok().flatten());
        CallResult::Reply(price)
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match (self, msg) {
            (
                Ticker::Feed {
                    table,
                    symbols,
                    seed,
                },
                Cast::Tick,
            ) => {
                for symbol in symbols.iter() {
                    // A small deterministic random walk, in hundredths.
                    *seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let step = (*seed >> 33) % 21;
                    let old: u64 = table.get(symbol).ok().flatten().unwrap_or(10_000);
                    let price = (old + step).saturating_sub(10).max(1);
                    table
                        .insert(symbol, &price)
                        .expect("the feed owns the table");
                    let change = Cast::Change {
                        symbol: symbol.clone(),
                        price,
                    };
                    if let Err(e) = events::publish(&format!("prices.{symbol}"), &change) {
                        log::warn(&format!("publish failed: {e:?}"));
                    }
                }
            }
            (
                Ticker::Watcher {
                    seen,
                    report_after,
                    quote,
                },
                Cast::Change { symbol, price },
            ) => {
                *seen += 1;
                if *seen % *report_after == 0 {
                    let quoted = foundation_sdk::whereis(quote).and_then(|q| {
                        foundation_sdk::call::<_, Option<u64>>(
                            q,
                            &Call::Quote(symbol.clone()),
                            Duration::from_secs(1),
                        )
                        .ok()
                        .flatten()
                    });
                    log::info(&format!(
                        "{seen} changes seen; last {symbol} = {}.{:02}; {quote} quotes {}",
                        price / 100,
                        price % 100,
                        quoted.map_or("nothing".to_string(), |q| format!(
                            "{}.{:02}",
                            q / 100,
                            q % 100
                        )),
                    ));
                }
            }
            (me, msg) => log::warn(&format!("{me:?} got an unexpected {msg:?}")),
        }
        Flow::Continue
    }
}

foundation_sdk::export_actor!(Ticker);
