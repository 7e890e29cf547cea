//! The TOML manifest: which components exist, which actors start from them, with what
//! arguments. Every error names the file, line and column, and what was expected.
//!
//! ```toml
//! [components.counter]
//! path = "target/wasm32-wasip2/release/counter.wasm"  # relative to this file
//! build = "cargo build --release --target wasm32-wasip2"  # optional, for --build
//!
//! [[actors]]
//! name = "counter"
//! component = "counter"
//! mailbox = 1024          # optional; the runtime's default otherwise
//! args = { start = 10 }   # optional; handed to init, encoded as MessagePack
//! ```
//!
//! A supervision tree is a set of named supervisors, each listing its children (actors
//! or other supervisors) by name in start order:
//!
//! ```toml
//! [[supervisors]]
//! name = "root"
//! strategy = "one_for_one"   # one_for_all, rest_for_one
//! max_restarts = 3           # default 1 (OTP)
//! max_seconds = 5            # default 5
//! children = ["counter", "workers"]
//!
//! [[supervisors]]
//! name = "workers"           # nested under root
//! strategy = "one_for_all"
//! children = []              # children can also be added at run time
//! max_children = 100
//!
//! [[actors]]
//! name = "counter"
//! component = "counter"
//! restart = "permanent"      # transient, temporary; supervised actors only
//! shutdown = 5000            # milliseconds, "brutal_kill" or "infinity"
//! ```
//!
//! Actors and supervisors that no supervisor lists are top level; they start in the
//! order they appear in the file. Sections for limits and capabilities are reserved
//! for later versions; unknown keys are rejected so that a typo never passes silently.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::supervisor::{AutoShutdown, Restart, Shutdown, Strategy};

/// A parsed, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from ("<memory>" when parsed from a string).
    pub file: PathBuf,
    /// Components, in name order.
    pub components: Vec<ComponentDecl>,
    /// Actors, in file order.
    pub actors: Vec<ActorDecl>,
    /// Supervisors, in file order.
    pub supervisors: Vec<SupervisorDecl>,
    /// The names of the top-level actors and supervisors (those no supervisor
    /// lists), in the order they start.
    pub roots: Vec<String>,
}

/// A supervisor declared in `[[supervisors]]`.
#[derive(Debug, Clone)]
pub struct SupervisorDecl {
    /// Its unique name; it is registered under it.
    pub name: String,
    /// Its restart strategy.
    pub strategy: Strategy,
    /// Restart intensity: at most this many restarts...
    pub max_restarts: u32,
    /// ...within this window.
    pub max_seconds: Duration,
    /// Its children's names, in start order.
    pub children: Vec<String>,
    /// Its restart type, when it is itself supervised.
    pub restart: Option<Restart>,
    /// How its supervisor stops it, when it is itself supervised.
    pub shutdown: Option<Shutdown>,
    /// The most children at once (for children added at run time).
    pub max_children: Option<usize>,
    /// When significant children shut it down.
    pub auto_shutdown: AutoShutdown,
    /// Where it is declared.
    pub location: Location,
}

/// A component declared in `[components.NAME]`.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// Its name, which actors refer to.
    pub name: String,
    /// The `.wasm` file, resolved against the manifest's directory.
    pub path: PathBuf,
    /// A shell command that builds it (`foundation run --build`).
    pub build: Option<String>,
    /// The directory the build command runs in (the manifest's by default).
    pub workdir: PathBuf,
    /// Where `path` is written in the manifest, for errors about the file.
    pub location: Location,
}

/// An actor declared in `[[actors]]`.
#[derive(Debug, Clone)]
pub struct ActorDecl {
    /// Its unique name; the actor is registered under it.
    pub name: String,
    /// The component it runs.
    pub component: String,
    /// Its init argument, encoded as MessagePack.
    pub args: Vec<u8>,
    /// Its mailbox capacity, when it overrides the runtime's default.
    pub mailbox: Option<usize>,
    /// Its restart type, when supervised.
    pub restart: Option<Restart>,
    /// How its supervisor stops it, when supervised.
    pub shutdown: Option<Shutdown>,
    /// Whether its exit can shut its supervisor down (`auto_shutdown`).
    pub significant: bool,
    /// Where the actor is declared, for errors about it.
    pub location: Location,
}

