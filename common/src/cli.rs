//! The command-line shell every tool shares, as uucore is for uutils: the
//! version string (with the commit built from), `--generate` for man pages and
//! shell completions (as ripgrep does), the shared flags (`--quiet`,
//! `--verbose`, `--report`), and parse → run → reports → exit code.
//!
//! Man pages and completions come from the same clap definitions as `--help`,
//! so they cannot drift from the flags the tools accept.

use std::ffi::OsString;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory};
use clap_complete::Shell;

use crate::error::{run_tool, ExitStatus, Result};

/// `0.1.0 (commit 1a2b3c4d5e6f)`: what `--version` says.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ADDON_FLOW_COMMIT"),
    ")"
);

/// What a tool's man page says beyond its `--help`: the sections a man page
/// reader looks for (ENVIRONMENT, FILES, EXAMPLES); EXIT STATUS is shared.
#[derive(Debug, Clone, Copy)]
pub struct ManPage {
    /// One line of what the tool is, for NAME.
    pub summary: &'static str,
    /// `(VARIABLE, what it does)`.
    pub environment: &'static [(&'static str, &'static str)],
    /// `(path, why it is read or written)`.
    pub files: &'static [(&'static str, &'static str)],
    /// `(what it does, the command line)`.
    pub examples: &'static [(&'static str, &'static str)],
}

/// The exit codes of every tool (SPEC), for the man pages.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (ExitStatus::Success as u8, "success"),
    (
        ExitStatus::Invalid as u8,
        "invalid input: validation findings, an unreadable or unparsable document",
    ),
    (
        ExitStatus::Usage as u8,
        "usage error: bad flags or arguments",
    ),
    (
        ExitStatus::Remote as u8,
        "remote error: HTTP, authentication, registry, Kubernetes or OCM refused or unreachable",
    ),
    (ExitStatus::TimedOut as u8, "timed out"),
    (
        ExitStatus::AddonFailed as u8,
        "the add-on failed to install (csv-wait)",
    ),
];

/// How much a tool says on stderr besides its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Verbosity {
    /// `--quiet`: errors only.
    Quiet = 0,
    /// Warnings, notes and (on a terminal) progress.
    Normal = 1,
    /// `-v`: also one line per HTTP request.
    Verbose = 2,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);
static TOOL_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The running tool's name (for log lines of shared code), once `tool_main`
/// has started it; "addon-flow" before.
pub fn tool_name() -> &'static str {
    TOOL_NAME.get().map_or("addon-flow", String::as_str)
}

/// The verbosity the command line asked for (Normal until `tool_main` parses).
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Sets the verbosity (tool_main does, from `--quiet`/`-v`; tests may).
pub fn set_verbosity(level: Verbosity) {
    VERBOSITY.store(level as u8, Ordering::Relaxed);
}

/// A note or warning for the person running the tool, on stderr, unless
/// `--quiet`. Errors are not notes: they are returned and always printed.
pub fn note(tool: &str, message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        crate::progress::eprint_line(&format!("{tool}: {message}"));
    }
}

/// A line that is already whole (a finding, a warning with its own prefix),
/// on stderr unless `--quiet`.
pub fn note_line(line: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        crate::progress::eprint_line(&line.to_string());
    }
}

/// `-v`: prints one request line in the shared format (`TOOL: METHOD URL ->
/// RESULT in N ms, try T, B bytes sent`), credentials redacted.
/// `common::http::Client` logs each HTTP request through it; tools whose
/// requests go through another client (catalog-build's registry operations
/// through oci-client) log theirs here too, so every tool's `-v` reads the
/// same. `url` must already be free of credentials
/// ([`crate::redact::url_for_log`]).
pub fn log_request(
    method: &str,
    url: &str,
    result: &str,
    took: std::time::Duration,
    attempt: u32,
    sent: u64,
) {
    if verbosity() < Verbosity::Verbose {
        return;
    }
    let line = format!(
        "{}: {method} {url} -> {result} in {} ms, try {attempt}, {sent} bytes sent",
        tool_name(),
        took.as_millis(),
    );
    crate::progress::eprint_line(&crate::redact::text(&line));
}

