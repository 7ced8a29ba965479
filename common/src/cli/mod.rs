//! The command-line shell every tool shares, as uucore is for uutils: the
//! version string (with the commit built from), `--generate` for man pages and
//! shell completions (as ripgrep does), the shared flags (`--quiet`,
//! `--verbose`, `--report`), and parse → run → reports → exit code.
//!
//! Man pages and completions come from the same clap definitions as `--help`,
//! so they cannot drift from the flags the tools accept.
//!
//! Beside it, the rest of a tool's plumbing: errors and their exit codes,
//! reading documents and streams, progress on a terminal, CI reports,
//! redacting secrets from messages, and bounded parallel work.

pub mod error;
pub mod io;
pub mod listing;
pub mod parallel;
pub mod progress;
pub mod redact;
pub mod report;
pub mod stream;

use std::ffi::OsString;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory};
use clap_complete::Shell;

use crate::cli::error::{run_tool, write_stderr, Error, ExitStatus, Result, BUG_EXIT_CODE};

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
    (
        BUG_EXIT_CODE,
        "internal error: the tool crashed (panicked), a bug in addon-flow; please report it",
    ),
];

/// When this variable is set, a tool panics on purpose once its command line
/// is parsed: only for the tests that check how a panic ends (the line it
/// prints, [`BUG_EXIT_CODE`]). Nobody sets it otherwise.
pub const PANIC_FOR_TESTS: &str = "ADDON_FLOW_PANIC_FOR_TESTS";

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
        crate::cli::progress::eprint_line(&format!("{tool}: {message}"));
    }
}

/// A line that is already whole (a finding, a warning with its own prefix),
/// on stderr unless `--quiet`.
pub fn note_line(line: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        crate::cli::progress::eprint_line(&line.to_string());
    }
}

/// `-v`: prints one request line in the shared format (`TOOL: METHOD URL ->
/// RESULT in N ms, try T, B bytes sent`), credentials redacted.
/// `common::remote::http::Client` logs each HTTP request through it; tools whose
/// requests go through another client (catalog-build's registry operations
/// through oci-client) log theirs here too, so every tool's `-v` reads the
/// same. `url` must already be free of credentials
/// ([`crate::cli::redact::url_for_log`]).
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
    crate::cli::progress::eprint_line(&crate::cli::redact::text(&line));
}

/// The tool's clap command with the shared version string and the shared
/// `--quiet`/`-v`/`--report` flags: what `--help`, the man page and the
/// completions are made from.
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
}

/// The `--report` requests of a parsed command line.
fn report_requests(matches: &ArgMatches) -> Vec<crate::cli::report::Request> {
    // A command built without the shared flags has none (never a panic).
    matches
        .try_get_many::<crate::cli::report::Request>("report")
        .ok()
        .flatten()
        .map(|requests| requests.cloned().collect())
        .unwrap_or_default()
}

/// [`command`] without `-v`, for a tool that sends no request (its `-v`
/// would promise request lines it never prints); `--quiet` and `--report`
/// as every tool has them.
pub fn offline_command<A: CommandFactory>() -> Command {
    A::command()
        .version(VERSION)
        .arg(
            Arg::new("quiet")
                .short('q')
                .long("quiet")
                .action(ArgAction::SetTrue)
                .help("Print only errors on stderr: no notes, warnings or progress"),
        )
        .arg(
            Arg::new("report")
                .long("report")
                .value_name("KIND[=FILE]")
                .action(ArgAction::Append)
                .value_parser(crate::cli::report::Request::parse)
                .help(
                    "Also write a CI report of the findings and per-add-on outcomes: \
                     junit=FILE (JUnit XML), codequality=FILE (GitLab Code Quality JSON) or \
                     github (annotations on stderr); repeat for several",
                ),
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
    std::panic::set_hook(Box::new(|info| {
        write_stderr(&panic_line(tool_name(), info.location(), info.payload()));
    }));
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
            crate::cli::report::start(cmd.get_name(), reports);
            run_guarded(cmd.get_name(), || {
                if std::env::var_os(PANIC_FOR_TESTS).is_some() {
                    panic!("{PANIC_FOR_TESTS} is set");
                }
                crate::cli::report::finish(run(parsed))
            })
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

/// [`run_tool`], where a panic ends the tool with [`BUG_EXIT_CODE`] instead
/// of Rust's 101; the panic hook has printed its line already.
fn run_guarded(tool: &str, body: impl FnOnce() -> Result<()>) -> std::process::ExitCode {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_tool(tool, body)))
        .unwrap_or_else(|_| BUG_EXIT_CODE.into())
}

