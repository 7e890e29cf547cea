//! The `foundation` binary, driven as a process: `check` and `run` on the examples.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::*;

pub(crate) fn foundation() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foundation"));
    cmd.env("FOUNDATION_CACHE_DIR", cache_dir());
    cmd
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(foundation_fixtures::WORKSPACE)
        .join("examples")
        .join(name)
        .join("app.toml")
}

#[test]
fn check_accepts_every_example() {
    for name in ["counter", "pingpong", "tasks", "ticker", "heir", "bank"] {
        let out = foundation()
            .arg("check")
            .arg(example(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("ok: "), "{stdout}");
    }
}

#[test]
fn check_rejects_a_broken_manifest_with_its_location() {
    let dir = std::env::temp_dir().join(format!("foundation-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(
        &file,
        "[components.a]\npath = \"a.wasm\"\n\n[[actors]]\nname = \"x\"\ncomponent = \"b\"\n",
    )
    .unwrap();
    let out = foundation().arg("check").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {}:6:13: actor \"x\" uses unknown component \"b\"; defined components: a",
            file.display()
        )),
        "{stderr}"
    );
}

/// Starts `foundation <args>` with `RUST_LOG=info`; returns the process and its log
/// lines (stderr) over a channel.
fn run_logged(args: &[&std::ffi::OsStr]) -> (Running, mpsc::Receiver<String>) {
    run_logged_with(args, &[])
}

/// [`run_logged`] with these environment variables too.
fn run_logged_with(
    args: &[&std::ffi::OsStr],
    env: &[(&str, &std::ffi::OsStr)],
) -> (Running, mpsc::Receiver<String>) {
    let mut child = foundation()
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    (Running(child), lines)
}

/// A `foundation` process that is killed if a test fails while it still runs: a
/// leftover would hold the build lock this suite's runner takes, and the machine.
pub(crate) struct Running(pub(crate) std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Hands a process's stderr lines over a channel.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`, with a deadline; returns the lines seen.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(e) => panic!(
                "no line containing {needle:?} ({e}); output:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// Sends SIGTERM, waits for the graceful shutdown's `stopped` line and asserts that
/// the process exits successfully.
fn sigterm_and_wait(
    child: &mut std::process::Child,
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
) {
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    wait_for(lines, "stopped", seen);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}; output:\n{}", seen.join("\n"));
}

#[test]
fn run_pingpong_then_sigterm_shuts_down_gracefully() {
    let manifest = example("pingpong");
    let (mut child, lines) =
        run_logged(&["run".as_ref(), "--build".as_ref(), manifest.as_os_str()]);
    let mut seen = Vec::new();
    wait_for(
        &lines,
        "finished 1000 rounds; pong received 1000 balls",
        &mut seen,
    );
    // A guest's stdout reaches the log, line by line, tagged with the actor.
    let stdout_line = seen
        .iter()
        .find(|l| l.contains("first ball, from #"))
        .expect("pong's println is logged");
    assert!(stdout_line.contains("actor=pong"), "{stdout_line}");
    assert!(stdout_line.contains("stream=\"stdout\""), "{stdout_line}");
    sigterm_and_wait(&mut child, &lines, &mut seen);
    let shutting = seen
        .iter()
        .position(|l| l.contains("shutting down"))
        .expect("logs the shutdown");
    assert!(shutting > 0);
}

#[test]
fn run_counter_reports_a_failing_start_and_exits_nonzero() {
    let dir = std::env::temp_dir().join(format!("foundation-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.toml");
    // The counter's init args must decode: `start` must be an integer.
    std::fs::write(
        &file,
        format!(
            "[components.counter]\npath = {:?}\n\n[[actors]]\nname = \"c\"\ncomponent = \"counter\"\nargs = {{ start = \"ten\" }}\n",
            foundation_fixtures::COUNTER
        ),
    )
    .unwrap();
    let out = foundation().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: actor \"c\": init of actor c failed: init args do not decode"),
        "{stderr}"
    );
}