/// The tool's clap command with the shared version string and the shared
/// `--quiet`/`-v` flags: what `--help`, the man page and the completions are
/// made from.
pub fn command<A: CommandFactory>() -> Command {
    offline_command::<A>()
        .mut_arg("quiet", |quiet| quiet.conflicts_with("verbose"))
        .arg(
            Arg::new("verbose")
                .short('v')
                .long("verbose")
                .action(ArgAction::SetTrue)
                .help(
                    "Also print one line per HTTP request on stderr (method, URL without \
                     credentials, status, duration, retry, bytes)",
                ),
        )
        .arg(
            Arg::new("report")
                .long("report")
                .value_name("KIND[=FILE]")
                .action(ArgAction::Append)
                .value_parser(crate::report::Request::parse)
                .help(
                    "Also write a CI report of the findings and per-add-on outcomes: \
                     junit=FILE (JUnit XML), codequality=FILE (GitLab Code Quality JSON) or \
                     github (annotations on stderr); repeat for several",
                ),
        )
}

/// The `--report` requests of a parsed command line.
fn report_requests(matches: &ArgMatches) -> Vec<crate::report::Request> {
    matches
        .get_many::<crate::report::Request>("report")
        .map(|requests| requests.cloned().collect())
        .unwrap_or_default()
}

/// [`command`] without `-v`, for a tool that sends no request (its `-v`
/// would promise request lines it never prints).
pub fn offline_command<A: CommandFactory>() -> Command {
    A::command().version(VERSION).arg(
        Arg::new("quiet")
            .short('q')
            .long("quiet")
            .action(ArgAction::SetTrue)
            .help("Print only errors on stderr: no notes, warnings or progress"),
    )
}

fn verbosity_of(matches: &ArgMatches) -> Verbosity {
    let verbose = matches!(matches.try_get_one::<bool>("verbose"), Ok(Some(true)));
    if matches.get_flag("quiet") {
        Verbosity::Quiet
    } else if verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

/// What `--generate KIND` can write.
const GENERATE_KINDS: &[&str] = &["man", "complete-bash", "complete-zsh", "complete-fish"];

/// A tool binary's whole `main` (uutils' `uumain`): answer `--generate`,
/// else parse `args` with the tool's clap definition `A`, run it, and map the
/// result to the exit code. clap's own errors are usage errors (exit 2);
/// `--help` and `--version` exit 0.
pub fn tool_main<A: clap::Parser>(
    args: impl IntoIterator<Item = OsString>,
    man: &ManPage,
    run: impl FnOnce(A) -> Result<()>,
) -> std::process::ExitCode {
    main_with(command::<A>(), args, man, run)
}

/// [`tool_main`] for a tool built on [`offline_command`] (no `-v`).
pub fn offline_tool_main<A: clap::Parser>(
    args: impl IntoIterator<Item = OsString>,
    man: &ManPage,
    run: impl FnOnce(A) -> Result<()>,
) -> std::process::ExitCode {
    main_with(offline_command::<A>(), args, man, run)
}

fn main_with<A: clap::Parser>(
    mut cmd: Command,
    args: impl IntoIterator<Item = OsString>,
    man: &ManPage,
    run: impl FnOnce(A) -> Result<()>,
) -> std::process::ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let _ = TOOL_NAME.set(cmd.get_name().to_owned());
    if let Some(kind) = generate_request(&args) {
        let name = cmd.get_name().to_owned();
        return run_tool(&name, || generate(cmd, man, &kind));
    }
    let mut reports = Vec::new();
    let parsed = cmd.try_get_matches_from_mut(args).and_then(|mut matches| {
        set_verbosity(verbosity_of(&matches));
        reports = report_requests(&matches);
        A::from_arg_matches_mut(&mut matches)
    });
    match parsed {
        Ok(parsed) => {
            crate::report::start(cmd.get_name(), reports);
            run_tool(cmd.get_name(), || crate::report::finish(run(parsed)))
        }
        Err(err) => {
            let err = err.format(&mut cmd);
            let _ = err.print();
            if err.use_stderr() {
                ExitStatus::Usage.into()
            } else {
                ExitStatus::Success.into()
            }
        }
    }
}

/// `TOOL --generate KIND` or `TOOL --generate=KIND`, alone: checked before
/// clap so that a tool's required flags do not stand in the way.
fn generate_request(args: &[OsString]) -> Option<String> {
    let rest: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    match rest.as_slice() {
        ["--generate", kind] => Some((*kind).to_owned()),
        [one] => one.strip_prefix("--generate=").map(str::to_owned),
        _ => None,
    }
}

fn generate(mut cmd: Command, man: &ManPage, kind: &str) -> Result<()> {
    let mut out = Vec::new();
    let name = cmd.get_name().to_owned();
    match kind {
        "man" => write_man_page(cmd, man, &mut out).map_err(crate::Error::internal)?,
        "complete-bash" => clap_complete::generate(Shell::Bash, &mut cmd, &name, &mut out),
        "complete-zsh" => clap_complete::generate(Shell::Zsh, &mut cmd, &name, &mut out),
        "complete-fish" => clap_complete::generate(Shell::Fish, &mut cmd, &name, &mut out),
        other => {
            return Err(crate::Error::usage(format!(
                "--generate takes one of {}, not {other:?}",
                GENERATE_KINDS.join(", ")
            )))
        }
    }
    let text = String::from_utf8(out).map_err(crate::Error::internal)?;
    crate::io::write_stdout(&text)
}

