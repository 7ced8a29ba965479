//! Extra resources are Jinja2 templates, rendered as managed-tenants-cli
//! renders them. mtcli does not call `jinja2.Template(text)`: its
//! `selectorsyncset.yaml.j2` includes each file through a macro
//! (`{% include resource %}`) in the environment its `Sss` class builds,
//!
//! ```text
//! Environment(loader=ChoiceLoader([FileSystemLoader(managedtenants/data),
//!                                  FileSystemLoader(<addon>/metadata/<env>)]),
//!             undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
//! ```
//!
//! and writes the result as `- {{ render_extra_resource(ADDON, resource) |
//! indent(2) }}` into the `items` of one List that PyYAML then reads. So
//! here:
//!
//! - **whitespace**: `trim_blocks` and `lstrip_blocks` (a block tag on its
//!   own line leaves nothing behind), one trailing newline dropped, line
//!   breaks made `\n`;
//! - **undefined is an error**: `ADDON.metadata['lable']` printed, tested in
//!   an `if` or iterated fails, with the file and line (`is defined`,
//!   `default` and `.get()` still work);
//! - **includes** (`include`, `import`, `from`, `extends`) load files of the
//!   add-on's metadata folder, by the same names (`sub/x.j2`; `..` is not a
//!   name); the tree reader refuses symlinks out of the folder and anything
//!   but regular files, and every file loaded travels in the document;
//! - **values** print as Python's `str()` prints them ([`python`]), mappings
//!   in file order, `dict.items()` as `dict_items([('k', 'v')])`, `range(3)`
//!   as `range(0, 3)`; the `%` and `~` operators, `{{ 0755 }}` and numbers
//!   as Jinja2's parser reads them ([`source`]); filters, tests, globals and
//!   string methods as Jinja2 3.1 and Python have them ([`filters`],
//!   [`methods`]);
//! - **`ADDON`** is mtcli's `Addon` ([`context`]): `name` is the add-on's
//!   folder name, `resource` the file being rendered;
//! - the rendered text becomes an object as mtcli's List item does
//!   ([`extra_resource_object`]).
//!
//! Each render is bounded: [`FUEL`] steps, [`MAX_RENDERED_BYTES`] of
//! output, [`MAX_TEMPLATE_BYTES`] per template file, and strings made by
//! methods and filters are paid for before they are made; a template past a
//! bound fails naming its file.
//!
//! What minijinja still does its own way (it is not Jinja2): the built-in
//! filters not named above (`sort`, `map`, `groupby`, `dictsort`, ...),
//! Python methods beyond `pycompat`'s and ours, mutating methods
//! (`dict.update`), integers beyond 128 bits. A template using them renders
//! as minijinja renders it or fails with the file and line.

mod context;
mod filters;
mod html_entities;
mod methods;
mod objects;
mod percent;
mod python;
mod source;
mod text;
mod unicode_tables;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use crate::cli::parallel::run_deep;

use crate::model::addon::AddonDocument;

pub use python::python_repr_str;

/// The steps one render may take (minijinja fuel: one per instruction, one
/// per 64 bytes of data made). A hand-written object takes a few thousand;
/// two nested loops of a hundred thousand would take ten billion.
pub const FUEL: u64 = 200_000;

/// The most text one extra resource may render to. Kubernetes refuses an
/// object over about 1.5 MiB (etcd's request limit), and a whole
/// SelectorSyncSet must fit in that too.
pub const MAX_RENDERED_BYTES: usize = 2 << 20;

/// The largest template file read.
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;

/// The files of `managedtenants/data`, which mtcli's loader searches before
/// the add-on's folder: an extra resource or include of one of these names
/// gets mtcli's own file there, not the add-on's.
pub const MTCLI_DATA_FILES: [&str; 5] = [
    "__init__.py",
    "environments.py",
    "macros.j2",
    "paths.py",
    "selectorsyncset.yaml.j2",
];

