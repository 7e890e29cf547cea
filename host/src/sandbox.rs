//! What an actor may reach and how much of the host it may use: its capabilities
//! (directories, environment variables, outbound TCP) and its limits and quotas.
//! `docs/semantics.md` ("Security model") is the contract; this module turns a
//! [`Sandbox`] into a WASI context and counts what an actor holds.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::SpawnError;

/// Default most live children of a lineage (`max_children`; see [`Limits`]).
pub const DEFAULT_MAX_CHILDREN: usize = 1000;
/// Default `max_timers`: live timers one actor may hold.
pub const DEFAULT_MAX_TIMERS: usize = 1000;
/// Default `max_subscriptions`: patterns one actor may be subscribed to.
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 1000;
/// Default `max_groups`: groups one actor may be in.
pub const DEFAULT_MAX_GROUPS: usize = 1000;
/// Default `max_monitors`: monitors one actor may hold.
pub const DEFAULT_MAX_MONITORS: usize = 100_000;
/// Default `max_links`: links one actor may hold.
pub const DEFAULT_MAX_LINKS: usize = 100_000;
/// Default `max_pending_calls`: calls one actor may hold accepted and unanswered.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 10_000;
/// How long an actor's `init` may take unless its limits say otherwise.
pub const DEFAULT_INIT_DEADLINE: Duration = Duration::from_secs(5);
/// Default most tables an actor may own (`max_tables`).
pub const DEFAULT_MAX_TABLES: usize = 100;
/// Default most live supervised tasks of a lineage (`max_tasks`).
pub const DEFAULT_MAX_TASKS: usize = 100;
/// Default most elements of one of an instance's wasm tables (`max_table_elements`).
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 10_000;

/// An actor's capabilities and limits. The default grants nothing and takes the
/// runtime's default limits.
///
/// ```
/// use foundation::{Capabilities, DirAccess, Limits, Sandbox};
/// let sandbox = Sandbox {
///     capabilities: Capabilities::default()
///         .dir(std::env::temp_dir(), "/tmp", DirAccess::ReadOnly)
///         .env("LOG_LEVEL", "debug")
///         .connect("127.0.0.1:4222")?,
///     limits: Limits {
///         max_memory: Some(64 << 20),
///         ..Limits::default()
///     },
/// };
/// # let _ = sandbox;
/// # Ok::<(), foundation::SandboxError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// What it may reach outside itself.
    pub capabilities: Capabilities,
    /// How much of the host it may use.
    pub limits: Limits,
}

/// What an actor may reach outside itself. Nothing by default.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    pub(crate) dirs: Vec<DirGrant>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) connect: Vec<NetRule>,
    pub(crate) keyvalue: Vec<String>,
}

/// How a granted directory may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirAccess {
    /// Read files and list directories.
    ReadOnly,
    /// Also create, write, rename and delete.
    ReadWrite,
}

#[derive(Debug, Clone)]
pub(crate) struct DirGrant {
    pub(crate) host: PathBuf,
    pub(crate) guest: String,
    pub(crate) access: DirAccess,
}

/// One allowed outbound TCP destination: an address block and a port (or any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetRule {
    net: IpAddr,
    prefix: u8,
    port: Option<u16>,
}