/// The man page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS from
/// the clap definition, then EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES and
/// VERSION in roff.
pub fn write_man_page(cmd: Command, man: &ManPage, out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = cmd.about(man.summary);
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let exit: Vec<(String, &str)> = EXIT_CODES
        .iter()
        .map(|(code, meaning)| (code.to_string(), *meaning))
        .collect();
    write_section(
        out,
        "EXIT STATUS",
        exit.iter().map(|(c, m)| (c.as_str(), *m)),
    )?;
    write_section(out, "ENVIRONMENT", man.environment.iter().copied())?;
    write_section(out, "FILES", man.files.iter().copied())?;
    if !man.examples.is_empty() {
        writeln!(out, ".SH EXAMPLES")?;
        for (what, line) in man.examples {
            writeln!(
                out,
                ".PP\n{}\n.PP\n.RS 4\n.EX\n{}\n.EE\n.RE",
                roff(what),
                roff(line)
            )?;
        }
    }
    writeln!(out, ".SH VERSION\n{}", roff(VERSION))?;
    writeln!(
        out,
        ".SH SEE ALSO\naddon\\-validate(1), catalog\\-build(1), syncset\\-render(1), \
         hive\\-apply(1), ocm\\-post(1), csv\\-wait(1)"
    )
}

fn write_section<'a>(
    out: &mut dyn Write,
    title: &str,
    rows: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::io::Result<()> {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    writeln!(out, ".SH {title}")?;
    for (term, text) in rows {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
    }
    Ok(())
}

/// Escapes text for roff: backslashes, hyphens (so man does not hyphenate
/// flags), and a leading `.` or `'` that would read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    #[command(name = "demo-tool", about = "A demo.")]
    struct DemoArgs {
        /// A required flag, which must not stand in the way of --generate.
        #[arg(long)]
        bundles: String,
    }

    const MAN: ManPage = ManPage {
        summary: "a demo tool",
        environment: &[("DEMO_TOKEN", "the token")],
        files: &[("~/.demo", "settings")],
        examples: &[("Run it.", "demo-tool --bundles .")],
    };

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn generate_is_recognised_alone_in_both_spellings() {
        assert_eq!(
            generate_request(&args(&["t", "--generate", "man"])).as_deref(),
            Some("man")
        );
        assert_eq!(
            generate_request(&args(&["t", "--generate=complete-zsh"])).as_deref(),
            Some("complete-zsh")
        );
        assert_eq!(generate_request(&args(&["t", "--bundles", "x"])), None);
        assert_eq!(
            generate_request(&args(&["t", "--generate", "man", "extra"])),
            None
        );
    }

    #[test]
    fn man_page_has_the_shared_and_the_tool_sections() {
        let mut out = Vec::new();
        write_man_page(command::<DemoArgs>(), &MAN, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH EXIT STATUS",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SH VERSION",
        ] {
            assert!(page.contains(section), "{section} missing in:\n{page}");
        }
        assert!(page.contains("DEMO_TOKEN"));
        assert!(page.contains("demo\\-tool \\-\\-bundles ."));
    }

    #[test]
    fn quiet_and_verbose_are_shared_flags() {
        let matches = command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", ".", "-q"])
            .unwrap();
        assert_eq!(verbosity_of(&matches), Verbosity::Quiet);
        let matches = command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", ".", "-v"])
            .unwrap();
        assert_eq!(verbosity_of(&matches), Verbosity::Verbose);
        assert!(command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", ".", "-q", "-v"])
            .is_err());
    }

    #[test]
    fn an_offline_tool_has_quiet_and_no_verbose() {
        let matches = offline_command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", ".", "-q"])
            .unwrap();
        assert_eq!(verbosity_of(&matches), Verbosity::Quiet);
        let matches = offline_command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", "."])
            .unwrap();
        assert_eq!(verbosity_of(&matches), Verbosity::Normal);
        assert!(offline_command::<DemoArgs>()
            .try_get_matches_from(["demo-tool", "--bundles", ".", "-v"])
            .is_err());
    }

    #[test]
    fn version_names_the_commit() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(VERSION.contains("(commit "));
    }

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a\\b"), "a\\eb");
    }
}