/// Whether mtcli would load its own file for template `name`.
pub fn shadowed_by_mtcli(name: &str) -> bool {
    let name = normalize_name(name).unwrap_or_default();
    MTCLI_DATA_FILES.contains(&name.as_str()) || name.starts_with("__pycache__/")
}

/// Where a render's templates come from: the files of the add-on's metadata
/// folder, by the names templates use.
pub trait TemplateFiles: Send + Sync {
    /// The text of template `name` (a `/`-separated path below the metadata
    /// folder, normalised as Jinja2 normalises it); `Ok(None)` when there is
    /// no such file; `Err(why)` when there is one that may not be read.
    fn read(&self, name: &str) -> Result<Option<String>, String>;
}

/// The templates a document carries (`extraResourceTemplates`).
impl TemplateFiles for BTreeMap<String, String> {
    fn read(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self
            .get(name)
            .or_else(|| {
                self.iter()
                    .find(|(key, _)| normalize_name(key).as_deref() == Some(name))
                    .map(|(_, text)| text)
            })
            .cloned())
    }
}

/// Jinja2's `split_template_path`: pieces between `/`, `.` and empty ones
/// dropped; a `..` piece (or a backslash) is no template name at all.
pub fn normalize_name(name: &str) -> Option<String> {
    let mut pieces = Vec::new();
    for piece in name.split('/') {
        if piece == ".." || piece.contains('\\') {
            return None;
        }
        if !piece.is_empty() && piece != "." {
            pieces.push(piece);
        }
    }
    (!pieces.is_empty()).then(|| pieces.join("/"))
}

/// Why a template did not render, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template the error is in, when it is not the extra resource
    /// itself but a file it includes.
    pub template: Option<String>,
    /// The line in that template, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.template, self.line) {
            (Some(template), Some(line)) => write!(f, "{template}, line {line}: {}", self.message),
            (Some(template), None) => write!(f, "{template}: {}", self.message),
            (None, Some(line)) => write!(f, "line {line}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// One extra resource, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Jinja2's output, before mtcli indents it into its List.
    pub text: String,
    /// Every template the render loaded, the extra resource first, with its
    /// text: what a document must carry to render it again.
    pub loaded: Vec<(String, String)>,
}

/// What the loader learned while rendering: the files it loaded and the
/// first template Jinja2 could not have compiled.
#[derive(Default)]
struct LoaderLog {
    loaded: Vec<(String, String)>,
    source_error: Option<(String, source::SourceError)>,
}

/// Renders extra resource `name` as mtcli renders it for `document`, its
/// files (and those it includes) read from `files` ([`Renderer`] for more
/// than one of an add-on's).
pub fn render_extra_resource(
    name: &str,
    files: Arc<dyn TemplateFiles>,
    document: &AddonDocument,
) -> Result<Rendered, TemplateError> {
    Renderer::new(files, document).render(name)
}

/// The extra resources of one add-on: its template files and its `ADDON`,
/// built once for all of them (building `ADDON` converts the whole add-on,
/// more than a small template's render costs). `ADDON` is read-only to a
/// template, so renders that share it cannot see each other.
pub struct Renderer<'a> {
    files: Arc<dyn TemplateFiles>,
    document: &'a AddonDocument,
    addon: std::sync::OnceLock<Value>,
}