/// What the panic hook prints, in the form of every error line: `tool:
/// error: internal error (a bug in addon-flow, please report it): panicked
/// at FILE:LINE: MESSAGE`. Printed for every panic, also one in a worker
/// thread that becomes its item's error, so the place is never lost.
fn panic_line(
    tool: &str,
    location: Option<&std::panic::Location>,
    payload: &(dyn std::any::Any + Send),
) -> String {
    let at = location.map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
    let message = crate::cli::parallel::panic_message(payload);
    format!(
        "{tool}: error: {}\n",
        Error::Internal(format!("panicked{at}: {message}"))
    )
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
    crate::cli::io::write_stdout(&text)
}

/// The man page: clap_mangen's NAME, DESCRIPTION and OPTIONS from the clap
/// definition; our SYNOPSIS (clap_mangen's leaves out what each option
/// takes); then EXIT STATUS (the codes the tool's `--help` lists),
/// ENVIRONMENT, FILES, EXAMPLES, VERSION and SEE ALSO, every section on every
/// page.
pub fn write_man_page(cmd: Command, man: &ManPage, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = cmd.about(man.summary);
    cmd.build();
    let name = cmd.get_name().to_owned();
    let page = clap_mangen::Man::new(cmd.clone());
    // clap_mangen's title leaves an empty date unquoted, which shifts the
    // source into the date's place.
    writeln!(
        out,
        ".TH {} 1 \"{}\" \"{}\" \"User Commands\"",
        roff(&name),
        env!("ADDON_FLOW_DATE"),
        roff(&format!("addon-flow {VERSION}"))
    )?;
    page.render_name_section(out)?;
    writeln!(
        out,
        ".SH SYNOPSIS\n.nh\n.ad l\n{}\n.ad\n.hy",
        synopsis(&cmd)
    )?;
    let mut body = Vec::new();
    page.render_description_section(&mut body)?;
    page.render_options_section(&mut body)?;
    // A blank line of help between two breaks: one paragraph space, as
    // mandoc -T lint wants it.
    let body = String::from_utf8_lossy(&body).replace("\n.br\n\n.br\n", "\n.sp\n");
    out.write_all(body.as_bytes())?;
    let exit = exit_codes(&cmd);
    write_section(
        out,
        "EXIT STATUS",
        exit.iter().map(|(c, m)| (c.as_str(), m.as_str())),
    )?;
    if man.environment.is_empty() {
        writeln!(
            out,
            ".SH ENVIRONMENT\n{} reads no environment variables: everything it uses is on its command line.",
            roff(&name)
        )?;
    } else {
        write_section(out, "ENVIRONMENT", man.environment.iter().copied())?;
    }
    if man.files.is_empty() {
        writeln!(
            out,
            ".SH FILES\n{} reads only the files named on its command line.",
            roff(&name)
        )?;
    } else {
        write_section(out, "FILES", man.files.iter().copied())?;
    }
    if !man.examples.is_empty() {
        writeln!(out, ".SH EXAMPLES")?;
        for (i, (what, line)) in man.examples.iter().enumerate() {
            let paragraph = if i == 0 { "" } else { ".PP\n" };
            writeln!(
                out,
                "{paragraph}{}\n.PP\n.RS 4\n.EX\n{}\n.EE\n.RE",
                roff(what),
                roff(line)
            )?;
        }
    }
    writeln!(out, ".SH VERSION\n{}", roff(VERSION))?;
    let others: Vec<String> = tools()
        .filter(|tool| *tool != name)
        .map(|tool| format!("{}(1)", roff(tool)))
        .collect();
    writeln!(out, ".SH SEE ALSO\n{}", others.join(", "))
}

/// The tools, for SEE ALSO: the folders of `tools/` when common was built
/// (the one list of them, which the Makefile reads too).
fn tools() -> impl Iterator<Item = &'static str> {
    env!("ADDON_FLOW_TOOLS").split_whitespace()
}

/// SYNOPSIS in roff: every option with what it takes
/// (`[--kubeconfig FILE]`, `[--dry-run[=MODE]]`, `[--install ID]...`), then
/// the positional arguments; required ones without brackets.
fn synopsis(cmd: &Command) -> String {
    let mut parts = vec![format!("\\fB{}\\fR", roff(cmd.get_name()))];
    let (positionals, options): (Vec<&Arg>, Vec<&Arg>) = cmd
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .partition(|arg| arg.is_positional());
    for arg in options.into_iter().chain(positionals) {
        parts.push(synopsis_item(arg));
    }
    parts.join(" ")
}

