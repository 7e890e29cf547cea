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
//! Sections for supervision trees, limits and capabilities are reserved for later
//! versions; unknown keys are rejected so that a typo never passes silently.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// A parsed, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from ("<memory>" when parsed from a string).
    pub file: PathBuf,
    /// Components, in name order.
    pub components: Vec<ComponentDecl>,
    /// Actors, in the order they start.
    pub actors: Vec<ActorDecl>,
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
                location: locate(text, file, span.start),
            });
        }

        Ok(Manifest {
            file: file.to_path_buf(),
            components,
            actors,
        })
    }

    /// The declaration of component `name`.
    pub fn component(&self, name: &str) -> Option<&ComponentDecl> {
        self.components.iter().find(|c| c.name == name)
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
