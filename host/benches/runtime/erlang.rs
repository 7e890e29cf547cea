//! Runs the same workloads in Erlang/OTP (`bench/erlang/foundation_bench.erl`) with
//! `erl +S 1` and `+S 2`, one fresh VM per workload, and parses the JSON lines they
//! print.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Measured, Sizes};

/// A compiled copy of the Erlang benchmark, or why there is none.
pub struct Erlang {
    ebin: PathBuf,
}

impl Erlang {
    /// Compiles the module into `out`. Err says why Erlang cannot run (e.g. `erl` is
    /// not installed).
    pub fn prepare(workspace: &Path, out: &Path) -> Result<Erlang, String> {
        let src = workspace.join("bench/erlang/foundation_bench.erl");
        if !src.exists() {
            return Err(format!("{} is missing", src.display()));
        }
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let status = Command::new("erlc")
            .arg("-o")
            .arg(out)
            .arg(&src)
            .status()
            .map_err(|e| {
                format!("cannot run erlc ({e}); install Erlang/OTP with `apt-get install erlang`")
            })?;
        if !status.success() {
            return Err(format!("erlc {} failed: {status}", src.display()));
        }
        Ok(Erlang {
            ebin: out.to_path_buf(),
        })
    }

    /// Runs one workload in a fresh VM with `schedulers` schedulers.
    fn run_one(
        &self,
        schedulers: u32,
        key: &str,
        args: &[String],
    ) -> Result<Vec<Measured>, String> {
        let output = Command::new("erl")
            .arg("+S")
            .arg(schedulers.to_string())
            .arg("-noshell")
            .arg("-pa")
            .arg(&self.ebin)
            .args(["-run", "foundation_bench", "main"])
            .args(args)
            .args(["-s", "init", "stop"])
            .output()
            .map_err(|e| format!("cannot run erl: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "erl {key} {args:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let mut out = Vec::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("erl {key}: unexpected output line {line:?}: {e}"))?;
            let metric = v["metric"]
                .as_str()
                .ok_or_else(|| format!("erl {key}: no metric in {line:?}"))?;
            let value = v["value"]
                .as_f64()
                .ok_or_else(|| format!("erl {key}: no value in {line:?}"))?;
            out.push(Measured::new(key, metric, value));
        }
        Ok(out)
    }

    /// Runs every selected workload with `schedulers` schedulers. A workload that
    /// fails is reported on stderr and left out.
    pub fn run(
        &self,
        schedulers: u32,
        sizes: &Sizes,
        only: &(dyn Fn(&str) -> bool + Sync),
    ) -> Vec<Measured> {
        let s = |n: u64| n.to_string();
        let mut jobs: Vec<(String, Vec<String>)> = vec![
            (
                "counting".into(),
                vec!["counting".into(), s(sizes.counting)],
            ),
            (
                "pingpong_1".into(),
                vec!["pingpong".into(), s(sizes.pingpong), "1".into()],
            ),
            (
                "pingpong_64".into(),
                vec!["pingpong".into(), s(sizes.pingpong), "64".into()],
            ),
            ("call".into(), vec!["call".into(), s(sizes.calls)]),
            (
                "actor_call".into(),
                vec!["actor_call".into(), s(sizes.actor_calls)],
            ),
            (
                "ring".into(),
                vec!["ring".into(), s(sizes.ring_actors), s(sizes.ring_hops)],
            ),
            ("spawn".into(), vec!["spawn".into(), s(sizes.spawns)]),
            ("restart".into(), vec!["restart".into(), s(sizes.restarts)]),
        ];
        for &n in &sizes.memory {
            jobs.push((format!("memory_{n}"), vec!["memory".into(), n.to_string()]));
        }
        jobs.push(("table".into(), vec!["table".into(), "65536".into()]));
        let mut out = Vec::new();
        for (key, args) in jobs {
            if !only(&key) {
                continue;
            }
            eprintln!("  erlang +S {schedulers}: {key}");
            match self.run_one(schedulers, &key, &args) {
                Ok(m) => out.extend(m),
                Err(e) => eprintln!("  erlang +S {schedulers}: {key}: {e}"),
            }
        }
        out
    }
}
