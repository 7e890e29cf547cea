//! The one place that converts between the host's Rust types and the WIT types of
//! `foundation:actor`: exit reasons, limits, and the errors of each interface.

use crate::error::{ExitReason, Limit, SendError, SpawnError};
use crate::events::{EventError, Fanout};
use crate::process::registry::NameError;
use crate::tables::table::{Page, TableError};
use crate::wasm::bindings::foundation::actor::events as we;
use crate::wasm::bindings::foundation::actor::tables as wt;
use crate::wasm::bindings::wit;
use crate::wasm::store::ActorData;

// The `types` interface has no functions; its (empty) host trait is implemented here.
impl wit::Host for ActorData {}

impl From<wit::Limit> for Limit {
    fn from(l: wit::Limit) -> Self {
        match l {
            wit::Limit::Memory => Limit::Memory,
            wit::Limit::TableElements => Limit::TableElements,
            wit::Limit::Deadline => Limit::Deadline,
        }
    }
}

impl From<Limit> for wit::Limit {
    fn from(l: Limit) -> Self {
        match l {
            Limit::Memory => wit::Limit::Memory,
            Limit::TableElements => wit::Limit::TableElements,
            Limit::Deadline => wit::Limit::Deadline,
        }
    }
}

impl From<wit::ExitReason> for ExitReason {
    fn from(r: wit::ExitReason) -> Self {
        match r {
            wit::ExitReason::Normal => ExitReason::Normal,
            wit::ExitReason::Shutdown => ExitReason::Shutdown,
            wit::ExitReason::Killed => ExitReason::Killed,
            wit::ExitReason::Trap(m) => ExitReason::Trap(m),
            wit::ExitReason::Custom(m) => ExitReason::Custom(m),
            wit::ExitReason::Noproc => ExitReason::Noproc,
            wit::ExitReason::Limit((l, m)) => ExitReason::Limit(l.into(), m),
        }
    }
}

impl From<ExitReason> for wit::ExitReason {
    fn from(r: ExitReason) -> Self {
        match r {
            ExitReason::Normal => wit::ExitReason::Normal,
            ExitReason::Shutdown => wit::ExitReason::Shutdown,
            ExitReason::Killed => wit::ExitReason::Killed,
            ExitReason::Trap(m) => wit::ExitReason::Trap(m),
            ExitReason::Custom(m) => wit::ExitReason::Custom(m),
            ExitReason::Noproc => wit::ExitReason::Noproc,
            ExitReason::Limit(l, m) => wit::ExitReason::Limit((l.into(), m)),
        }
    }
}

impl From<SendError> for wit::SendError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Noproc => wit::SendError::Noproc,
            SendError::MailboxFull { .. } => wit::SendError::MailboxFull,
            SendError::Timeout(_) => wit::SendError::Timeout,
            SendError::Exited(r) => wit::SendError::Exited(r.into()),
            SendError::TooLarge { size, .. } => wit::SendError::TooLarge(size as u64),
            SendError::Rejected(why) => wit::SendError::Rejected(why),
            SendError::QuotaExceeded(why) => wit::SendError::QuotaExceeded(why),
        }
    }
}

impl From<SpawnError> for wit::SpawnError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::UnknownComponent { name, .. } => wit::SpawnError::UnknownComponent(name),
            SpawnError::InitFailed { reason, .. } => wit::SpawnError::InitFailed(reason.into()),
            SpawnError::QuotaExceeded(why) => wit::SpawnError::QuotaExceeded(why),
            other => wit::SpawnError::Unavailable(other.to_string()),
        }
    }
}

pub(crate) fn name_error(e: NameError) -> wit::NameError {
    match e {
        NameError::AlreadyRegistered => wit::NameError::AlreadyRegistered,
        NameError::AlreadyNamed => wit::NameError::AlreadyNamed,
        NameError::NotRegistered => wit::NameError::NotRegistered,
        NameError::Invalid => wit::NameError::InvalidName,
    }
}

impl From<TableError> for wt::TableError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::NoTable => wt::TableError::NoTable,
            TableError::UnknownName(n) => wt::TableError::UnknownName(n),
            TableError::NameTaken(n) => wt::TableError::NameTaken(n),
            TableError::AccessDenied(m) => wt::TableError::AccessDenied(m),
            TableError::QuotaExceeded(m) => wt::TableError::QuotaExceeded(m),
            TableError::TooLarge(n) => wt::TableError::TooLarge(n),
            TableError::NoKey => wt::TableError::NoKey,
            TableError::NotACounter => wt::TableError::NotACounter,
            TableError::Unordered => wt::TableError::Unordered,
            TableError::Noproc => wt::TableError::Noproc,
            TableError::Invalid(m) => wt::TableError::Invalid(m),
            TableError::Storage(m) => wt::TableError::Storage(m),
        }
    }
}

pub(crate) fn page(p: Page) -> wt::Page {
    wt::Page {
        entries: p
            .entries
            .into_iter()
            .map(|e| wt::Entry {
                key: e.key,
                value: e.value,
            })
            .collect(),
        next: p.next,
    }
}

impl From<EventError> for we::EventError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::Invalid(m) => we::EventError::Invalid(m),
            EventError::TooLarge(n) => we::EventError::TooLarge(n),
            EventError::QuotaExceeded(m) => we::EventError::QuotaExceeded(m),
        }
    }
}

impl From<Fanout> for we::Fanout {
    fn from(f: Fanout) -> Self {
        we::Fanout {
            delivered: f.delivered,
            dead_letters: f.dead_letters,
        }
    }
}