#[test]
fn run_tasks_example_stays_responsive_during_the_task() {
    let manifest = example("tasks");
    let (mut child, lines) = run_logged(&["run".as_ref(), manifest.as_os_str()]);
    let mut seen = Vec::new();
    wait_for(&lines, "the task found", &mut seen);
    wait_for(&lines, "pings answered while the task ran", &mut seen);
    sigterm_and_wait(&mut child, &lines, &mut seen);
    let found = seen.iter().find(|l| l.contains("the task found")).unwrap();
    assert!(
        found.contains("the task found 216816 primes below 3000000"),
        "{found}"
    );
}

#[test]
fn run_ticker_example_serves_quotes_from_the_table_and_publishes_changes() {
    let manifest = example("ticker");
    let (mut child, lines) = run_logged(&["run".as_ref(), manifest.as_os_str()]);
    let mut seen = Vec::new();
    wait_for(&lines, "30 changes seen", &mut seen);
    sigterm_and_wait(&mut child, &lines, &mut seen);
    // The watcher got 30 published changes, and a quote actor answered from the
    // table the feed owns.
    let report = seen.iter().find(|l| l.contains("30 changes seen")).unwrap();
    assert!(report.contains("quote-2 quotes "), "{report}");
    assert!(!report.contains("quotes nothing"), "{report}");
}

#[test]
fn run_heir_example_keeps_the_count_across_crashes() {
    let manifest = example("heir");
    let (mut child, lines) = run_logged(&["run".as_ref(), manifest.as_os_str()]);
    let mut seen = Vec::new();
    wait_for(&lines, "starts at count 0", &mut seen);
    wait_for(&lines, "crashing on purpose at count 25", &mut seen);
    // The restarted instance got the table from its supervisor.
    wait_for(&lines, "starts at count 25", &mut seen);
    sigterm_and_wait(&mut child, &lines, &mut seen);
}

