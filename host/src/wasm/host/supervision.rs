//! The host side of the `supervision` interface: a guest starts a supervision tree
//! (typed WIT records, turned into a `SupervisorSpec` here) and asks supervisors to
//! add, remove and list children. A request to a supervisor is a call to its mailbox,
//! as the Rust API makes it.

use std::sync::Arc;
use std::time::Duration;

use crate::codec;
use crate::id::ActorId;
use crate::process::cell::ActorCell;
use crate::supervisor::server as supervisor;
use crate::supervisor::spec::{
    AutoShutdown, ChildInfo, ChildKind, ChildSpec, NewChild, Restart, Shutdown, Strategy,
    SupervisorSpec,
};
use crate::supervisor::wire::{ChildError, SupervisorReply, SupervisorRequest};
use crate::wasm::bindings::foundation::actor::supervision as ws;
use crate::wasm::bindings::wit;
use crate::wasm::store::ActorData;

/// How long a guest waits for a supervisor's answer, as the Rust API does.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most supervisors and children one `start-supervisor` may describe, once its
/// nested specs are expanded (a spec may be named by several parents).
const MAX_TREE_NODES: usize = 4096;

impl ws::Host for ActorData {
    async fn start_supervisor(&mut self, tree: ws::SupervisorTree) -> Result<u64, wit::SpawnError> {
        let name = tree.root.name.clone();
        let mut nodes = 0;
        let mut spec = expand(&tree, &tree.root, &mut Vec::new(), &mut nodes)
            .map_err(|e| wit::SpawnError::Unavailable(format!("invalid supervisor tree: {e}")))?;
        // Its actor children, now and added later, run in this actor's sandbox and
        // join its lineage, each on its quota.
        spec.sandbox = Some(self.authority.sandbox.clone());
        let permit = self.child_permit()?;
        let cell = supervisor::start(
            &self.node,
            spec,
            name,
            Some(self.cell.clone()),
            None,
            Some(self.authority.lineage.clone()),
        )
        .await?;
        cell.permit.hold(permit);
        Ok(cell.id.get())
    }

    async fn start_child(
        &mut self,
        supervisor: u64,
        child: ws::ActorChild,
    ) -> Result<u64, ws::ChildError> {
        let new = new_child(child).map_err(ws::ChildError::Invalid)?;
        match self
            .request(supervisor, SupervisorRequest::StartChild(new))
            .await?
        {
            SupervisorReply::Started(id) => Ok(id),
            other => Err(unexpected(&other)),
        }
    }

