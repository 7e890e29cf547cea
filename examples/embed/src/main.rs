//! Embeds the foundation runtime: registers the counter component in code, spawns two
//! counters, casts and calls them from Rust with typed messages, and shuts down.
//!
//! Build the guest first, then run:
//!   cargo build --release --target wasm32-wasip2 -p counter-guest --target-dir target/guests
//!   cargo run -p embed-example [path/to/counter_guest.wasm]

use std::time::Duration;

use anyhow::{Context, Result};
use foundation::{ActorOptions, Runtime};
use serde::{Deserialize, Serialize};

/// The counter's messages, mirrored from `examples/counter/guest`: the encoding is
/// MessagePack by field and variant name, so the types only need the same shape.
#[derive(Serialize)]
enum Cast {
    Add(i64),
}

#[derive(Serialize)]
enum Call {
    Get,
    AddAndGet(i64),
}

#[derive(Serialize, Deserialize)]
struct Args {
    start: i64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/guests/wasm32-wasip2/release/counter_guest.wasm".into());

    let runtime = Runtime::builder().build()?;
    runtime.add_component("counter", &path).with_context(|| {
        format!(
            "build the guest first: see the comment at the top of {}",
            file!()
        )
    })?;

    let a = runtime
        .spawn_with(ActorOptions::new("counter").name("a"), &Args { start: 0 })
        .await?;
    let b = runtime.spawn("counter", &Args { start: 100 }).await?;

    for i in 1..=10 {
        a.cast(&Cast::Add(i)).await?;
    }
    let total: i64 = a.call(&Call::Get, Duration::from_secs(1)).await?;
    let other: i64 = b
        .call(&Call::AddAndGet(total), Duration::from_secs(1))
        .await?;
    println!("a = {total}, b = {other}");
    assert_eq!((total, other), (55, 155));

    let by_name = runtime.whereis("a").context("a is registered")?;
    assert_eq!(by_name.id(), a.id());

    runtime.shutdown().await;
    println!("a exited: {:?}", a.exit_reason());
    Ok(())
}
