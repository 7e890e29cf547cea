//! What a supervisor is told: its strategy, restart intensity and child specs (OTP's
//! `supervisor` flags and child specifications), and the children added at run time.

use std::sync::Arc;
use std::time::Duration;

use crate::sandbox::Sandbox;

/// How a supervisor restarts its children when one exits and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the exited child restarts (S2).
    #[default]
    OneForOne,
    /// All children stop (newest first) and all start again in order (S3).
    OneForAll,
    /// The children after the exited one stop (newest first); it and they start
    /// again in order; earlier ones are untouched (S4).
    RestForOne,
}

/// When a child is restarted (S5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    #[default]
    Permanent,
    /// Unless it exited `normal` or `shutdown`.
    Transient,
    /// Never; it leaves the child list when it exits.
    Temporary,
}

/// How a child is stopped (S7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once; `terminate` does not run.
    BrutalKill,
    /// Asked to stop (its `terminate` runs), killed past the timeout.
    Timeout(Duration),
    /// Asked to stop, waited for without limit (the default for supervisors).
    Infinity,
}

/// What a child is.
#[derive(Debug, Clone)]
pub enum ChildKind {
    /// An actor from a component.
    Actor {
        /// The component's name.
        component: String,
        /// The encoded init argument; the same for every restart.
        args: Vec<u8>,
        /// Its mailbox capacity.
        mailbox: Option<usize>,
        /// Its capabilities and limits (`None`: the supervisor's
        /// [`SupervisorSpec::sandbox`]).
        sandbox: Option<Arc<Sandbox>>,
        /// Whether what is queued when an instance exits goes to the next one
        /// (beyond OTP; see `docs/semantics.md`, "Supervisors").
        keep_mailbox: bool,
    },
    /// A nested supervisor.
    Supervisor(SupervisorSpec),
}

/// One child of a supervisor.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Unique among the supervisor's children; names the child in errors and logs.
    pub id: String,
    /// What to start.
    pub kind: ChildKind,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// When to restart it (default `Permanent`).
    pub restart: Restart,
    /// How to stop it (default 5 s for actors, `Infinity` for supervisors).
    pub shutdown: Shutdown,
    /// Whether its exit can shut its supervisor down (S10, see `AutoShutdown`). Only
    /// transient and temporary children can be significant.
    pub significant: bool,
}

impl ChildSpec {
    /// A permanent actor child of `component` with `args` (encoded), stopped with a
    /// 5 s shutdown timeout.
    pub fn actor(id: &str, component: &str, args: Vec<u8>) -> ChildSpec {
        ChildSpec {
            id: id.to_string(),
            kind: ChildKind::Actor {
                component: component.to_string(),
                args,
                mailbox: None,
                sandbox: None,
                keep_mailbox: false,
            },
            name: None,
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
            significant: false,
        }
    }

    /// A nested supervisor child (permanent, shutdown `Infinity`).
    pub fn supervisor(id: &str, spec: SupervisorSpec) -> ChildSpec {
        ChildSpec {
            id: id.to_string(),
            kind: ChildKind::Supervisor(spec),
            name: None,
            restart: Restart::Permanent,
            shutdown: Shutdown::Infinity,
            significant: false,
        }
    }

    /// Registers each instance of this child under `name`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Runs each instance of this actor child in `sandbox` (no effect on a
    /// supervisor child: give its spec a [`SupervisorSpec::sandbox`]).
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        if let ChildKind::Actor { sandbox: s, .. } = &mut self.kind {
            *s = Some(Arc::new(sandbox));
        }
        self
    }

    /// Hands what is queued in an instance's mailbox when it exits to the next
    /// instance (no effect on a supervisor child).
    pub fn keep_mailbox(mut self, keep: bool) -> Self {
        if let ChildKind::Actor { keep_mailbox, .. } = &mut self.kind {
            *keep_mailbox = keep;
        }
        self
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Marks the child significant (S10).
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }
}

/// A supervisor: strategy, restart intensity and children in start order.
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    /// Default `OneForOne`.
    pub strategy: Strategy,
    /// More than this many restarts within `max_seconds` makes the supervisor give up
    /// (S6). OTP's default: 1.
    pub max_restarts: u32,
    /// The intensity window. OTP's default: 5 s.
    pub max_seconds: Duration,
    /// Children, started in this order and stopped in reverse.
    pub children: Vec<ChildSpec>,
    /// The most children at once; `start_child` past it fails with `max_children`
    /// (S12). Default: no limit.
    pub max_children: Option<usize>,
    /// When the exit of significant children shuts the supervisor down (S10).
    pub auto_shutdown: AutoShutdown,
    /// The sandbox of its actor children that name none, including children added
    /// at run time and those of nested supervisors that name none either. `None`:
    /// the runtime's default (nothing granted). A supervisor started by a guest gets
    /// the guest's.
    pub sandbox: Option<Arc<Sandbox>>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            strategy: Strategy::OneForOne,
            max_restarts: 1,
            max_seconds: Duration::from_secs(5),
            children: Vec::new(),
            max_children: None,
            auto_shutdown: AutoShutdown::Never,
            sandbox: None,
        }
    }
}

/// When a supervisor shuts itself down because significant children exited (S10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShutdown {
    /// Never (the default).
    #[default]
    Never,
    /// When any significant child exits and is not restarted.
    AnySignificant,
    /// When every significant child has exited and none is restarted.
    AllSignificant,
}
/// A child added at run time.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NewChild {
    /// Its id; generated (`child-N`) when absent.
    pub id: Option<String>,
    /// The component to run.
    pub component: String,
    /// The encoded init argument, kept for restarts.
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// Its restart type (default `permanent`).
    pub restart: Restart,
    /// Milliseconds it may take to stop (default 5000); `None` with
    /// `brutal_kill` set kills it at once.
    pub shutdown_ms: Option<u64>,
    /// Kill at once on shutdown, without `terminate`.
    pub brutal_kill: bool,
    /// Whether it is significant (S10).
    pub significant: bool,
    /// Whether what is queued when an instance exits goes to the next one.
    pub keep_mailbox: bool,
}

impl NewChild {
    /// The child spec this describes; `fallback_id` names it when it has no id.
    pub(crate) fn into_child_spec(self, fallback_id: impl FnOnce() -> String) -> ChildSpec {
        let shutdown = match (self.brutal_kill, self.shutdown_ms) {
            (true, _) => Shutdown::BrutalKill,
            (false, Some(ms)) => Shutdown::Timeout(Duration::from_millis(ms)),
            (false, None) => Shutdown::Timeout(Duration::from_secs(5)),
        };
        ChildSpec {
            id: self.id.unwrap_or_else(fallback_id),
            kind: ChildKind::Actor {
                component: self.component,
                args: self.args,
                mailbox: None,
                sandbox: None,
                keep_mailbox: self.keep_mailbox,
            },
            name: self.name,
            restart: self.restart,
            shutdown,
            significant: self.significant,
        }
    }
}
/// One child, as `WhichChildren` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildInfo {
    /// Its id.
    pub id: String,
    /// Its current instance's id; `None` while it is not running.
    pub actor: Option<u64>,
    /// Whether it is a supervisor.
    pub supervisor: bool,
}
