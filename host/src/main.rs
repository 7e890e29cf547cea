//! The `foundation` command: run or check an application manifest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use foundation::{Manifest, Runtime};

/// Hot paths (message buffers, table entries) allocate and free per operation;
/// mimalloc does that faster than glibc's malloc. The library leaves the choice of
/// allocator to its embedder.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "foundation",
    version,
    about = "OTP-style actors as sandboxed Wasm components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the manifest's actors and run until Ctrl-C or SIGTERM, then shut down
    /// gracefully (each actor's `terminate` runs, newest first, with a deadline) and
    /// exit 0. If a top-level actor or supervisor stops (a supervisor gives up, say),
    /// shut down the same way and exit 1.
    Run {
        /// The application manifest (TOML).
        manifest: PathBuf,
        /// Run each component's `build` command first.
        #[arg(long)]
        build: bool,
    },
    /// Validate the manifest and check that every component implements the actor world.
    Check {
        /// The application manifest (TOML).
        manifest: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(async {
            match cli.command {
                Command::Run { manifest, build } => run(&manifest, build).await,
                Command::Check { manifest } => check(&manifest),
            }
        }),
        Err(e) => Err(e).context("starting the tokio runtime"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(path: &Path, build: bool) -> Result<()> {
    let manifest = Manifest::from_file(path)?;
    if build {
        build_components(&manifest).await?;
    }
    let runtime = Runtime::builder().manifest(&manifest).build()?;
    // Installed before start-up, so a stop asked for while the roots start is seen
    // (and does not kill the process with the signal's default action).
    let mut stop = StopSignals::install()?;
    let roots = tokio::select! {
        started = runtime.start(&manifest) => match started {
            Ok(roots) => roots,
            Err(e) => {
                runtime.shutdown().await;
                return Err(e.into());
            }
        },
        signal = stop.recv() => {
            tracing::info!("{signal} during start-up: stopping what has started");
            runtime.shutdown().await;
            tracing::info!("stopped");
            return Ok(());
        }
    };
    tracing::info!(
        manifest = %path.display(),
        actors = runtime.actor_count(),
        "started; Ctrl-C or SIGTERM to stop"
    );
    // The roots are permanent, as an OTP permanent application is: the first to stop,
    // for whatever reason, ends the run.
    let (tx, mut stopped) = tokio::sync::mpsc::unbounded_channel();
    for (name, root) in manifest.roots().zip(roots) {
        let (tx, name) = (tx.clone(), name.to_string());
        tokio::spawn(async move {
            let reason = root.wait_exit().await;
            let _ = tx.send((name, reason));
        });
    }
    drop(tx);
    let failed = tokio::select! {
        signal = stop.recv() => {
            tracing::info!("{signal}: shutting down");
            None
        }
        Some((name, reason)) = stopped.recv() => {
            tracing::error!(root = %name, "top-level {name:?} stopped ({reason}); stopping the application");
            Some((name, reason))
        }
    };
    runtime.shutdown().await;
    tracing::info!("stopped");
    match failed {
        None => Ok(()),
        Some((name, reason)) => bail!("top-level {name:?} stopped ({reason})"),
    }
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the moment they are installed.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    /// Waits for either; says which.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

async fn build_components(manifest: &Manifest) -> Result<()> {
    for c in manifest.build_commands() {
        let cmd = c.command;
        tracing::info!(component = %c.component, "building: {cmd}");
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(c.workdir)
            .status()
            .await
            .with_context(|| {
                format!(
                    "component {:?}: cannot run its build command `{cmd}`",
                    c.component
                )
            })?;
        if !status.success() {
            bail!(
                "{}: component {:?}: build command `{cmd}` failed ({status})",
                c.location,
                c.component
            );
        }
    }
    Ok(())
}

fn check(path: &Path) -> Result<()> {
    let manifest = Manifest::from_file(path)?;
    // Checking compiles every component; the cache makes a later `run` fast.
    let runtime = Runtime::builder().manifest(&manifest).build()?;
    runtime.load_components(&manifest)?;
    println!(
        "ok: {}: {} component(s), {} actor(s)",
        path.display(),
        manifest.component_names().len(),
        manifest.actor_names().len()
    );
    Ok(())
}
