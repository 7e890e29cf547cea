//! The WASI side of an actor's sandbox: turns its `Capabilities` into the `WasiCtx`
//! of its store. Directories are preopened through wasmtime-wasi's cap-std `Dir`, so
//! `..`, absolute paths and symlinks cannot leave a preopen.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::sandbox::{Capabilities, DirAccess, HitCounters, NetRule};
use crate::wasm::stdio::GuestOutput;

/// The WASI context `caps` give an actor labelled `actor`: stdout and stderr to the
/// log, granted directories, granted environment variables, outbound TCP only to
/// granted destinations (every refusal logged and counted), no UDP, no stdin.
pub(crate) fn wasi_ctx(
    caps: &Capabilities,
    actor: &Arc<str>,
    hits: &Arc<HitCounters>,
) -> Result<WasiCtx, String> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(GuestOutput {
        actor: actor.clone(),
        stream: "stdout",
    })
    .stderr(GuestOutput {
        actor: actor.clone(),
        stream: "stderr",
    })
    .allow_udp(false);
    for dir in &caps.dirs {
        let perms = match dir.access {
            DirAccess::ReadOnly => FsPerms::ReadOnly,
            DirAccess::ReadWrite => FsPerms::ReadWrite,
        };
        wasi.preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|e| {
                format!(
                    "cannot open directory {} (granted as {:?}): {e}",
                    dir.host.display(),
                    dir.guest
                )
            })?;
    }
    for (key, value) in &caps.env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(format!("{key:?} is not an environment variable name"));
        }
        wasi.env(key, value);
    }
    // Without a destination, no TCP at all: not even a socket (it would hold a
    // host file descriptor). With some, every connect, bind and listen goes
    // through the check, which logs and counts each refusal. UDP is off.
    let rules: Arc<[NetRule]> = caps.connect.clone().into();
    let actor = actor.clone();
    let hits = hits.clone();
    wasi.allow_tcp(!rules.is_empty())
        .allow_ip_name_lookup(!rules.is_empty())
        .socket_addr_check(move |addr, usage| {
            let allowed = match usage {
                // The implicit bind of an outbound connect: the wildcard address,
                // any port the system picks. Harmless alone (listening is
                // refused); the connect that follows is checked.
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                SocketAddrUse::TcpConnect => rules.iter().any(|r| r.allows(addr)),
                _ => false,
            };
            if !allowed {
                hits.network.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%actor, capability = "connect", ?usage, %addr, "network access denied");
            }
            Box::pin(std::future::ready(allowed))
        });
    Ok(wasi.build())
}
