//! Talking to a supervisor from a guest: add children at run time (OTP's
//! `start_child`, Elixir's `DynamicSupervisor`), remove them, list them. The messages
//! are the host's `SupervisorRequest` and `SupervisorReply`, in MessagePack.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ActorId, SendError, call, codec};

/// When a child is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    #[default]
    Permanent,
    /// Unless it exited `normal` or `shutdown`.
    Transient,
    /// Never.
    Temporary,
}

/// A child to add.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewChild {
    /// Its id; generated when absent.
    pub id: Option<String>,
    /// The component to run.
    pub component: String,
    /// Its encoded init argument (see [`NewChild::new`]).
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// Its restart type.
    pub restart: Restart,
    /// Milliseconds it may take to stop (default 5000).
    pub shutdown_ms: Option<u64>,
    /// Kill at once on shutdown, without `terminate`.
    pub brutal_kill: bool,
    /// Whether its exit can shut the supervisor down.
    pub significant: bool,
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
#[derive(Debug, Clone, Default, Serialize)]
pub struct SupervisorSpec {
    /// A name to register it under.
    pub name: Option<String>,
    /// `"one_for_one"` (default), `"one_for_all"` or `"rest_for_one"`.
    pub strategy: Strategy,
    /// Default 1.
    pub max_restarts: Option<u32>,
    /// Seconds; default 5.
    pub max_seconds: Option<u64>,
    /// The most children at once.
    pub max_children: Option<usize>,
    /// Its children in start order.
    pub children: Vec<Child>,
}

/// A restart strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the failed child restarts.
    #[default]
    OneForOne,
    /// All children restart.
    OneForAll,
    /// The failed child and those after it restart.
    RestForOne,
}

/// A child of a [`SupervisorSpec`].
#[derive(Debug, Clone, Serialize)]
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

/// Starts a supervisor linked to this actor (OTP's `supervisor:start_link`); returns
/// once all its children have started. When this actor exits, the supervisor stops
/// its children and exits too.
pub fn start(spec: &SupervisorSpec) -> Result<ActorId, crate::SpawnError> {
    let bytes = codec::encode(spec).map_err(|e| crate::SpawnError::Unavailable(e.to_string()))?;
    crate::rt::start_supervisor(&bytes)
        .map(|id| ActorId::from_raw(id).expect("actor ids are never 0"))
}

/// One child, as [`which_children`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChildInfo {
    /// Its id.
    pub id: String,
    /// Its current instance, if running.
    pub actor: Option<u64>,
    /// Whether it is a supervisor.
    pub supervisor: bool,
}

#[derive(Serialize)]
enum Request<'a> {
    StartChild(&'a NewChild),
    TerminateChild(&'a str),
    WhichChildren,
}

#[derive(Deserialize)]
enum Reply {
    Started(u64),
    Terminated,
    Children(Vec<ChildInfo>),
    Error(String),
}

/// Why a supervisor request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The call itself failed (no such supervisor, timeout...).
    Send(SendError),
    /// The supervisor refused: `max_children`, `already_present`, `not_found`, or
    /// the child's start failure.
    Refused(String),
}

const TIMEOUT: Duration = Duration::from_secs(60);

fn request(supervisor: ActorId, req: &Request<'_>) -> Result<Reply, Error> {
    match call::<_, Reply>(supervisor, req, TIMEOUT).map_err(Error::Send)? {
        Reply::Error(e) => Err(Error::Refused(e)),
        reply => Ok(reply),
    }
}

fn unexpected() -> Error {
    Error::Refused("unexpected reply from the supervisor".into())
}

/// Adds `child` to `supervisor` and starts it; returns its first instance's id.
pub fn start_child(supervisor: ActorId, child: &NewChild) -> Result<ActorId, Error> {
    match request(supervisor, &Request::StartChild(child))? {
        Reply::Started(id) => ActorId::from_raw(id).ok_or_else(unexpected),
        _ => Err(unexpected()),
    }
}

/// Stops and removes the child `id`.
pub fn terminate_child(supervisor: ActorId, id: &str) -> Result<(), Error> {
    match request(supervisor, &Request::TerminateChild(id))? {
        Reply::Terminated => Ok(()),
        _ => Err(unexpected()),
    }
}

/// The supervisor's children in start order.
pub fn which_children(supervisor: ActorId) -> Result<Vec<ChildInfo>, Error> {
    match request(supervisor, &Request::WhichChildren)? {
        Reply::Children(children) => Ok(children),
        _ => Err(unexpected()),
    }
}