fn synopsis_item(arg: &Arg) -> String {
    let value = {
        let names: Vec<String> = match arg.get_value_names() {
            Some(names) => names.iter().map(|n| n.to_string()).collect(),
            None => vec![arg.get_id().as_str().to_uppercase()],
        };
        names
            .iter()
            .map(|n| format!("\\fI{}\\fR", roff(n)))
            .collect::<Vec<_>>()
            .join("\\ ")
    };
    let takes_value = arg.get_action().takes_values();
    let optional_value = arg
        .get_num_args()
        .is_some_and(|range| range.min_values() == 0 && range.max_values() > 0);
    let text = if arg.is_positional() {
        value
    } else {
        let short = arg.get_short().map(|c| format!("\\fB\\-{c}\\fR"));
        let long = arg.get_long().map(|l| format!("\\fB\\-\\-{}\\fR", roff(l)));
        let flag = [short, long]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("|");
        match (takes_value, optional_value) {
            (false, _) => flag,
            (true, true) => format!("{flag}[={value}]"),
            // An unpaddable space: an option and its value stay on one line.
            (true, false) => format!("{flag}\\ {value}"),
        }
    };
    let repeats = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
    let text = if arg.is_required_set() {
        text
    } else {
        format!("[{text}]")
    };
    if repeats {
        format!("{text}...")
    } else {
        text
    }
}

/// The exit codes the tool's help lists (`Exit codes: 0 done, 1 ..., 3 ...`
/// in its about or after-help text), so that the man page says what `--help`
/// says; the shared table when the help lists none.
fn exit_codes(cmd: &Command) -> Vec<(String, String)> {
    let texts = [
        cmd.get_after_long_help(),
        cmd.get_after_help(),
        cmd.get_long_about(),
        cmd.get_about(),
    ];
    texts
        .into_iter()
        .flatten()
        .find_map(|text| parse_exit_codes(&text.to_string()))
        .unwrap_or_else(|| {
            EXIT_CODES
                .iter()
                .map(|(code, meaning)| (code.to_string(), (*meaning).to_string()))
                .collect()
        })
}