/// Writes `text` as a manifest in a fresh directory of its own; returns its path.
fn manifest_file(tag: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("foundation-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Waits for the process to exit on its own, with a deadline; returns its status.
fn exits_by_itself(
    child: &mut std::process::Child,
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        while let Ok(line) = lines.try_recv() {
            seen.push(line);
        }
        if let Some(status) = child.try_wait().unwrap() {
            // The rest of its output.
            while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
                seen.push(line);
            }
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running; output:\n{}",
            seen.join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a manifest whose component `t` is testactor (the header is added) until the
/// process exits by itself; asserts it exits 1 and returns its log.
fn runs_until_it_fails(tag: &str, manifest: &str) -> String {
    let header = format!(
        "[components.t]\npath = {:?}\n\n",
        foundation_fixtures::TESTACTOR
    );
    let file = manifest_file(tag, &(header + manifest));
    let (mut child, lines) = run_logged(&["run".as_ref(), file.as_os_str()]);
    let mut seen = Vec::new();
    let status = exits_by_itself(&mut child, &lines, &mut seen);
    let log = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{log}");
    log
}

#[test]
fn run_exits_nonzero_when_the_root_supervisor_gives_up() {
    // The worker panics 50 ms after each start; one restart is allowed, so the
    // second panic makes the root supervisor give up.
    let log = runs_until_it_fails(
        "gives-up",
        "[[supervisors]]\nname = \"root\"\nmax_restarts = 1\nchildren = [\"w\"]\n\n\
         [[actors]]\nname = \"w\"\ncomponent = \"t\"\nargs = { tag = \"w\", panic_after_ms = 50 }\n",
    );
    assert!(log.contains("w panics as told"), "{log}");
    assert!(log.contains("top-level \"root\" stopped"), "{log}");
    assert!(log.contains("error: top-level \"root\" stopped"), "{log}");
    // The rest was shut down gracefully before the exit.
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn run_exits_nonzero_when_a_top_level_actor_stops() {
    let log = runs_until_it_fails(
        "actor-stops",
        "[[actors]]\nname = \"a\"\ncomponent = \"t\"\n\n\
         [[actors]]\nname = \"b\"\ncomponent = \"t\"\nargs = { tag = \"b\", panic_after_ms = 50 }\n",
    );
    assert!(
        log.contains("error: top-level \"b\" stopped (trap: "),
        "{log}"
    );
    assert!(log.contains("b panics as told, after 50 ms)"), "{log}");
}

#[test]
fn sigterm_during_start_up_stops_what_started_and_exits_zero() {
    // `c` starts and logs; `spin` never returns from its init, so start-up never
    // ends on its own.
    let file = manifest_file(
        "slow-start",
        &format!(
            "[components.counter]\npath = {:?}\n\n[components.t]\npath = {:?}\n\n\
             [[actors]]\nname = \"c\"\ncomponent = \"counter\"\n\n\
             [[actors]]\nname = \"spin\"\ncomponent = \"t\"\nargs = {{ spin_in_init = true }}\n",
            foundation_fixtures::COUNTER,
            foundation_fixtures::TESTACTOR
        ),
    );
    let (mut child, lines) = run_logged(&["run".as_ref(), file.as_os_str()]);
    let mut seen = Vec::new();
    wait_for(&lines, "counter starting at 0", &mut seen);
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = exits_by_itself(&mut child, &lines, &mut seen);
    let log = seen.join("\n");
    assert!(status.success(), "{status}; output:\n{log}");
    assert!(
        log.contains("SIGTERM during start-up: stopping what has started"),
        "{log}"
    );
    // The counter ran its `terminate`: a graceful stop, not a kill.
    assert!(log.contains("counter stopping at 0 (shutdown)"), "{log}");
}

/// The resident memory of process `pid`, in bytes (Linux).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

/// Guests that take monitors, timers, subscriptions and group memberships without
/// end, and one that sends exit signals without end to a victim that takes none, in
/// a process of their own (so its memory is theirs to measure): each meets its bound
/// with a typed error, the host's memory stays under a stated bound, and the
/// application still stops gracefully. Before, they ran on to ten million (monitors
/// alone held 436 MB; the exit signals grew the host by 120 MB a second).
#[test]
fn floods_of_host_state_meet_their_quotas_and_the_memory_stays_bounded() {
    /// The most the whole `foundation run` process may hold meanwhile (the runtime
    /// with five actors is some tens of MB; the quotas bound the floods to a few MB).
    const BOUND: u64 = 256 << 20;
    // A victim that traps exits and takes none of its messages, flooded with exit
    // signals: they hold places of its mailbox, so the flood meets `mailbox-full`
    // (after the send timeout, 5 s) once its 1024 places are taken.
    let mut actors = String::from(
        "[[actors]]\nname = \"victim\"\ncomponent = \"t\"\nargs = { trap_exits = true, flood = \"sleep\" }\n\n\
         [[actors]]\nname = \"exits\"\ncomponent = \"t\"\nargs = { flood = \"exits:victim\" }\n\n",
    );
    for kind in ["monitors", "timers", "subscriptions", "groups"] {
        actors.push_str(&format!(
            "[[actors]]\nname = \"{kind}\"\ncomponent = \"t\"\nargs = {{ flood = \"{kind}\" }}\n\n"
        ));
    }
    // Fifty callers that give up on each call after 1 ms, against an actor that holds
    // every call unanswered: its `max_pending_calls` (10,000) refuses them in the end.
    actors.push_str("[[actors]]\nname = \"hoarder\"\ncomponent = \"t\"\n\n");
    for i in 0..50 {
        actors.push_str(&format!(
            "[[actors]]\nname = \"caller{i}\"\ncomponent = \"t\"\nargs = {{ flood = \"calls:hoarder\" }}\n\n"
        ));
    }
    // A neighbour calls a well-behaved actor 2000 times while the floods run and
    // reports its p99.
    actors.push_str(
        "[[actors]]\nname = \"echo\"\ncomponent = \"t\"\n\n\
         [[actors]]\nname = \"neighbour\"\ncomponent = \"t\"\nargs = { flood = \"ping:echo\" }\n\n",
    );
    let file = manifest_file(
        "floods",
        &format!(
            "[components.t]\npath = {:?}\n\n{actors}",
            foundation_fixtures::TESTACTOR
        ),
    );
    let (mut child, lines) = run_logged(&["run".as_ref(), file.as_os_str()]);
    let mut seen = Vec::new();
    for (kind, quota, error) in [
        (
            "monitors",
            foundation::DEFAULT_MAX_MONITORS,
            "QuotaExceeded(",
        ),
        ("timers", foundation::DEFAULT_MAX_TIMERS, "QuotaExceeded("),
        (
            "subscriptions",
            foundation::DEFAULT_MAX_SUBSCRIPTIONS,
            "QuotaExceeded(",
        ),
        ("groups", foundation::DEFAULT_MAX_GROUPS, "QuotaExceeded("),
        (
            "exits:victim",
            foundation::DEFAULT_MAILBOX_CAPACITY,
            "MailboxFull",
        ),
    ] {
        let needle = format!("flood {kind} stopped after ");
        let line = match seen.iter().find(|l: &&String| l.contains(&needle)) {
            Some(l) => l.clone(),
            None => {
                wait_for(&lines, &needle, &mut seen);
                seen.last().unwrap().clone()
            }
        };
        assert!(
            line.contains(&format!("{needle}{quota}: ")) && line.contains(error),
            "{line}"
        );
    }
    // Every caller ends refused, and together they had the hoarder hold its quota
    // (a call that timed out while still queued, then refused, counts for its caller
    // without being held: hence at least).
    let needle = "flood calls:hoarder stopped after ";
    while seen.iter().filter(|l| l.contains(needle)).count() < 50 {
        wait_for(&lines, needle, &mut seen);
    }
    let mut held = 0u64;
    for line in seen.iter().filter(|l| l.contains(needle)) {
        assert!(line.contains("QuotaExceeded("), "{line}");
        held += line
            .split(needle)
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{line}"));
    }
    assert!(
        held >= foundation::DEFAULT_MAX_PENDING_CALLS as u64,
        "the callers got {held} calls held"
    );
    let needle = "flood ping:echo stopped after 2000: p99 ";
    if !seen.iter().any(|l| l.contains(needle)) {
        wait_for(&lines, needle, &mut seen);
    }
    let line = seen.iter().find(|l| l.contains(needle)).unwrap();
    let p99_us: u64 = line
        .split(needle)
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        p99_us < 500_000,
        "the neighbour's call p99 was {p99_us} us during the floods"
    );
    let held = rss(child.id());
    assert!(
        held < BOUND,
        "the process holds {held} bytes after the floods, over {BOUND}"
    );
    sigterm_and_wait(&mut child, &lines, &mut seen);
}

/// The bank example, as its README section runs it: balances in a durable store
/// survive `kill -9`, and no transfer interrupted by it loses or makes money.
#[test]
fn the_bank_example_keeps_its_balances_across_kill_9() {
    let data = scratch("bank");
    let manifest = example("bank");
    let run = || {
        run_logged_with(
            &["run".as_ref(), manifest.as_os_str()],
            &[("FOUNDATION_DATA_DIR", data.as_os_str())],
        )
    };
    let total = |line: &str| -> u64 {
        let t = line.rsplit("total ").next().unwrap();
        t.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("no total in {line}"))
    };

    let (mut first, lines) = run();
    let mut seen = Vec::new();
    wait_for(&lines, "balances at start", &mut seen);
    assert_eq!(total(seen.last().unwrap()), 4000, "{}", seen.join("\n"));
    wait_for(&lines, "balances after 1000 transfers", &mut seen);
    assert_eq!(total(seen.last().unwrap()), 4000, "{}", seen.join("\n"));
    first.kill().unwrap(); // SIGKILL, mid-transfer as likely as not
    first.wait().unwrap();

    let (mut second, lines) = run();
    let mut seen = Vec::new();
    wait_for(&lines, "balances at start", &mut seen);
    let start = seen.last().unwrap().clone();
    assert_eq!(total(&start), 4000, "{}", seen.join("\n"));
    assert!(
        !start.contains("alice 1000, bob 1000, carol 1000, dave 1000"),
        "the balances were reset, not kept: {start}"
    );
    wait_for(&lines, "balances after 500 transfers", &mut seen);
    assert_eq!(total(seen.last().unwrap()), 4000, "{}", seen.join("\n"));
    sigterm_and_wait(&mut second, &lines, &mut seen);
}