impl NetRule {
    pub(crate) fn allows(&self, addr: SocketAddr) -> bool {
        if self.port.is_some_and(|p| p != addr.port()) {
            return false;
        }
        // An IPv4-mapped IPv6 address is the IPv4 address it maps.
        let ip = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A capability that cannot be granted as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A `connect` entry is not `HOST:PORT`, `HOST:*` or `CIDR:PORT`.
    #[error(
        "network destination {entry:?}: {why} (expected \"HOST:PORT\", \"HOST:*\" or \"ADDRESS/PREFIX:PORT\")"
    )]
    Destination {
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Capabilities {
    /// Grants the host directory `host` to the guest as `guest`.
    pub fn dir(mut self, host: impl Into<PathBuf>, guest: &str, access: DirAccess) -> Self {
        self.dirs.push(DirGrant {
            host: host.into(),
            guest: guest.to_string(),
            access,
        });
        self
    }

    /// Gives the guest the environment variable `key` with `value`.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Allows outbound TCP connections to `destination`: `"IP:PORT"`, `"IP:*"`,
    /// `"[IPv6]:PORT"`, `"ADDRESS/PREFIX:PORT"` (a CIDR block), or `"NAME:PORT"` (the
    /// name is resolved now, once; every address it resolves to is allowed).
    pub fn connect(mut self, destination: &str) -> Result<Self, SandboxError> {
        self.connect.extend(parse_destination(destination)?);
        Ok(self)
    }

    /// Grants the key-value store `store` (declared with
    /// [`RuntimeBuilder::store`](crate::RuntimeBuilder::store) or `[stores.NAME]`).
    pub fn keyvalue(mut self, store: &str) -> Self {
        if !self.keyvalue.iter().any(|s| s == store) {
            self.keyvalue.push(store.to_string());
        }
        self
    }

    /// Whether the store named `store` is granted.
    pub(crate) fn grants_store(&self, store: &str) -> bool {
        self.keyvalue.iter().any(|s| s == store)
    }

    /// Whether any capability is granted.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
            && self.env.is_empty()
            && self.connect.is_empty()
            && self.keyvalue.is_empty()
    }
}