/// A place in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The manifest file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// An invalid manifest: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", location.as_ref().map_or_else(|| file.display().to_string(), |l| l.to_string()))]
pub struct ManifestError {
    /// The manifest file.
    pub file: PathBuf,
    /// Where in it, when the error has a place.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    components: BTreeMap<String, Spanned<RawComponent>>,
    #[serde(default)]
    actors: Vec<Spanned<RawActor>>,
    #[serde(default)]
    supervisors: Vec<Spanned<RawSupervisor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    name: Spanned<String>,
    #[serde(default)]
    strategy: Strategy,
    max_restarts: Option<u32>,
    max_seconds: Option<u64>,
    #[serde(default)]
    children: Vec<Spanned<String>>,
    restart: Option<Spanned<Restart>>,
    shutdown: Option<Spanned<RawShutdown>>,
    max_children: Option<usize>,
    #[serde(default)]
    auto_shutdown: AutoShutdown,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawShutdown {
    Millis(u64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    path: Spanned<String>,
    build: Option<String>,
    workdir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    name: Spanned<String>,
    component: Spanned<String>,
    #[serde(default)]
    args: Option<Spanned<toml::Table>>,
    mailbox: Option<Spanned<usize>>,
    restart: Option<Spanned<Restart>>,
    shutdown: Option<Spanned<RawShutdown>>,
    #[serde(default)]
    significant: bool,
}

impl Manifest {
    /// Reads and validates a manifest file. Relative paths in it are resolved against
    /// its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            file: path.to_path_buf(),
            location: None,
            message: format!("cannot read the manifest: {e}"),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Manifest::parse(&text, path, &dir)
    }

    /// Parses and validates manifest text. `file` names it in errors; relative paths
    /// are resolved against `base_dir`.
    pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<Manifest, ManifestError> {
        let at = |span: Range<usize>, message: String| ManifestError {
            file: file.to_path_buf(),
            location: Some(locate(text, file, span.start)),
            message,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            match e.span() {
                Some(span) => at(span, message),
                None => ManifestError {
                    file: file.to_path_buf(),
                    location: None,
                    message,
                },
            }
        })?;

        let mut components = Vec::with_capacity(raw.components.len());
        for (name, decl) in &raw.components {
            let span = decl.span();
            let decl = decl.get_ref();
            if decl.path.get_ref().trim().is_empty() {
                return Err(at(
                    decl.path.span(),
                    format!("component {name:?}: `path` must not be empty"),
                ));
            }
            if let Some(build) = &decl.build
                && build.trim().is_empty()
            {
                return Err(at(
                    span,
                    format!("component {name:?}: `build` must not be empty"),
                ));
            }
            components.push(ComponentDecl {
                name: name.clone(),
                path: base_dir.join(decl.path.get_ref()),
                build: decl.build.clone(),
                workdir: decl
                    .workdir
                    .as_ref()
                    .map_or_else(|| base_dir.to_path_buf(), |w| base_dir.join(w)),
                location: locate(text, file, decl.path.span().start),
            });
        }

        let mut actors: Vec<ActorDecl> = Vec::with_capacity(raw.actors.len());
        for actor in &raw.actors {
            let span = actor.span();
            let actor = actor.get_ref();
            let name = actor.name.get_ref();
            if let Err(why) = crate::registry::validate_name(name) {
                return Err(at(actor.name.span(), format!("actor name {name:?}: {why}")));
            }
            if let Some(first) = actors.iter().find(|a| &a.name == name) {
                return Err(at(
                    actor.name.span(),
                    format!(
                        "actor name {name:?} is used twice (first at line {})",
                        first.location.line
                    ),
                ));
            }
            let component = actor.component.get_ref();
            if !raw.components.contains_key(component) {
                let known = if raw.components.is_empty() {
                    "the manifest defines no [components]".to_string()
                } else {
                    let names: Vec<_> = raw.components.keys().map(String::as_str).collect();
                    format!("defined components: {}", names.join(", "))
                };
                return Err(at(
                    actor.component.span(),
                    format!("actor {name:?} uses unknown component {component:?}; {known}"),
                ));
            }
            let mailbox = match &actor.mailbox {
                Some(m) if *m.get_ref() == 0 => {
                    return Err(at(
                        m.span(),
                        format!("actor {name:?}: `mailbox` must be at least 1"),
                    ));
                }
                Some(m) => Some(*m.get_ref()),
                None => None,
            };
            let args = match &actor.args {
                Some(table) => crate::codec::encode(table.get_ref()).map_err(|e| {
                    at(
                        table.span(),
                        format!("actor {name:?}: `args` cannot be encoded: {e}"),
                    )
                })?,
                None => crate::codec::encode(&toml::Table::new()).expect("an empty table encodes"),
            };
            actors.push(ActorDecl {
                name: name.clone(),
                component: component.clone(),
                args,
                mailbox,
                restart: actor.restart.as_ref().map(|r| *r.get_ref()),
                shutdown: shutdown(&actor.shutdown, name).map_err(|(span, msg)| at(span, msg))?,
                significant: actor.significant,
                location: locate(text, file, span.start),
            });
        }

        let mut supervisors: Vec<SupervisorDecl> = Vec::with_capacity(raw.supervisors.len());
        for sup in &raw.supervisors {
            let span = sup.span();
            let sup = sup.get_ref();
            let name = sup.name.get_ref();
            if let Err(why) = crate::registry::validate_name(name) {
                return Err(at(
                    sup.name.span(),
                    format!("supervisor name {name:?}: {why}"),
                ));
            }
            let first = actors
                .iter()
                .map(|a| (&a.name, a.location.line))
                .chain(supervisors.iter().map(|s| (&s.name, s.location.line)))
                .find(|(n, _)| *n == name);
            if let Some((_, line)) = first {
                return Err(at(
                    sup.name.span(),
                    format!(
                        "the name {name:?} is also used at line {line}; actors and supervisors share one namespace"
                    ),
                ));
            }
            supervisors.push(SupervisorDecl {
                name: name.clone(),
                strategy: sup.strategy,
                max_restarts: sup.max_restarts.unwrap_or(1),
                max_seconds: Duration::from_secs(sup.max_seconds.unwrap_or(5)),
                children: sup.children.iter().map(|c| c.get_ref().clone()).collect(),
                restart: sup.restart.as_ref().map(|r| *r.get_ref()),
                shutdown: shutdown(&sup.shutdown, name).map_err(|(span, msg)| at(span, msg))?,
                max_children: sup.max_children,
                auto_shutdown: sup.auto_shutdown,
                location: locate(text, file, span.start),
            });
        }

        // Every child exists and has one supervisor.
        let mut parent_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (sup, raw_sup) in supervisors.iter().zip(&raw.supervisors) {
            for child in &raw_sup.get_ref().children {
                let c = child.get_ref().as_str();
                if !actors.iter().any(|a| a.name == c) && !supervisors.iter().any(|s| s.name == c) {
                    return Err(at(
                        child.span(),
                        format!(
                            "supervisor {:?} lists {c:?}, which is neither an actor nor a supervisor",
                            sup.name
                        ),
                    ));
                }
                if let Some(other) = parent_of.insert(c, &sup.name) {
                    return Err(at(
                        child.span(),
                        format!(
                            "{c:?} is listed by two supervisors ({other:?} and {:?})",
                            sup.name
                        ),
                    ));
                }
            }
        }
        // A supervisor may not contain itself.
        for sup in &supervisors {
            let mut at_name = sup.name.as_str();
            while let Some(parent) = parent_of.get(at_name) {
                if *parent == sup.name {
                    return Err(ManifestError {
                        file: file.to_path_buf(),
                        location: Some(sup.location.clone()),
                        message: format!("supervisor {:?} contains itself", sup.name),
                    });
                }
                at_name = parent;
            }
        }
        // Restart and shutdown mean something only under a supervisor.
        let child_settings =
            |restart: &Option<Spanned<Restart>>, shutdown: &Option<Spanned<RawShutdown>>| {
                restart
                    .as_ref()
                    .map(|r| r.span())
                    .or_else(|| shutdown.as_ref().map(|s| s.span()))
            };
        let unsupervised = raw
            .actors
            .iter()
            .map(|a| {
                (
                    "actor",
                    &a.get_ref().name,
                    child_settings(&a.get_ref().restart, &a.get_ref().shutdown),
                )
            })
            .chain(raw.supervisors.iter().map(|s| {
                (
                    "supervisor",
                    &s.get_ref().name,
                    child_settings(&s.get_ref().restart, &s.get_ref().shutdown),
                )
            }));
        for (kind, name, span) in unsupervised {
            if let Some(span) = span
                && !parent_of.contains_key(name.get_ref().as_str())
            {
                return Err(at(
                    span,
                    format!(
                        "{kind} {:?} has `restart`/`shutdown` but no supervisor lists it",
                        name.get_ref()
                    ),
                ));
            }
        }

        // Top-level items start in file order.
        let mut roots: Vec<(usize, String)> = raw
            .actors
            .iter()
            .map(|a| (a.span().start, a.get_ref().name.get_ref().clone()))
            .chain(
                raw.supervisors
                    .iter()
                    .map(|s| (s.span().start, s.get_ref().name.get_ref().clone())),
            )
            .filter(|(_, name)| !parent_of.contains_key(name.as_str()))
            .collect();
        roots.sort();

        Ok(Manifest {
            file: file.to_path_buf(),
            components,
            actors,
            supervisors,
            roots: roots.into_iter().map(|(_, name)| name).collect(),
        })
    }