impl<'a> Renderer<'a> {
    pub fn new(files: Arc<dyn TemplateFiles>, document: &'a AddonDocument) -> Renderer<'a> {
        Renderer {
            files,
            document,
            addon: std::sync::OnceLock::new(),
        }
    }

    /// Renders extra resource `name` on a stack deep enough for what the
    /// fuel allows ([`run_deep`]: in place on a deep-stack worker, else on
    /// the process's deep-stack thread).
    pub fn render(&self, name: &str) -> Result<Rendered, TemplateError> {
        let addon = self
            .addon
            .get_or_init(|| Value::from_object(context::AddonObject::new(self.document)))
            .clone();
        let files = self.files.clone();
        let name = name.to_string();
        match run_deep(move || render_here(&name, files, addon)) {
            Ok(Ok(rendered)) => rendered,
            Ok(Err(_panic)) => Err(TemplateError {
                template: None,
                line: None,
                message: "the template engine failed (a bug in addon-flow)".into(),
            }),
            Err(err) => Err(TemplateError {
                template: None,
                line: None,
                message: format!("cannot start the rendering thread: {err}"),
            }),
        }
    }
}

fn render_here(
    name: &str,
    files: Arc<dyn TemplateFiles>,
    addon: Value,
) -> Result<Rendered, TemplateError> {
    let top = normalize_name(name).ok_or_else(|| TemplateError {
        template: None,
        line: None,
        message: format!("{name:?} is not a template name below the metadata folder"),
    })?;
    let log = Arc::new(Mutex::new(LoaderLog::default()));
    let env = environment(files, log.clone());
    let mut output = CappedOutput::default();
    let result = env.get_template(&top).and_then(|template| {
        template
            .render_captured_to(
                minijinja::context! { ADDON => addon, resource => name },
                &mut output,
            )
            .map(drop)
    });
    let log = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some((template, err)) = log.source_error {
        return Err(TemplateError {
            template: (template != top).then_some(template),
            line: Some(err.line),
            message: err.message,
        });
    }
    if output.over {
        return Err(TemplateError {
            template: None,
            line: None,
            message: format!(
                "renders more than {} MiB, more than any Kubernetes object may hold",
                MAX_RENDERED_BYTES >> 20
            ),
        });
    }
    if let Err(err) = result {
        return Err(template_error(&err, &top));
    }
    let text = String::from_utf8(output.bytes).map_err(|_| TemplateError {
        template: None,
        line: None,
        message: "renders text that is not UTF-8".into(),
    })?;
    Ok(Rendered {
        text,
        loaded: log.loaded,
    })
}

/// mtcli's environment, on minijinja, reading templates from `files`.
fn environment(files: Arc<dyn TemplateFiles>, log: Arc<Mutex<LoaderLog>>) -> Environment<'static> {
    thread_local! {
        // Built once per thread and copied for each render: building one
        // (minijinja's filters, then ours over them) took as long as
        // rendering a resource.
        static SETTINGS: Environment<'static> = settings();
    }
    let mut env = SETTINGS.with(Environment::clone);
    set_loader(&mut env, files, log);
    env
}

/// Everything of mtcli's environment but where its templates come from.
fn settings() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("Jinja2's default delimiters are a valid syntax"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // No autoescaping, whatever a template is called.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        // A strict undefined never gets here (minijinja refuses it first):
        // this is the silent one of an `x if c` without else, which Jinja2
        // prints as nothing.
        let text = if value.is_undefined() {
            String::new()
        } else {
            python::python_str(value)?
        };
        out.write_str(&text)
            .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "cannot write output"))
    });
    env.set_unknown_method_callback(methods::call);
    env.set_fuel(Some(FUEL));
    filters::install(&mut env);
    env
}

/// Templates come from `files`, each checked and prepared as Jinja2 would
/// read it; `log` keeps what was loaded and the first source error.
fn set_loader(
    env: &mut Environment<'static>,
    files: Arc<dyn TemplateFiles>,
    log: Arc<Mutex<LoaderLog>>,
) {
    env.set_loader(move |name| {
        let Some(normalized) = normalize_name(name) else {
            return Ok(None);
        };
        let text = match files.read(&normalized) {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(None),
            Err(why) => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("template {normalized:?} cannot be used: {why}"),
                ))
            }
        };
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "template {normalized:?} is larger than {} MiB",
                    MAX_TEMPLATE_BYTES >> 20
                ),
            ));
        }
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        match source::prepare(&text) {
            Ok(prepared) => {
                log.loaded.push((normalized, text));
                Ok(Some(prepared))
            }
            Err(err) => {
                let message = err.message.clone();
                log.source_error.get_or_insert((normalized, err));
                Err(minijinja::Error::new(ErrorKind::SyntaxError, message))
            }
        }
    });
}

