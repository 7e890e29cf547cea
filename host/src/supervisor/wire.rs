//! The requests a supervisor answers and its replies. They travel as calls to the
//! supervisor's mailbox, in MessagePack, between host code only: a guest reaches a
//! supervisor through the typed `supervision` interface of the WIT, whose host side
//! sends these.

use crate::error::SpawnError;
use crate::supervisor::spec::{ChildInfo, NewChild};

/// A request to a supervisor, sent as a call with a MessagePack payload by the host
/// side of the `supervision` interface and by `Runtime`. The reply is a
/// [`SupervisorReply`].
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
/// A supervisor's answer to a [`SupervisorRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SupervisorReply {
    /// The child started; its actor id.
    Started(u64),
    /// The child was stopped and removed.
    Terminated,
    /// The children in start order.
    Children(Vec<ChildInfo>),
    /// The request failed.
    Error(ChildError),
}

/// Why a supervisor refused a request. The texts of the first three are OTP's atoms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub(crate) enum ChildError {
    /// The supervisor is at its `max_children`.
    #[error("max_children")]
    MaxChildren,
    /// A child with that id exists already.
    #[error("already_present")]
    AlreadyPresent,
    /// No child has that id.
    #[error("not_found")]
    NotFound,
    /// The request or the child spec is invalid; the text says how.
    #[error("{0}")]
    Invalid(String),
    /// The actor that asked stopped before its child could be charged to it.
    #[error("noproc: the caller is gone")]
    CallerGone,
    /// The child did not start, or the asker is at its `max_children` quota.
    #[error("{0}")]
    StartFailed(SpawnError),
}