fn parse_destination(entry: &str) -> Result<Vec<NetRule>, SandboxError> {
    let bad = |why: &str| SandboxError::Destination {
        entry: entry.to_string(),
        why: why.to_string(),
    };
    let (host, port) = entry.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port = match port {
        "*" => None,
        p => Some(
            p.parse::<u16>()
                .map_err(|_| bad("the port is not 1-65535 or *"))?,
        ),
    };
    if port == Some(0) {
        return Err(bad("the port is not 1-65535 or *"));
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if let Some((net, prefix)) = host.split_once('/') {
        let net: IpAddr = net.parse().map_err(|_| bad("not an IP address block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| bad("the prefix length is out of range"))?;
        return Ok(vec![NetRule { net, prefix, port }]);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        return Ok(vec![NetRule {
            net: ip,
            prefix,
            port,
        }]);
    }
    let addrs = (host, port.unwrap_or(1))
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve {host:?}: {e}")))?;
    let rules: Vec<NetRule> = addrs
        .map(|a| NetRule {
            net: a.ip(),
            prefix: if a.is_ipv4() { 32 } else { 128 },
            port,
        })
        .collect();
    if rules.is_empty() {
        return Err(bad(&format!("{host:?} resolves to no address")));
    }
    Ok(rules)
}

/// An actor's limits and quotas. `None` takes the runtime's default (see
/// `docs/semantics.md`, "Limits and quotas").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes (capped by the pool's slot size).
    pub max_memory: Option<usize>,
    /// Most elements of one wasm table.
    pub max_table_elements: Option<usize>,
    /// How long one guest entry (init, a batch, a system message) may take, in wall
    /// time (running or waiting in a host call).
    pub deadline: Option<Duration>,
    /// How long `init` may take (default [`DEFAULT_INIT_DEADLINE`]; `Duration::MAX`:
    /// no limit). The handler deadline bounds `init` too when it is shorter.
    pub init_deadline: Option<Duration>,
    /// Largest message the actor accepts, in bytes (capped by the runtime's).
    pub max_message_size: Option<usize>,
    /// Most live actors started from its lineage's root, directly or not (spawn,
    /// spawn-link, start-supervisor, start-child); 0 denies starting any.
    pub max_children: Option<usize>,
    /// Most tables it may own.
    pub max_tables: Option<usize>,
    /// Most live supervised tasks of its lineage; 0 denies starting any.
    pub max_tasks: Option<usize>,
    /// Most live timers it started.
    pub max_timers: Option<usize>,
    /// Most patterns it is subscribed to.
    pub max_subscriptions: Option<usize>,
    /// Most groups it is in.
    pub max_groups: Option<usize>,
    /// Most monitors it holds (its own and its tasks').
    pub max_monitors: Option<usize>,
    /// Most links it holds.
    pub max_links: Option<usize>,
    /// Most calls it holds accepted and unanswered (deferred replies).
    pub max_pending_calls: Option<usize>,
}

impl Limits {
    /// These limits, with each unset one taken from `defaults`.
    pub fn or(&self, defaults: &Limits) -> Limits {
        Limits {
            max_memory: self.max_memory.or(defaults.max_memory),
            max_table_elements: self.max_table_elements.or(defaults.max_table_elements),
            deadline: self.deadline.or(defaults.deadline),
            init_deadline: self.init_deadline.or(defaults.init_deadline),
            max_message_size: self.max_message_size.or(defaults.max_message_size),
            max_children: self.max_children.or(defaults.max_children),
            max_tables: self.max_tables.or(defaults.max_tables),
            max_tasks: self.max_tasks.or(defaults.max_tasks),
            max_timers: self.max_timers.or(defaults.max_timers),
            max_subscriptions: self.max_subscriptions.or(defaults.max_subscriptions),
            max_groups: self.max_groups.or(defaults.max_groups),
            max_monitors: self.max_monitors.or(defaults.max_monitors),
            max_links: self.max_links.or(defaults.max_links),
            max_pending_calls: self.max_pending_calls.or(defaults.max_pending_calls),
        }
    }
}

/// An actor's limits with every default filled in and the runtime's ceilings applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Effective {
    pub(crate) max_memory: usize,
    pub(crate) max_table_elements: usize,
    pub(crate) deadline: Option<Duration>,
    /// `init`'s deadline: the shorter of `init_deadline` and `deadline`; `None`: none.
    pub(crate) init_deadline: Option<Duration>,
    pub(crate) max_message_size: usize,
    pub(crate) max_children: usize,
    pub(crate) max_tables: usize,
    pub(crate) max_tasks: usize,
    pub(crate) max_timers: usize,
    pub(crate) max_subscriptions: usize,
    pub(crate) max_groups: usize,
    pub(crate) max_monitors: usize,
    pub(crate) max_links: usize,
    pub(crate) max_pending_calls: usize,
}

impl Limits {
    /// These limits over the runtime's `defaults`, within its ceilings.
    pub(crate) fn effective(
        &self,
        defaults: &Limits,
        memory_ceiling: usize,
        message_ceiling: usize,
    ) -> Effective {
        let l = self.or(defaults);
        Effective {
            max_memory: l.max_memory.unwrap_or(memory_ceiling).min(memory_ceiling),
            max_table_elements: l.max_table_elements.unwrap_or(DEFAULT_MAX_TABLE_ELEMENTS),
            deadline: l.deadline,
            init_deadline: match l.init_deadline.unwrap_or(DEFAULT_INIT_DEADLINE) {
                Duration::MAX => l.deadline,
                init => Some(l.deadline.map_or(init, |d| d.min(init))),
            },
            max_message_size: l
                .max_message_size
                .unwrap_or(message_ceiling)
                .min(message_ceiling),
            max_children: l.max_children.unwrap_or(DEFAULT_MAX_CHILDREN),
            max_tables: l.max_tables.unwrap_or(DEFAULT_MAX_TABLES),
            max_tasks: l.max_tasks.unwrap_or(DEFAULT_MAX_TASKS),
            max_timers: l.max_timers.unwrap_or(DEFAULT_MAX_TIMERS),
            max_subscriptions: l.max_subscriptions.unwrap_or(DEFAULT_MAX_SUBSCRIPTIONS),
            max_groups: l.max_groups.unwrap_or(DEFAULT_MAX_GROUPS),
            max_monitors: l.max_monitors.unwrap_or(DEFAULT_MAX_MONITORS),
            max_links: l.max_links.unwrap_or(DEFAULT_MAX_LINKS),
            max_pending_calls: l.max_pending_calls.unwrap_or(DEFAULT_MAX_PENDING_CALLS),
        }
    }
}

/// How often each limit was hit since the runtime started
/// ([`crate::Runtime::limit_hits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitHits {
    /// Memory growths refused.
    pub memory: u64,
    /// Wasm table growths refused.
    pub table_elements: u64,
    /// Handlers stopped at their deadline.
    pub deadline: u64,
    /// Messages refused as too large.
    pub message_size: u64,
    /// Starts refused by `max_children`.
    pub children: u64,
    /// Table creations refused by `max_tables`.
    pub tables: u64,
    /// Task starts refused by `max_tasks`.
    pub tasks: u64,
    /// Network operations refused.
    pub network: u64,
    /// Timers refused by `max_timers`.
    pub timers: u64,
    /// Subscriptions refused by `max_subscriptions`.
    pub subscriptions: u64,
    /// Joins refused by `max_groups`.
    pub groups: u64,
    /// Monitors refused by `max_monitors`.
    pub monitors: u64,
    /// Links refused by `max_links`.
    pub links: u64,
    /// Calls refused by the receiver's `max_pending_calls`.
    pub pending_calls: u64,
}