    async fn terminate_child(&mut self, supervisor: u64, id: String) -> Result<(), ws::ChildError> {
        match self
            .request(supervisor, SupervisorRequest::TerminateChild(id))
            .await?
        {
            SupervisorReply::Terminated => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    async fn which_children(
        &mut self,
        supervisor: u64,
    ) -> Result<Vec<ws::ChildInfo>, ws::ChildError> {
        match self
            .request(supervisor, SupervisorRequest::WhichChildren)
            .await?
        {
            SupervisorReply::Children(children) => Ok(children
                .into_iter()
                .map(
                    |ChildInfo {
                         id,
                         actor,
                         supervisor,
                     }| ws::ChildInfo {
                        id,
                        actor,
                        supervisor,
                    },
                )
                .collect()),
            other => Err(unexpected(&other)),
        }
    }
}

impl ActorData {
    /// Calls the supervisor at `to` with `request` as this actor and decodes its
    /// answer; a refusal is the supervisor's `ChildError`.
    async fn request(
        &mut self,
        to: u64,
        request: SupervisorRequest,
    ) -> Result<SupervisorReply, ws::ChildError> {
        let target: Arc<ActorCell> = ActorId::from_raw(to)
            .and_then(|id| self.node.registry.get(id))
            .ok_or(ws::ChildError::Noproc)?;
        let payload = codec::encode(&request)
            .map_err(|e| ws::ChildError::Invalid(format!("the request does not encode: {e}")))?;
        let reply = self
            .node
            .call(self.me(), &target, payload, REQUEST_TIMEOUT)
            .await
            .map_err(|e| match e {
                crate::error::SendError::Timeout(_) => ws::ChildError::Timeout,
                crate::error::SendError::Noproc | crate::error::SendError::Exited(_) => {
                    ws::ChildError::Noproc
                }
                other => ws::ChildError::Invalid(other.to_string()),
            })?;
        match codec::decode::<SupervisorReply>(&reply) {
            Ok(SupervisorReply::Error(e)) => Err(child_error(e)),
            Ok(reply) => Ok(reply),
            Err(_) => Err(ws::ChildError::Invalid(format!(
                "actor {to} is not a supervisor"
            ))),
        }
    }
}

fn unexpected(reply: &SupervisorReply) -> ws::ChildError {
    ws::ChildError::Invalid(format!("unexpected supervisor reply {reply:?}"))
}

fn child_error(e: ChildError) -> ws::ChildError {
    match e {
        ChildError::MaxChildren => ws::ChildError::MaxChildren,
        ChildError::AlreadyPresent => ws::ChildError::AlreadyPresent,
        ChildError::NotFound => ws::ChildError::NotFound,
        ChildError::Invalid(m) => ws::ChildError::Invalid(m),
        ChildError::CallerGone => ws::ChildError::Noproc,
        ChildError::StartFailed(e) => ws::ChildError::StartFailed(e.into()),
    }
}

/// A child added at run time, as the supervisor protocol carries it.
fn new_child(child: ws::ActorChild) -> Result<NewChild, String> {
    let (shutdown_ms, brutal_kill) = match child.shutdown {
        None => (None, false),
        Some(ws::Shutdown::BrutalKill) => (None, true),
        Some(ws::Shutdown::Timeout(ms)) => (Some(u64::from(ms)), false),
        Some(ws::Shutdown::Infinity) => {
            return Err(
                "an actor child stops within a timeout or by brutal-kill; `infinity` is for supervisors"
                    .into(),
            );
        }
    };
    Ok(NewChild {
        id: child.id,
        component: child.component,
        args: child.args,
        name: child.name,
        restart: restart(child.restart),
        shutdown_ms,
        brutal_kill,
        significant: child.significant,
        keep_mailbox: child.keep_mailbox,
    })
}

/// The `SupervisorSpec` of `spec` (the root of `tree`, or one of its nested specs)
/// with its whole subtree. `path` holds the nested indices being expanded, so a spec
/// that names itself, directly or not, is refused; `nodes` counts what the
/// expansion made, so a spec named by many parents cannot blow it up.
fn expand(
    tree: &ws::SupervisorTree,
    spec: &ws::SupervisorSpec,
    path: &mut Vec<u32>,
    nodes: &mut usize,
) -> Result<SupervisorSpec, String> {
    let mut children = Vec::with_capacity(spec.children.len());
    let mut next = 0;
    for child in &spec.children {
        *nodes += 1;
        if *nodes > MAX_TREE_NODES {
            return Err(format!(
                "more than {MAX_TREE_NODES} supervisors and children"
            ));
        }
        children.push(match child {
            ws::ChildSpec::Actor(actor) => {
                let new = new_child(actor.clone())?;
                new.into_child_spec(|| {
                    next += 1;
                    format!("child-{next}")
                })
            }
            ws::ChildSpec::Supervisor(sup) => {
                let index = sup.spec;
                let nested = tree.nested.get(index as usize).ok_or_else(|| {
                    format!(
                        "child {:?} names nested spec {index}, but there are {}",
                        sup.id,
                        tree.nested.len()
                    )
                })?;
                if path.contains(&index) {
                    return Err(format!(
                        "child {:?}: nested spec {index} contains itself",
                        sup.id
                    ));
                }
                path.push(index);
                let spec = expand(tree, nested, path, nodes)?;
                path.pop();
                ChildSpec {
                    id: sup.id.clone(),
                    kind: ChildKind::Supervisor(spec),
                    name: sup.name.clone(),
                    restart: restart(sup.restart),
                    shutdown: Shutdown::Infinity,
                    significant: false,
                }
            }
        });
    }
    Ok(SupervisorSpec {
        strategy: match spec.strategy {
            ws::Strategy::OneForOne => Strategy::OneForOne,
            ws::Strategy::OneForAll => Strategy::OneForAll,
            ws::Strategy::RestForOne => Strategy::RestForOne,
        },
        max_restarts: spec.max_restarts,
        max_seconds: Duration::from_secs(spec.max_seconds.into()),
        children,
        max_children: spec.max_children.map(|n| n as usize),
        auto_shutdown: match spec.auto_shutdown {
            ws::AutoShutdown::Never => AutoShutdown::Never,
            ws::AutoShutdown::AnySignificant => AutoShutdown::AnySignificant,
            ws::AutoShutdown::AllSignificant => AutoShutdown::AllSignificant,
        },
        sandbox: None,
    })
}

fn restart(r: ws::Restart) -> Restart {
    match r {
        ws::Restart::Permanent => Restart::Permanent,
        ws::Restart::Transient => Restart::Transient,
        ws::Restart::Temporary => Restart::Temporary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(children: Vec<ws::ChildSpec>) -> ws::SupervisorSpec {
        ws::SupervisorSpec {
            name: None,
            strategy: ws::Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 10,
            max_children: Some(7),
            auto_shutdown: ws::AutoShutdown::AnySignificant,
            children,
        }
    }

    fn actor(id: Option<&str>) -> ws::ChildSpec {
        ws::ChildSpec::Actor(ws::ActorChild {
            id: id.map(str::to_string),
            component: "c".into(),
            args: vec![1],
            name: None,
            restart: ws::Restart::Transient,
            shutdown: Some(ws::Shutdown::BrutalKill),
            significant: true,
            keep_mailbox: false,
        })
    }

    fn nested(id: &str, index: u32) -> ws::ChildSpec {
        ws::ChildSpec::Supervisor(ws::SupervisorChild {
            id: id.into(),
            name: Some(format!("{id}-name")),
            restart: ws::Restart::Permanent,
            spec: index,
        })
    }

    fn expand_tree(tree: &ws::SupervisorTree) -> Result<SupervisorSpec, String> {
        expand(tree, &tree.root, &mut Vec::new(), &mut 0)
    }

    #[test]
    fn a_tree_expands_with_its_nested_specs_and_generated_ids() {
        let tree = ws::SupervisorTree {
            root: spec(vec![actor(None), nested("inner", 0), actor(None)]),
            nested: vec![spec(vec![actor(Some("leaf"))])],
        };
        let root = expand_tree(&tree).unwrap();
        assert_eq!(root.strategy, Strategy::OneForAll);
        assert_eq!(root.max_restarts, 3);
        assert_eq!(root.max_seconds, Duration::from_secs(10));
        assert_eq!(root.max_children, Some(7));
        assert_eq!(root.auto_shutdown, AutoShutdown::AnySignificant);
        let ids: Vec<_> = root.children.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["child-1", "inner", "child-2"]);
        let first = &root.children[0];
        assert_eq!(
            (first.restart, first.shutdown, first.significant),
            (Restart::Transient, Shutdown::BrutalKill, true)
        );
        let ChildKind::Supervisor(inner) = &root.children[1].kind else {
            panic!("a supervisor child: {:?}", root.children[1]);
        };
        assert_eq!(root.children[1].name.as_deref(), Some("inner-name"));
        assert_eq!(root.children[1].shutdown, Shutdown::Infinity);
        assert_eq!(inner.children[0].id, "leaf");
    }

    #[test]
    fn a_spec_that_contains_itself_or_names_no_spec_is_refused() {
        let cycle = ws::SupervisorTree {
            root: spec(vec![nested("a", 0)]),
            nested: vec![spec(vec![nested("b", 1)]), spec(vec![nested("c", 0)])],
        };
        let err = expand_tree(&cycle).unwrap_err();
        assert_eq!(err, "child \"c\": nested spec 0 contains itself");
        let missing = ws::SupervisorTree {
            root: spec(vec![nested("a", 3)]),
            nested: vec![],
        };
        let err = expand_tree(&missing).unwrap_err();
        assert_eq!(err, "child \"a\" names nested spec 3, but there are 0");
    }

    #[test]
    fn a_spec_named_by_many_parents_cannot_blow_the_tree_up() {
        // Each level names the next twice: 2^20 supervisors once expanded.
        let levels = 20;
        let specs: Vec<ws::SupervisorSpec> = (0..levels)
            .map(|i| {
                if i + 1 < levels {
                    spec(vec![nested("x", i + 1), nested("y", i + 1)])
                } else {
                    spec(vec![actor(None)])
                }
            })
            .collect();
        let tree = ws::SupervisorTree {
            root: spec(vec![nested("top", 0)]),
            nested: specs,
        };
        let err = expand_tree(&tree).unwrap_err();
        assert_eq!(
            err,
            format!("more than {MAX_TREE_NODES} supervisors and children")
        );
    }

    #[test]
    fn an_actor_child_cannot_wait_forever_to_stop() {
        let child = ws::ActorChild {
            id: None,
            component: "c".into(),
            args: vec![],
            name: None,
            restart: ws::Restart::Permanent,
            shutdown: Some(ws::Shutdown::Infinity),
            significant: false,
            keep_mailbox: false,
        };
        assert!(
            new_child(child)
                .unwrap_err()
                .contains("`infinity` is for supervisors")
        );
    }
}
