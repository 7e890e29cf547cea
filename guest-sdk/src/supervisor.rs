//! Supervisors from a guest: start a supervision tree linked to this actor (OTP's
//! `supervisor:start_link`), add children at run time (OTP's `start_child`, Elixir's
//! `DynamicSupervisor`), remove them, list them. Everything travels as the typed
//! records of the WIT's `supervision` interface.

use serde::Serialize;

use crate::bindings::foundation::actor::supervision as ws;
use crate::{ActorId, SendError, SpawnError, codec};

/// When a child is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always.
    #[default]
    Permanent,
    /// Unless it exited `normal` or `shutdown`.
    Transient,
    /// Never; it leaves the child list when it exits.
    Temporary,
}

/// A restart strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the failed child restarts.
    #[default]
    OneForOne,
    /// All children stop (newest first) and all start again in order.
    OneForAll,
    /// The failed child and those after it restart.
    RestForOne,
}

/// When the exit of significant children shuts the supervisor down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoShutdown {
    /// Never (the default).
    #[default]
    Never,
    /// When any significant child exits and is not restarted.
    AnySignificant,
    /// When every significant child has exited and none is restarted.
    AllSignificant,
}

/// An actor child, to start with a supervisor or to add with [`start_child`].
#[derive(Debug, Clone, Default)]
pub struct NewChild {
    /// Its id; generated (`child-N`) when absent.
    pub id: Option<String>,
    /// The component to run.
    pub component: String,
    /// Its encoded init argument (see [`NewChild::new`]).
    pub args: Vec<u8>,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// Its restart type.
    pub restart: Restart,
    /// Milliseconds it may take to stop (default 5000).
    pub shutdown_ms: Option<u32>,
    /// Kill at once on shutdown, without `terminate`.
    pub brutal_kill: bool,
    /// Whether its exit can shut the supervisor down (see [`AutoShutdown`]); only
    /// transient and temporary children can be significant.
    pub significant: bool,
    /// Whether what is queued in an instance's mailbox when it exits goes to the
    /// next instance (beyond OTP).
    pub keep_mailbox: bool,
}

impl NewChild {
    /// A permanent child of `component` with `args` for its `init`.
    pub fn new<A: Serialize + ?Sized>(component: &str, args: &A) -> Result<NewChild, SendError> {
        Ok(NewChild {
            component: component.to_string(),
            args: codec::encode(args).map_err(|e| SendError::Codec(e.to_string()))?,
            ..NewChild::default()
        })
    }
}

/// A supervisor to start with [`start`].
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    /// A name to register it under.
    pub name: Option<String>,
    /// Its strategy.
    pub strategy: Strategy,
    /// More than this many restarts within `max_seconds` make it give up (default 1,
    /// OTP's).
    pub max_restarts: u32,
    /// The intensity window in seconds (default 5).
    pub max_seconds: u32,
    /// The most children at once.
    pub max_children: Option<u32>,
    /// When significant children shut it down.
    pub auto_shutdown: AutoShutdown,
    /// Its children in start order.
    pub children: Vec<Child>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            name: None,
            strategy: Strategy::OneForOne,
            max_restarts: 1,
            max_seconds: 5,
            max_children: None,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
        }
    }
}

/// A child of a [`SupervisorSpec`].
#[derive(Debug, Clone)]
pub enum Child {
    /// An actor.
    Actor(NewChild),
    /// A nested supervisor.
    Supervisor {
        /// Its id among its siblings.
        id: String,
        /// A name to register it under.
        name: Option<String>,
        /// Its restart type.
        restart: Restart,
        /// Its spec.
        spec: SupervisorSpec,
    },
}

/// One child, as [`which_children`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// Its id.
    pub id: String,
    /// Its current instance, if running.
    pub actor: Option<u64>,
    /// Whether it is a supervisor.
    pub supervisor: bool,
}

/// Why a request to a supervisor failed.
#[derive(Debug, Clone)]
pub enum Error {
    /// No supervisor lives at that address (or it stopped during the request).
    Noproc,
    /// The supervisor did not answer within 60 s.
    Timeout,
    /// The supervisor is at its `max_children`.
    MaxChildren,
    /// A child with that id exists already.
    AlreadyPresent,
    /// No child has that id.
    NotFound,
    /// The child spec is invalid; the text says how.
    Invalid(String),
    /// The child failed to start, or this actor is at its `max_children` quota.
    StartFailed(SpawnError),
}