/// The runtime's counters behind [`LimitHits`].
#[derive(Debug, Default)]
pub(crate) struct HitCounters {
    pub(crate) memory: AtomicU64,
    pub(crate) table_elements: AtomicU64,
    pub(crate) deadline: AtomicU64,
    pub(crate) message_size: AtomicU64,
    pub(crate) children: AtomicU64,
    pub(crate) tables: AtomicU64,
    pub(crate) tasks: AtomicU64,
    pub(crate) network: AtomicU64,
    pub(crate) timers: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    pub(crate) groups: AtomicU64,
    pub(crate) monitors: AtomicU64,
    pub(crate) links: AtomicU64,
    pub(crate) pending_calls: AtomicU64,
}

impl HitCounters {
    pub(crate) fn snapshot(&self) -> LimitHits {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LimitHits {
            memory: get(&self.memory),
            table_elements: get(&self.table_elements),
            deadline: get(&self.deadline),
            message_size: get(&self.message_size),
            children: get(&self.children),
            tables: get(&self.tables),
            tasks: get(&self.tasks),
            network: get(&self.network),
            timers: get(&self.timers),
            subscriptions: get(&self.subscriptions),
            groups: get(&self.groups),
            monitors: get(&self.monitors),
            links: get(&self.links),
            pending_calls: get(&self.pending_calls),
        }
    }
}

/// The actors and tasks started, directly or not, from one root actor (one the host
/// or a manifest started): everything a guest starts joins its starter's lineage,
/// and `max_children` / `max_tasks` bound the live members of the whole lineage, so a
/// chain of spawns cannot escape them.
#[derive(Debug, Default)]
pub(crate) struct Lineage {
    children: AtomicUsize,
    tasks: AtomicUsize,
}

/// Which count of a [`Lineage`] a [`Permit`] holds a unit of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Child,
    Task,
}

impl Lineage {
    /// Takes one unit of `unit` if fewer than `max` are held.
    pub(crate) fn acquire(self: &Arc<Self>, unit: Unit, max: usize) -> Option<Permit> {
        self.count(unit)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Permit {
                lineage: self.clone(),
                unit,
            })
    }

    fn count(&self, unit: Unit) -> &AtomicUsize {
        match unit {
            Unit::Child => &self.children,
            Unit::Task => &self.tasks,
        }
    }
}

/// What an actor was started with, and passes on to what it starts: its sandbox and
/// its lineage.
#[derive(Debug, Clone, Default)]
pub(crate) struct Authority {
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) lineage: Arc<Lineage>,
}

/// One unit of a [`Lineage`]'s count, given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    lineage: Arc<Lineage>,
    unit: Unit,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.lineage.count(self.unit).fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where an actor keeps the permit it was started under, until it exits: a permit
/// handed in after the exit is dropped at once.
#[derive(Debug)]
pub(crate) struct PermitSlot(Mutex<SlotState>);