/// The innermost error of minijinja's chain (an include's error sits
/// inside the including template's), as the file, line and words to show.
fn template_error(err: &minijinja::Error, top: &str) -> TemplateError {
    let mut innermost = err;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = current {
        if let Some(inner) = error.downcast_ref::<minijinja::Error>() {
            innermost = inner;
        }
        current = error.source();
    }
    let message = match innermost.kind() {
        ErrorKind::OutOfFuel => format!(
            "the template takes more than {FUEL} steps (a loop that runs too long or never ends)"
        ),
        kind => match innermost.detail() {
            Some(detail) => format!("{kind}: {detail}"),
            None => kind.to_string(),
        },
    };
    let message = match innermost.kind() {
        ErrorKind::TemplateNotFound => {
            let shadowed: Vec<&str> = MTCLI_DATA_FILES
                .iter()
                .copied()
                .filter(|name| message.contains(&format!("'{name}'")))
                .collect();
            match shadowed.first() {
                Some(name) => format!(
                    "{message} (managed-tenants-cli would include its own \
                     managedtenants/data/{name} here, which addon-flow does not have)"
                ),
                None => format!("{message} (templates are looked up beside addon.yaml)"),
            }
        }
        _ => message,
    };
    TemplateError {
        template: innermost
            .name()
            .filter(|name| *name != top)
            .map(str::to_string),
        line: innermost.line(),
        message,
    }
}

/// The render's output, refusing to grow past [`MAX_RENDERED_BYTES`].
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    over: bool,
}

impl Write for CappedOutput {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + data.len() > MAX_RENDERED_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the rendered text is too large"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An extra resource read as mtcli reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraResourceObject {
    /// The Kubernetes object.
    pub object: serde_json::Value,
    /// The text starts with a YAML document marker (`---`): mtcli indents
    /// it into its List as `- ---`, which PyYAML refuses; we read the
    /// document (a DF difference).
    pub document_marker: bool,
}

/// The object a rendered extra resource is: mtcli writes it as `- ` and
/// the text indented by two (`indent(2)`, Python's line boundaries) into
/// its List, and PyYAML reads that item. A text that fails only because
/// it starts with a `---` marker is read as the document it is.
pub fn extra_resource_object(rendered: &str) -> Result<ExtraResourceObject, String> {
    let item = format!("- {}\n", filters::indent_text(rendered, "  ", false, false));
    let as_item = match crate::text::yaml::parse_one(&item) {
        Ok(parsed) => match parsed.value {
            serde_json::Value::Array(mut items) if items.len() == 1 => {
                let object = items.remove(0);
                kubernetes_object_problem(&object).map_or(Ok(object), Err)
            }
            _ => Err("is not one Kubernetes object once rendered".to_string()),
        },
        Err(err) => Err(format!("is not YAML once rendered: {err}")),
    };
    let problem = match as_item {
        Ok(object) => {
            return Ok(ExtraResourceObject {
                object,
                document_marker: false,
            })
        }
        Err(problem) => problem,
    };
    if starts_with_document_marker(rendered) {
        if let Ok(parsed) = crate::text::yaml::parse_one(rendered) {
            if kubernetes_object_problem(&parsed.value).is_none() {
                return Ok(ExtraResourceObject {
                    object: parsed.value,
                    document_marker: true,
                });
            }
        }
    }
    Err(problem)
}

/// Whether the first line that is not blank or a comment is `---`.
fn starts_with_document_marker(text: &str) -> bool {
    text.lines()
        .map(str::trim_end)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line == "---" || line.starts_with("--- "))
}

/// Why a value is not a Kubernetes object, if it is not.
fn kubernetes_object_problem(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Object(map)
            if map
                .get("apiVersion")
                .is_some_and(serde_json::Value::is_string)
                && map.get("kind").is_some_and(serde_json::Value::is_string) =>
        {
            None
        }
        _ => Some("is not a Kubernetes object once rendered (no apiVersion and kind)".into()),
    }
}

#[cfg(test)]
mod tests;