/// `Exit codes: 0 valid, 1 invalid (or unreadable input), 2 usage error.`:
/// each code and its meaning. Codes are separated by `,` or `;` before a
/// digit (outside parentheses); the list ends at a blank line or a sentence
/// that does not start with a code.
fn parse_exit_codes(text: &str) -> Option<Vec<(String, String)>> {
    let (_, rest) = text.split_once("Exit codes:")?;
    let rest = rest.split("\n\n").next().unwrap_or(rest);
    let flat = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut codes = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let chars: Vec<char> = flat.chars().collect();
    let code_follows = |at: usize| {
        let mut i = at;
        while chars.get(i) == Some(&' ') {
            i += 1;
        }
        let start = i;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        i > start && chars.get(i) == Some(&' ')
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        let ends_item = depth == 0 && matches!(c, ',' | ';') && code_follows(i + 1);
        let ends_list = depth == 0
            && c == '.'
            && (i + 1 == chars.len() || (chars.get(i + 1) == Some(&' ') && !code_follows(i + 1)));
        if ends_item || ends_list {
            codes.push(current.trim().to_string());
            current.clear();
            if ends_list {
                break;
            }
        } else {
            current.push(c);
        }
        i += 1;
    }
    if !current.trim().is_empty() {
        codes.push(current.trim().to_string());
    }
    let parsed: Vec<(String, String)> = codes
        .iter()
        .filter_map(|item| {
            let (code, meaning) = item.split_once(' ')?;
            code.parse::<u8>()
                .ok()
                .map(|_| (code.to_string(), meaning.trim().to_string()))
        })
        .collect();
    (parsed.first().is_some_and(|(code, _)| code == "0")).then_some(parsed)
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

    #[derive(clap::Parser, Debug)]
    #[command(
        name = "hive-apply",
        about = "Apply.",
        after_help = "Exit codes: 0 done; 1 bad input (a List, or one\nobject), 2 usage, 3 refused (401, 409). With several, the worst."
    )]
    struct ApplyArgs {
        /// The objects.
        file: Option<std::path::PathBuf>,
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<std::path::PathBuf>,
        #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "server")]
        dry_run: Option<String>,
        #[arg(long, value_name = "NS/NAME")]
        label_cluster: Vec<String>,
        #[arg(long, required = true)]
        context: String,
        #[arg(long)]
        wait: bool,
    }

    const NOTHING: ManPage = ManPage {
        summary: "apply objects",
        environment: &[],
        files: &[],
        examples: &[],
    };

    fn page_of(cmd: Command, man: &ManPage) -> String {
        let mut out = Vec::new();
        write_man_page(cmd, man, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn section<'a>(page: &'a str, title: &str) -> &'a str {
        let start = page
            .find(&format!(".SH {title}\n"))
            .unwrap_or_else(|| panic!("no {title} in:\n{page}"));
        let rest = &page[start + 5 + title.len()..];
        &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
    }

    #[test]
    fn synopsis_shows_what_each_option_takes() {
        let page = page_of(command::<ApplyArgs>(), &NOTHING);
        let synopsis = section(&page, "SYNOPSIS")
            .lines()
            .find(|line| line.starts_with("\\fBhive"))
            .unwrap();
        for expected in [
            "[\\fB\\-\\-kubeconfig\\fR\\ \\fIFILE\\fR]",
            "[\\fB\\-\\-dry\\-run\\fR[=\\fIMODE\\fR]]",
            "[\\fB\\-\\-label\\-cluster\\fR\\ \\fINS/NAME\\fR]...",
            " \\fB\\-\\-context\\fR\\ \\fICONTEXT\\fR ",
            "[\\fB\\-\\-wait\\fR]",
            "[\\fB\\-q\\fR|\\fB\\-\\-quiet\\fR]",
            "[\\fB\\-\\-report\\fR\\ \\fIKIND[=FILE]\\fR]...",
        ] {
            assert!(synopsis.contains(expected), "{expected} in {synopsis}");
        }
        assert!(synopsis.ends_with("[\\fIFILE\\fR]"), "{synopsis}");
    }

    #[test]
    fn exit_status_lists_the_codes_the_help_lists() {
        let page = page_of(command::<ApplyArgs>(), &NOTHING);
        let exit = section(&page, "EXIT STATUS");
        let codes: Vec<&str> = exit
            .lines()
            .filter_map(|line| line.strip_prefix("\\fB")?.strip_suffix("\\fR"))
            .collect();
        assert_eq!(codes, ["0", "1", "2", "3"], "{exit}");
        assert!(exit.contains("bad input (a List, or one object)"), "{exit}");
        assert!(
            exit.trim_end().ends_with("refused (401, 409)"),
            "the list ends with its sentence: {exit}"
        );
        // Without such a line in the help: the shared table.
        let shared = page_of(command::<DemoArgs>(), &MAN);
        assert!(section(&shared, "EXIT STATUS").contains("\\fB5\\fR"));
    }

    #[test]
    fn every_section_is_on_every_page_and_see_also_names_the_others() {
        let page = page_of(command::<ApplyArgs>(), &NOTHING);
        assert!(section(&page, "ENVIRONMENT").contains("reads no environment variables"));
        assert!(section(&page, "FILES").contains("only the files named on its command line"));
        let see_also = section(&page, "SEE ALSO");
        assert!(!see_also.contains("hive\\-apply"), "{see_also}");
        assert_eq!(see_also.matches("(1)").count(), 5, "{see_also}");
    }

    /// The verbosity `command` reads from `demo-tool --bundles . FLAGS`, or
    /// None when it refuses the flags.
    fn verbosity_from(command: Command, flags: &[&str]) -> Option<Verbosity> {
        let args = ["demo-tool", "--bundles", "."].iter().chain(flags);
        let matches = command.try_get_matches_from(args).ok()?;
        Some(verbosity_of(&matches))
    }

    #[test]
    fn quiet_and_verbose_are_shared_flags() {
        let verbosity = |flags: &[&str]| verbosity_from(command::<DemoArgs>(), flags);
        assert_eq!(verbosity(&["-q"]), Some(Verbosity::Quiet));
        assert_eq!(verbosity(&["-v"]), Some(Verbosity::Verbose));
        assert_eq!(verbosity(&["-q", "-v"]), None);
    }

    #[test]
    fn an_offline_tool_has_quiet_and_no_verbose() {
        let verbosity = |flags: &[&str]| verbosity_from(offline_command::<DemoArgs>(), flags);
        assert_eq!(verbosity(&["-q"]), Some(Verbosity::Quiet));
        assert_eq!(verbosity(&[]), Some(Verbosity::Normal));
        assert_eq!(verbosity(&["-v"]), None);
    }

    #[test]
    fn a_panic_is_said_as_a_bug_and_exits_with_the_bug_code() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let line = panic_line("demo-tool", None, payload.as_ref());
        assert_eq!(
            line,
            "demo-tool: error: internal error (a bug in addon-flow, please report it): \
             panicked: index out of bounds\n"
        );
        let here = std::panic::Location::caller();
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("boom"));
        assert!(
            panic_line("t", Some(here), payload.as_ref()).contains(&format!(
                "panicked at {}:{}: boom",
                here.file(),
                here.line()
            ))
        );

        let code = run_guarded("demo-tool", || panic!("on purpose"));
        assert_eq!(code, std::process::ExitCode::from(BUG_EXIT_CODE));
        assert_eq!(
            run_guarded("demo-tool", || Ok(())),
            std::process::ExitCode::SUCCESS
        );
        assert!(EXIT_CODES.iter().any(|(code, _)| *code == BUG_EXIT_CODE));
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