#[derive(Debug)]
enum SlotState {
    Open(Option<Permit>),
    Closed,
}

impl Default for PermitSlot {
    fn default() -> Self {
        PermitSlot(Mutex::new(SlotState::Open(None)))
    }
}

impl PermitSlot {
    /// Keeps `permit` until [`PermitSlot::close`], or drops it if that has run.
    pub(crate) fn hold(&self, permit: Permit) {
        let mut slot = self.0.lock().unwrap();
        if let SlotState::Open(held) = &mut *slot {
            *held = Some(permit);
        }
    }

    /// Gives the permit back; later ones are dropped at once.
    pub(crate) fn close(&self) {
        let old = std::mem::replace(&mut *self.0.lock().unwrap(), SlotState::Closed);
        drop(old);
    }
}

impl Lineage {
    /// A unit of `max_children` for an actor labelled `label` with these quotas, or
    /// the error that refuses it (logged and counted).
    pub(crate) fn child_permit(
        self: &Arc<Self>,
        hits: &HitCounters,
        label: &str,
        quotas: &Effective,
    ) -> Result<Permit, SpawnError> {
        self.acquire(Unit::Child, quotas.max_children)
            .ok_or_else(|| {
                quota_refused(
                    &hits.children,
                    label,
                    "max_children",
                    quotas.max_children,
                    "children",
                )
            })
    }

    /// A unit of `max_tasks`, as [`Lineage::child_permit`].
    pub(crate) fn task_permit(
        self: &Arc<Self>,
        hits: &HitCounters,
        label: &str,
        quotas: &Effective,
    ) -> Result<Permit, SpawnError> {
        self.acquire(Unit::Task, quotas.max_tasks).ok_or_else(|| {
            quota_refused(&hits.tasks, label, "max_tasks", quotas.max_tasks, "tasks")
        })
    }
}

/// Logs and counts a refused start; the error names the quota and its value.
fn quota_refused(
    counter: &AtomicU64,
    actor: &str,
    quota: &str,
    value: usize,
    what: &str,
) -> SpawnError {
    SpawnError::QuotaExceeded(limit_hit(
        counter,
        actor,
        quota,
        value,
        format!(
            "{quota}: the limit of {value} live {what} is reached (counting everything started from the same root actor)"
        ),
    ))
}

/// What every quota refusal does: counts it in `counter` (one of [`HitCounters`]),
/// logs it at `warn` with the actor, the quota and its value, and hands back `why`,
/// the text the refused caller gets.
pub(crate) fn limit_hit(
    counter: &AtomicU64,
    actor: &str,
    quota: &str,
    value: usize,
    why: String,
) -> String {
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(actor, limit = quota, value, "{why}");
    why
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{DEFAULT_INIT_DEADLINE, Limits};

    #[test]
    fn init_always_has_a_deadline_unless_told_infinity() {
        let effective = |l: Limits| l.effective(&Limits::default(), 1 << 20, 1 << 20);
        let ms = Duration::from_millis;
        assert_eq!(
            effective(Limits::default()).init_deadline,
            Some(DEFAULT_INIT_DEADLINE)
        );
        assert_eq!(DEFAULT_INIT_DEADLINE, Duration::from_secs(5));
        // The shorter of the two bounds `init`.
        let both = |deadline, init| Limits {
            deadline,
            init_deadline: init,
            ..Limits::default()
        };
        assert_eq!(
            effective(both(Some(ms(100)), None)).init_deadline,
            Some(ms(100))
        );
        assert_eq!(
            effective(both(Some(ms(100)), Some(ms(50)))).init_deadline,
            Some(ms(50))
        );
        assert_eq!(
            effective(both(None, Some(ms(50)))).init_deadline,
            Some(ms(50))
        );
        // Infinity removes the init deadline, not the handler deadline.
        assert_eq!(
            effective(both(None, Some(Duration::MAX))).init_deadline,
            None
        );
        assert_eq!(
            effective(both(Some(ms(100)), Some(Duration::MAX))).init_deadline,
            Some(ms(100))
        );
    }
}
