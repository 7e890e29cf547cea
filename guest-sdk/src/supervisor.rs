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
