//! Builds every guest component the tests use (fixtures in `tests/guests/` and the
//! examples' guests) for `wasm32-wasip2`, as wasmtime's `crates/test-programs` does,
//! and writes their paths as constants.
//!
//! The guests build into `target/guests` (a target directory of their own), so this
//! nested cargo never waits on the lock of the build that runs this script.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// (package, artifact file stem, constant name)
const GUESTS: &[(&str, &str, &str)] = &[
    ("testactor", "testactor", "TESTACTOR"),
    ("not-actor", "not-actor", "NOT_ACTOR"),
    ("counter-guest", "counter_guest", "COUNTER"),
    ("pingpong-guest", "pingpong_guest", "PINGPONG"),
    ("tasks-guest", "tasks_guest", "TASKS"),
    ("benchactor", "benchactor", "BENCHACTOR"),
    ("ticker-guest", "ticker_guest", "TICKER"),
    ("heir-guest", "heir_guest", "HEIR"),
    ("bank-guest", "bank_guest", "BANK"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let target_dir = workspace.join("target").join("guests");

    for dir in ["tests/guests", "guest-sdk", "wit", "examples"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    // Settings meant for the host build must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo to build the guest fixtures");
    assert!(
        status.success(),
        "building the guest fixtures for wasm32-wasip2 failed ({status}); \
         is the target installed? `rustup target add wasm32-wasip2`"
    );

    let release = target_dir.join("wasm32-wasip2").join("release");
    let mut out = String::new();
    for (package, stem, constant) in GUESTS {
        let path = release.join(format!("{stem}.wasm"));
        assert!(
            path.exists(),
            "guest {package} built, but {} is missing",
            path.display()
        );
        out.push_str(&format!(
            "/// The `{package}` guest component.\npub const {constant}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
    out.push_str(&format!(
        "/// The workspace root.\npub const WORKSPACE: &str = {:?};\n",
        workspace.display().to_string()
    ));
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("fixtures.rs");
    std::fs::write(dest, out).unwrap();
}