/// Starts a supervisor linked to this actor (OTP's `supervisor:start_link`); returns
/// once all its children have started. Its actor children run in this actor's
/// sandbox, on its quotas. When this actor exits, the supervisor stops its children
/// and exits too.
pub fn start(spec: &SupervisorSpec) -> Result<ActorId, SpawnError> {
    let mut nested = Vec::new();
    let root = flatten(spec, &mut nested);
    ws::start_supervisor(&ws::SupervisorTree { root, nested })
        .map(|id| ActorId::from_raw(id).expect("actor ids are never 0"))
}

/// Adds `child` to `supervisor` and starts it; returns its first instance's id.
pub fn start_child(supervisor: ActorId, child: &NewChild) -> Result<ActorId, Error> {
    ws::start_child(supervisor.get(), &actor_child(child))
        .map(|id| ActorId::from_raw(id).expect("actor ids are never 0"))
        .map_err(Error::from)
}

/// Stops and removes the child `id`.
pub fn terminate_child(supervisor: ActorId, id: &str) -> Result<(), Error> {
    ws::terminate_child(supervisor.get(), id).map_err(Error::from)
}

/// The supervisor's children in start order.
pub fn which_children(supervisor: ActorId) -> Result<Vec<ChildInfo>, Error> {
    let children = ws::which_children(supervisor.get()).map_err(Error::from)?;
    Ok(children
        .into_iter()
        .map(|c| ChildInfo {
            id: c.id,
            actor: c.actor,
            supervisor: c.supervisor,
        })
        .collect())
}

/// `spec` as WIT records; its nested supervisors go to `nested`, named by index
/// (WIT types cannot contain themselves).
fn flatten(spec: &SupervisorSpec, nested: &mut Vec<ws::SupervisorSpec>) -> ws::SupervisorSpec {
    let children = spec
        .children
        .iter()
        .map(|child| match child {
            Child::Actor(new) => ws::ChildSpec::Actor(actor_child(new)),
            Child::Supervisor {
                id,
                name,
                restart,
                spec,
            } => {
                let flat = flatten(spec, nested);
                nested.push(flat);
                ws::ChildSpec::Supervisor(ws::SupervisorChild {
                    id: id.clone(),
                    name: name.clone(),
                    restart: wit_restart(*restart),
                    spec: u32::try_from(nested.len() - 1).expect("fewer than 2^32 supervisors"),
                })
            }
        })
        .collect();
    ws::SupervisorSpec {
        name: spec.name.clone(),
        strategy: match spec.strategy {
            Strategy::OneForOne => ws::Strategy::OneForOne,
            Strategy::OneForAll => ws::Strategy::OneForAll,
            Strategy::RestForOne => ws::Strategy::RestForOne,
        },
        max_restarts: spec.max_restarts,
        max_seconds: spec.max_seconds,
        max_children: spec.max_children,
        auto_shutdown: match spec.auto_shutdown {
            AutoShutdown::Never => ws::AutoShutdown::Never,
            AutoShutdown::AnySignificant => ws::AutoShutdown::AnySignificant,
            AutoShutdown::AllSignificant => ws::AutoShutdown::AllSignificant,
        },
        children,
    }
}

fn actor_child(new: &NewChild) -> ws::ActorChild {
    ws::ActorChild {
        id: new.id.clone(),
        component: new.component.clone(),
        args: new.args.clone(),
        name: new.name.clone(),
        restart: wit_restart(new.restart),
        shutdown: if new.brutal_kill {
            Some(ws::Shutdown::BrutalKill)
        } else {
            new.shutdown_ms.map(ws::Shutdown::Timeout)
        },
        significant: new.significant,
        keep_mailbox: new.keep_mailbox,
    }
}

fn wit_restart(r: Restart) -> ws::Restart {
    match r {
        Restart::Permanent => ws::Restart::Permanent,
        Restart::Transient => ws::Restart::Transient,
        Restart::Temporary => ws::Restart::Temporary,
    }
}

impl From<ws::ChildError> for Error {
    fn from(e: ws::ChildError) -> Self {
        match e {
            ws::ChildError::Noproc => Error::Noproc,
            ws::ChildError::Timeout => Error::Timeout,
            ws::ChildError::MaxChildren => Error::MaxChildren,
            ws::ChildError::AlreadyPresent => Error::AlreadyPresent,
            ws::ChildError::NotFound => Error::NotFound,
            ws::ChildError::Invalid(m) => Error::Invalid(m),
            ws::ChildError::StartFailed(e) => Error::StartFailed(e),
        }
    }
}
