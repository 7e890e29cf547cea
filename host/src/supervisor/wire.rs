//! The supervisor protocol as it travels today: MessagePack structs that a guest sends
//! with `runtime.start-supervisor` and as calls to a supervisor. The SDK writes the same
//! shapes; both sides must agree field by field.

use std::time::Duration;

use crate::supervisor::spec::{
    AutoShutdown, ChildInfo, ChildKind, ChildSpec, NewChild, Restart, Shutdown, Strategy,
    SupervisorSpec,
};

/// A request to a supervisor, sent as a call with a MessagePack payload; guests and
/// JSON tools use the same shape. The reply is a [`SupervisorReply`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum SupervisorRequest {
    /// Adds a child and starts it (OTP's `start_child`). Replies `Started(id)`.
    StartChild(NewChild),
    /// Stops a child by its id and removes it (OTP's `terminate_child` followed by
    /// `delete_child`). Replies `Terminated`.
    TerminateChild(String),
    /// Lists the children in start order. Replies `Children`.
    WhichChildren,
}
/// A supervisor spec as guests send it (`runtime.start-supervisor`), in MessagePack.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SupervisorWire {
    /// The name to register the supervisor under.
    pub name: Option<String>,
    /// Its strategy (default `one_for_one`).
    pub strategy: Strategy,
    /// Default 1.
    pub max_restarts: Option<u32>,
    /// Seconds; default 5.
    pub max_seconds: Option<u64>,
    /// The most children at once.
    pub max_children: Option<usize>,
    /// When significant children shut it down.
    pub auto_shutdown: AutoShutdown,
    /// Its children in start order.
    pub children: Vec<ChildWire>,
}

/// One child of a [`SupervisorWire`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ChildWire {
    /// An actor, as in `StartChild`.
    Actor(NewChild),
    /// A nested supervisor.
    Supervisor {
        /// Its id among its siblings.
        id: String,
        /// The name to register it under.
        #[serde(default)]
        name: Option<String>,
        /// Its restart type (default `permanent`).
        #[serde(default)]
        restart: Restart,
        /// Its own spec.
        spec: SupervisorWire,
    },
}

impl SupervisorWire {
    /// The spec to start, or what is wrong with it.
    pub(crate) fn into_spec(self) -> Result<SupervisorSpec, String> {
        let mut next = 0;
        let children = self
            .children
            .into_iter()
            .map(|child| match child {
                ChildWire::Actor(new) => {
                    next += 1;
                    Ok(new.into_child_spec(|| format!("child-{next}")))
                }
                ChildWire::Supervisor {
                    id,
                    name,
                    restart,
                    spec,
                } => Ok(ChildSpec {
                    id,
                    kind: ChildKind::Supervisor(spec.into_spec()?),
                    name,
                    restart,
                    shutdown: Shutdown::Infinity,
                    significant: false,
                }),
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SupervisorSpec {
            strategy: self.strategy,
            max_restarts: self.max_restarts.unwrap_or(1),
            max_seconds: Duration::from_secs(self.max_seconds.unwrap_or(5)),
            children,
            max_children: self.max_children,
            auto_shutdown: self.auto_shutdown,
            sandbox: None,
        })
    }
}

/// A supervisor's answer to a [`SupervisorRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SupervisorReply {
    /// The child started; its actor id.
    Started(u64),
    /// The child was stopped and removed.
    Terminated,
    /// The children in start order.
    Children(Vec<ChildInfo>),
    /// The request failed: `max_children`, `already_present`, `not_found`, a start
    /// failure with its reason, or a request that does not decode.
    Error(String),
}
