//! The one wasmtime `Engine`, its configuration, and the on-disk cache of compiled
//! components.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::Error;

/// Settings that shape the engine.
#[derive(Debug, Clone)]
pub(crate) struct EngineSettings {
    pub(crate) pooling: bool,
    pub(crate) max_instances: u32,
    pub(crate) max_memory_bytes: usize,
}

pub(crate) fn build_engine(s: &EngineSettings) -> Result<Engine, Error> {
    let mut config = Config::new();
    // Busy guests yield at each epoch tick so they never stall other actors.
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // A trap's log names the wasm functions on its stack (from the name section) but
    // not their byte offsets: looking those up walks the address map of every frame,
    // which was 13% of the latency of a restart after a trap (p50 52 -> 45 us). The
    // function names locate a crash in a Rust guest; mapping an offset back to a line
    // would also need the guest's unstripped build.
    config.generate_address_map(false);
    if s.pooling {
        // Each pool slot reserves wasmtime's default 4 GiB plus a 32 MiB guard, which
        // lets compiled code skip bounds checks. Past ~4k slots that exceeds the
        // budget below (x86-64 gives a process 128 TiB, and a process may hold more
        // than one runtime), so large pools reserve just `max_memory_bytes` per slot
        // and bounds-check instead.
        const ADDRESS_BUDGET: u64 = 16 << 40;
        const DEFAULT_SLOT: u64 = (4 << 30) + (32 << 20);
        if u64::from(s.max_instances) * DEFAULT_SLOT > ADDRESS_BUDGET {
            config.memory_reservation((s.max_memory_bytes as u64).next_multiple_of(64 << 10));
            config.memory_guard_size(64 << 10);
            config.memory_reservation_for_growth(0);
        }
        let mut pool = PoolingAllocationConfig::default();
        // A wasm32-wasip2 Rust component holds a few core instances (the program and
        // small shims), one memory and a few tables.
        pool.total_component_instances(s.max_instances)
            .total_core_instances(s.max_instances.saturating_mul(4))
            .total_memories(s.max_instances)
            .total_tables(s.max_instances.saturating_mul(4))
            // Each store keeps the fiber stack of its async calls for reuse while it
            // lives, so every live instance holds one.
            .total_stacks(s.max_instances)
            .max_memories_per_component(2)
            .max_tables_per_component(4)
            .max_core_instances_per_component(16)
            .max_memory_size(s.max_memory_bytes)
            // A slot that is freed and reused (every restart, every short-lived
            // actor) resets the pages its last instance touched with `memset`
            // instead of `madvise` + page faults; `pagemap_scan` (Linux 6.7+) finds
            // just those pages.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| Error::Engine(chain(&e)))
}

/// Compiles a component, or loads it from the cache when the same bytes were
/// compiled before by an engine with the same settings.
///
/// Cache entries are keyed by the SHA-256 of the component and wasmtime's
/// compatibility hash of the engine, and written atomically (temporary file, then
/// rename), so concurrent runs never see half an artifact.
pub(crate) fn compile(
    engine: &Engine,
    cache: Option<&Path>,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = cache else {
        return Component::new(engine, bytes);
    };
    let file = dir.join(cache_key(engine, bytes));
    if file.exists() {
        // SAFETY: the file is in the runtime's cache directory, written only by
        // `Engine::precompile_component` below; wasmtime checks its header and that it
        // was built for this engine's settings. The cache directory must be as trusted
        // as the host binary (as for wasmtime's own cache).
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::warn!(file = %file.display(), "ignoring unusable cache entry: {}", chain(&e))
            }
        }
    }
    let artifact = engine.precompile_component(bytes)?;
    if let Err(e) = write_atomically(dir, &file, &artifact) {
        tracing::warn!(dir = %dir.display(), "cannot write the compile cache: {e}");
    }
    // SAFETY: `artifact` was produced by this engine just now.
    unsafe { Component::deserialize(engine, &artifact) }
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", engine_hash.finish())
}

fn write_atomically(dir: &Path, file: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, file)
}

/// The default cache directory: `$FOUNDATION_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/foundation`, else `$HOME/.cache/foundation`.
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("FOUNDATION_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("foundation"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("foundation"))
}

/// Memory mappings one live instance takes (its memory, guard regions, fiber stack;
/// measured on Linux: about 4), with some margin.
const MAPPINGS_PER_INSTANCE: u64 = 5;
/// Mappings the rest of the process needs (its libraries, heap, threads).
const MAPPINGS_BASELINE: u64 = 10_000;

/// Linux's `vm.max_map_count`, if this system has one.
pub(crate) fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a pool of `instances` can have them all live under `max_map_count`; if
/// not, says what to do. Found now rather than as `ENOMEM` at some later spawn.
pub(crate) fn check_map_count(instances: u32, max_map_count: Option<u64>) -> Result<(), String> {
    let Some(limit) = max_map_count else {
        return Ok(());
    };
    let need = u64::from(instances) * MAPPINGS_PER_INSTANCE + MAPPINGS_BASELINE;
    if need <= limit {
        return Ok(());
    }
    let fits = limit.saturating_sub(MAPPINGS_BASELINE) / MAPPINGS_PER_INSTANCE;
    let raise = need.next_power_of_two();
    Err(format!(
        "a pool of {instances} instances needs up to {need} memory mappings, but \
         vm.max_map_count is {limit} (about {fits} live instances fit). Raise it, as root: \
         `sysctl -w vm.max_map_count={raise}` (add `vm.max_map_count = {raise}` to \
         /etc/sysctl.d/99-foundation.conf to keep it), or lower max_instances"
    ))
}

/// Formats a wasmtime error with its whole chain on one line.
pub(crate) fn chain(e: &wasmtime::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        out.push_str(": ");
        out.push_str(&cause.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_count_check_names_the_sysctl_to_raise() {
        assert!(check_map_count(1000, Some(65_530)).is_ok());
        assert!(check_map_count(100_000, None).is_ok());
        let err = check_map_count(20_000, Some(65_530)).unwrap_err();
        assert!(err.contains("vm.max_map_count is 65530"), "{err}");
        assert!(err.contains("about 11106 live instances fit"), "{err}");
        assert!(err.contains("sysctl -w vm.max_map_count=131072"), "{err}");
        assert!(check_map_count(100_000, Some(1_048_576)).is_ok());
    }
}