    /// The actor declared as `name`.
    pub fn actor(&self, name: &str) -> Option<&ActorDecl> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The supervisor declared as `name`.
    pub fn supervisor(&self, name: &str) -> Option<&SupervisorDecl> {
        self.supervisors.iter().find(|s| s.name == name)
    }

    /// The declaration of component `name`.
    pub fn component(&self, name: &str) -> Option<&ComponentDecl> {
        self.components.iter().find(|c| c.name == name)
    }
}

fn shutdown(
    raw: &Option<Spanned<RawShutdown>>,
    owner: &str,
) -> Result<Option<Shutdown>, (Range<usize>, String)> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.get_ref() {
        RawShutdown::Millis(ms) => Ok(Some(Shutdown::Timeout(Duration::from_millis(*ms)))),
        RawShutdown::Word(w) if w == "brutal_kill" => Ok(Some(Shutdown::BrutalKill)),
        RawShutdown::Word(w) if w == "infinity" => Ok(Some(Shutdown::Infinity)),
        RawShutdown::Word(w) => Err((
            raw.span(),
            format!(
                "{owner:?}: `shutdown` is milliseconds, \"brutal_kill\" or \"infinity\", not {w:?}"
            ),
        )),
    }
}

fn locate(text: &str, file: &Path, offset: usize) -> Location {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        file: file.to_path_buf(),
        line,
        column: before[line_start..].chars().count() + 1,
    }
}
