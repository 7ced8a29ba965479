//! Progress on a terminal: a counter or a status line on stderr while a long
//! step runs (bundles built, bytes pushed, objects applied, clusters synced,
//! add-ons done). It draws only when stderr is a terminal and the tool is not
//! `--quiet`; in pipes and CI logs it draws nothing, so what the tools print
//! there stays plain lines without escape codes.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

use crate::cli::{verbosity, Verbosity};

/// A handle on one progress line; cheap to clone into worker threads. Every
/// method is a no-op when nothing is drawn.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Every line drawn by this process, stacked: a stream's "add-ons done" stays
/// on top while each add-on's own lines (bundles built, bytes pushed) come
/// and go below it, instead of two lines redrawing over each other. A note
/// or a `-v` line printed meanwhile goes above them all.
static LINES: OnceLock<MultiProgress> = OnceLock::new();

fn lines() -> &'static MultiProgress {
    LINES.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Prints one line on stderr: above the progress lines when some are drawn
/// (so neither overwrites the other), else plainly. Every note, warning and
/// `-v` line of the tools goes through here; a stderr that cannot be written
/// (a pipe whose reader has gone) loses the line, never panics.
pub fn eprint_line(line: &str) {
    while_hidden(|| crate::cli::error::write_stderr(&format!("{line}\n")));
}

/// Runs `work` with the drawn progress lines (if any) taken off the
/// terminal, then draws them again: for writing lines to a terminal the
/// lines are on. `work` must not draw progress itself.
pub fn while_hidden<R>(work: impl FnOnce() -> R) -> R {
    match LINES.get() {
        Some(lines) => lines.suspend(work),
        None => work(),
    }
}

/// Whether progress is drawn in this process: stderr is a terminal and the
/// tool is not quiet.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && verbosity() >= Verbosity::Normal
}

impl Progress {
    /// Nothing drawn (for tests, and where there is nothing to count).
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// `what 3/12` with a bar: things of a known number.
    pub fn counter(what: &str, total: u64) -> Progress {
        Progress::drawn(
            total,
            "{prefix} {bar:24} {pos}/{len} {wide_msg}",
            what,
            "=> ",
        )
    }

    /// `what 12` with a spinner: things counted as they come, their number
    /// not known in advance (the documents of a stream read as it arrives).
    pub fn tally(what: &str) -> Progress {
        Progress::spinning("{spinner} {prefix} {pos} {wide_msg}", what)
    }

    /// `what 12.3 MiB/40.0 MiB` with a bar: bytes of a known total.
    pub fn bytes(what: &str, total: u64) -> Progress {
        Progress::drawn(
            total,
            "{prefix} {bar:24} {bytes}/{total_bytes} {wide_msg}",
            what,
            "=> ",
        )
    }

    /// A status line that each `set_message` replaces (csv-wait's tally).
    pub fn status(what: &str) -> Progress {
        Progress::spinning("{spinner} {prefix} {wide_msg}", what)
    }

    /// A spinner of no known length, ticking by itself, in `template`.
    fn spinning(template: &str, what: &str) -> Progress {
        if !enabled() {
            return Progress::hidden();
        }
        // Cleared when the last clone goes, even when a step fails early.
        let bar = lines().add(
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_finish(ProgressFinish::AndClear),
        );
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    fn drawn(total: u64, template: &str, what: &str, chars: &str) -> Progress {
        if !enabled() {
            return Progress::hidden();
        }
        let bar = lines().add(
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
                .with_finish(ProgressFinish::AndClear),
        );
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars(chars);
        bar.set_style(style);
        bar.set_prefix(what.to_owned());
        bar.tick();
        Progress { bar: Some(bar) }
    }

    /// Whether this handle draws anything.
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn set_position(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        }
    }

    /// Grows the total as more work is discovered (blobs to push).
    pub fn inc_length(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(n);
        }
    }

    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// A line printed above the progress line, so notes and the bar do not
    /// overwrite each other; a plain line when nothing is drawn.
    pub fn println(&self, line: impl AsRef<str>) {
        eprint_line(line.as_ref());
    }

    /// Removes the line: what remains on the terminal is the tool's output.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            lines().remove(bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
        // cargo test captures stderr through a pipe.
        if std::io::stderr().is_terminal() {
            return;
        }
        let progress = Progress::counter("bundles", 3);
        assert!(!progress.is_drawn());
        progress.inc(1);
        progress.set_message("x");
        progress.finish();
        assert!(!Progress::status("clusters").is_drawn());
    }

    #[test]
    fn quiet_draws_nothing() {
        crate::cli::set_verbosity(Verbosity::Quiet);
        assert!(!enabled());
        crate::cli::set_verbosity(Verbosity::Normal);
    }
}
