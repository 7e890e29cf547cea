//! The glue behind `export_actor!`: keeps the actor's state between guest entries and
//! turns batches into handler calls. Not a public API.

use std::cell::RefCell;

use foundation_wire::batch::{self, Envelope};
use foundation_wire::reply;

use crate::bindings::exports::foundation::actor::actor::BatchResult;
use crate::bindings::foundation::actor::logging;
use crate::bindings::foundation::actor::messaging;
use crate::bindings::foundation::actor::types as wit;
use crate::{Actor, ActorId, CallResult, Caller, ExitReason, Flow, codec};

trait Dispatch {
    fn handle(&mut self, batch: &[u8], replies: &mut Vec<u8>) -> Option<ExitReason>;
    fn handle_info(&mut self, info: crate::Info) -> Option<ExitReason>;
    fn terminate(&mut self, reason: ExitReason);
}

struct Running<A>(A);

impl<A: Actor> Dispatch for Running<A> {
    fn handle(&mut self, batch: &[u8], replies: &mut Vec<u8>) -> Option<ExitReason> {
        for envelope in batch::read(batch) {
            // The host writes the batch: a malformed one is a host bug.
            let envelope = envelope.unwrap_or_else(|e| panic!("foundation: {e}"));
            match envelope {
                Envelope::Cast { from, payload } => {
                    let flow = match codec::decode::<A::Cast>(payload) {
                        Ok(msg) => self.0.handle_cast(msg),
                        Err(e) => {
                            messaging::unexpected(
                                from,
                                None,
                                &format!("not this actor's Cast type: {e}"),
                            );
                            self.0.handle_unexpected(payload, ActorId::from_raw(from))
                        }
                    };
                    if let Flow::Stop(reason) = flow {
                        return Some(reason);
                    }
                }
                Envelope::Call {
                    from,
                    handle,
                    payload,
                } => {
                    let msg: A::Call = match codec::decode(payload) {
                        Ok(msg) => msg,
                        Err(e) => {
                            // The caller gets `rejected` at once; the actor goes on.
                            messaging::unexpected(
                                from,
                                Some(handle),
                                &format!("not this actor's Call type: {e}"),
                            );
                            continue;
                        }
                    };
                    match self
                        .0
                        .handle_call(msg, Caller::new(ActorId::from_raw(from), handle))
                    {
                        CallResult::Reply(r) => push_reply(replies, handle, &r),
                        CallResult::NoReply => {}
                        CallResult::Stop { reason, reply } => {
                            if let Some(r) = reply {
                                push_reply(replies, handle, &r);
                            }
                            return Some(reason);
                        }
                    }
                }
            }
        }
        None
    }

    fn handle_info(&mut self, info: crate::Info) -> Option<ExitReason> {
        match self.0.handle_info(info) {
            Flow::Continue => None,
            Flow::Stop(reason) => Some(reason),
        }
    }

    fn terminate(&mut self, reason: ExitReason) {
        self.0.terminate(reason)
    }
}

/// Room for a first reply or two, so a batch's replies do not grow their buffer 8,
/// 16, 32, 64 bytes.
const FIRST_REPLIES: usize = 128;

/// Appends the reply to `handle`, encoding `r` in place (no buffer of its own).
fn push_reply<R: serde::Serialize>(replies: &mut Vec<u8>, handle: u64, r: &R) {
    if replies.capacity() == 0 {
        replies.reserve(FIRST_REPLIES);
    }
    let start = reply::begin_reply(replies, handle);
    if let Err(e) = codec::encode_into(replies, r) {
        reply::abandon_reply(replies, start);
        panic!("reply does not encode: {e}");
    }
    if let Err(e) = reply::finish_reply(replies, start) {
        panic!("reply does not fit a frame: {e}");
    }
}

thread_local! {
    static ACTOR: RefCell<Option<Box<dyn Dispatch>>> = const { RefCell::new(None) };
}

/// The host logs a trap with the recorded message and the wasm backtrace, and makes
/// the message the exit reason.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| logging::record_panic(&info.to_string())));
}

pub fn init<A: Actor>(args: Vec<u8>) -> Result<(), String> {
    install_panic_hook();
    let args: A::Args =
        codec::decode(&args).map_err(|e| format!("init args do not decode: {e}"))?;
    let actor = A::init(args)?;
    ACTOR.with(|slot| *slot.borrow_mut() = Some(Box::new(Running(actor))));
    Ok(())
}

pub fn handle(batch: Vec<u8>) -> BatchResult {
    let mut replies = Vec::new();
    let stop = ACTOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        let actor = slot
            .as_mut()
            .expect("foundation: handle before a successful init");
        actor.handle(&batch, &mut replies)
    });
    BatchResult {
        replies,
        stop: stop.map(Into::into),
    }
}

pub fn handle_info(info: wit::Info) -> Option<wit::ExitReason> {
    ACTOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        let actor = slot
            .as_mut()
            .expect("foundation: handle-info before a successful init");
        actor.handle_info(info.into()).map(Into::into)
    })
}

pub fn terminate(reason: wit::ExitReason) {
    ACTOR.with(|slot| {
        if let Some(actor) = slot.borrow_mut().as_mut() {
            actor.terminate(reason.into());
        }
    });
}

/// Runs a task function in a task's fresh instance (no `init` ran there).
pub fn run_task(
    tasks: fn(&str, &[u8]) -> Result<Vec<u8>, String>,
    function: &str,
    input: &[u8],
) -> Result<Vec<u8>, String> {
    install_panic_hook();
    tasks(function, input)
}
