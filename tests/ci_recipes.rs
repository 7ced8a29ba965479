//! The CI recipes in examples/ci/ and our shell scripts, checked by the
//! clients that run or lint them (actionlint on the GitHub workflow,
//! shellcheck on every script and on the GitLab jobs' scripts), and by what
//! they call: each `make` target and setting is in our Makefile, each tool is
//! one of ours and each `--flag` given to a tool is one its `--help` lists.
//! And what the recipes promise: the tools are built once, secrets reach
//! commands only through the environment, the findings become reports.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use e2e::{repo_root, tool, RunExt};
use serde_yaml::Value;

/// Programs of the CI images, not ours.
const SYSTEM: [&str; 8] = [
    "apt-get", "git", "printf", "mkdir", "cp", "chmod", "echo", "export",
];

/// Shell words that start no program.
const SHELL_WORDS: [&str; 9] = [
    "case", "esac", "in", "if", "then", "else", "fi", "umask", "*)",
];

fn recipe(file: &str) -> Value {
    let path = repo_root().join("examples/ci").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text)
        .unwrap_or_else(|err| panic!("{} does not parse: {err}", path.display()))
}

/// A `script`-like value: a string, or a list of strings.
fn lines_of(key: &str, value: &Value) -> Vec<String> {
    match value {
        Value::String(line) => vec![line.clone()],
        Value::Sequence(lines) => lines
            .iter()
            .filter_map(|line| line.as_str().map(str::to_owned))
            .collect(),
        _ => panic!("{key} is a string or a list of strings"),
    }
}

/// Every shell line of a recipe: GitLab's `script`/`before_script`, GitHub's `run`.
fn shell_lines(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or_default();
                if matches!(key, "script" | "before_script" | "after_script" | "run") {
                    out.extend(lines_of(key, value));
                } else {
                    shell_lines(value, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| shell_lines(item, out)),
        _ => {}
    }
}

fn makefile() -> String {
    std::fs::read_to_string(repo_root().join("Makefile")).unwrap()
}

fn makefile_targets() -> BTreeSet<String> {
    makefile()
        .lines()
        .filter_map(|line| {
            let (head, _) = line.split_once(':')?;
            let head = head.trim();
            (!head.is_empty()
                && !line.starts_with(['\t', ' ', '#', '.'])
                && !line.contains(":=")
                && !line.contains("?=")
                && !head.contains(['$', '%', '?', '+', '=']))
            .then(|| {
                head.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        })
        .flatten()
        .collect()
}

/// The settings a user may give make (`NAME ?= default`).
fn makefile_settings() -> BTreeSet<String> {
    makefile()
        .lines()
        .filter_map(|line| {
            line.split_once("?=")
                .map(|(name, _)| name.trim().to_owned())
        })
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

fn help_of(name: &str) -> String {
    tool(name).arg("--help").run().success().stdout()
}

/// Checks one simple command (no `&&`, `|` or `;`), returning what is wrong.
fn check_command(words: &[&str], targets: &BTreeSet<String>) -> Result<(), String> {
    // Assignments before the program, and case labels (`*)`), start nothing.
    let words: Vec<&str> = words
        .iter()
        .copied()
        .skip_while(|word| word.ends_with(')') || is_assignment(word))
        .collect();
    let Some((&program, args)) = words.split_first() else {
        return Ok(());
    };
    let program = program.trim_start_matches('(');
    if program == "make" {
        let settings = makefile_settings();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "-C" | "-f" => {
                    args.next();
                }
                flag if flag.starts_with('-') => {}
                setting if setting.contains('=') => {
                    let name = setting.split('=').next().unwrap_or_default();
                    if !settings.contains(name) {
                        return Err(format!("make has no setting {name}"));
                    }
                }
                target if !targets.contains(target) => {
                    return Err(format!("make target {target:?} is not in the Makefile"))
                }
                _ => {}
            }
        }
        Ok(())
    } else if e2e::tools().iter().any(|tool| tool == program) {
        let help = help_of(program);
        for flag in args.iter().filter(|arg| arg.starts_with("--")) {
            let flag = flag.split('=').next().unwrap_or(flag);
            if !help.contains(flag) {
                return Err(format!("{program} has no flag {flag}"));
            }
        }
        Ok(())
    } else if SYSTEM.contains(&program) || SHELL_WORDS.contains(&program) {
        Ok(())
    } else {
        Err(format!("{program:?} is neither ours nor a system program"))
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// GitHub's `${{ expression }}` as one opaque word, as the runner substitutes it.
fn without_expressions(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str("EXPR");
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The simple commands of a script, each as its words: lines joined at `\`,
/// comments dropped, split at `|`, `;` and `&` outside quotes, quotes taken
/// off the words as the shell does.
fn simple_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut in_word = false;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '|' | ';' | '&') => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    commands.push(std::mem::take(&mut words));
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            words.push(word);
        }
        commands.push(words);
    }
    commands.retain(|words| !words.is_empty());
    commands
}

fn check_recipe(file: &str) {
    let mut lines = Vec::new();
    shell_lines(&recipe(file), &mut lines);
    assert!(lines.len() >= 4, "{file}: found its commands");
    let targets = makefile_targets();
    assert!(targets.contains("deploy") && targets.contains("install"));
    let mut problems = Vec::new();
    let mut ran_make_deploy = false;
    for line in &lines {
        for command in simple_commands(&without_expressions(line)) {
            let words: Vec<&str> = command
                .iter()
                .map(String::as_str)
                .filter(|w| *w != ">" && *w != ">>" && !w.starts_with('>'))
                .collect();
            ran_make_deploy |= words.first() == Some(&"make") && words.contains(&"deploy");
            if let Err(problem) = check_command(&words, &targets) {
                problems.push(format!("{}: {problem}", command.join(" ")));
            }
        }
    }
    assert!(problems.is_empty(), "{file}:\n{}", problems.join("\n"));
    assert!(ran_make_deploy, "{file} deploys with the Makefile");
}

#[test]
fn gitlab_recipe_parses_and_calls_only_what_exists() {
    check_recipe("gitlab-ci.yml");
}

#[test]
fn github_actions_recipe_parses_and_calls_only_what_exists() {
    check_recipe("github-actions.yml");
}

#[test]
fn a_missing_target_flag_or_setting_is_caught() {
    let targets = makefile_targets();
    assert!(check_command(&["make", "-C", "x", "install"], &targets).is_ok());
    assert!(check_command(&["make", "deploy", "REGISTRY_ORG=q/o"], &targets).is_ok());
    assert!(check_command(&["make", "deploy", "REGISTRY=q/o"], &targets).is_err());
    assert!(check_command(&["make", "deploy-everything"], &targets).is_err());
    assert!(check_command(&["hive-apply", "--no-such-flag"], &targets).is_err());
    assert!(check_command(&["kubectl", "apply"], &targets).is_err());
    assert!(check_command(&["since=x", "make", "nothing"], &targets).is_err());
    assert!(check_command(&["*)", "since=\"\""], &targets).is_ok());
}

/// actionlint, the linter GitHub users run, with its shellcheck pass over
/// every `run:` script: no finding at all (it flagged seven actions on the
/// deprecated node20 runtime).
#[test]
fn the_github_recipe_passes_actionlint() {
    let present = e2e::program("actionlint") && e2e::program("shellcheck");
    if !e2e::prerequisite("actionlint and shellcheck (scripts/ci-tools.sh)", present) {
        return;
    }
    Command::new("actionlint")
        .arg(repo_root().join("examples/ci/github-actions.yml"))
        .run()
        .success()
        .no_stdout();
}

/// Each GitLab job's shell, as the runner runs it (the default
/// `before_script` unless the job has its own, then `script`), through
/// shellcheck as POSIX sh.
#[test]
fn the_gitlab_jobs_scripts_pass_shellcheck() {
    if !have_shellcheck() {
        return;
    }
    let recipe = recipe("gitlab-ci.yml");
    let jobs = recipe.as_mapping().unwrap();
    let default_before = recipe["default"]
        .get("before_script")
        .map(|v| lines_of("before_script", v))
        .unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or_default();
        let script = job.get("script").or_else(|| {
            let parent = job.get("extends")?.as_str()?;
            recipe.get(parent)?.get("script")
        });
        let Some(script) = script else { continue };
        let before = job
            .get("before_script")
            .map(|v| lines_of("before_script", v))
            .unwrap_or_else(|| default_before.clone());
        let mut text = String::from("#!/bin/sh\nset -e\n");
        for line in before.iter().chain(&lines_of("script", script)) {
            text.push_str(line);
            text.push('\n');
        }
        let file = dir
            .path()
            .join(format!("{}.sh", name.trim_start_matches('.')));
        std::fs::write(&file, &text).unwrap();
        let run = Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(&file)
            .run();
        assert_eq!(run.code(), 0, "job {name}:\n{text}\n{}", run.stdout());
        checked += 1;
    }
    assert!(checked >= 4, "found the jobs' scripts");
}

/// Whether shellcheck is here ([`e2e::prerequisite`]: skipped, or failed in
/// CI, when not).
fn have_shellcheck() -> bool {
    e2e::prerequisite(
        "shellcheck (scripts/ci-tools.sh)",
        e2e::program("shellcheck"),
    )
}

/// shellcheck on the scripts a user or CI runs, the bench stages too.
#[test]
fn the_scripts_pass_shellcheck() {
    if !have_shellcheck() {
        return;
    }
    for script in [
        ".ci/run",
        "scripts/demo.sh",
        "scripts/test.sh",
        "scripts/bench.sh",
        "scripts/ci-tools.sh",
    ] {
        let run = Command::new("shellcheck")
            .arg("--severity=style")
            .arg(repo_root().join(script))
            .run();
        assert_eq!(run.code(), 0, "{script}:\n{}", run.stdout());
    }
    // The stages of scripts/bench.sh, each with the helpers it sources (-x).
    let mut stages = 0;
    for entry in std::fs::read_dir(repo_root().join("scripts/bench")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "sh") {
            let run = Command::new("shellcheck")
                .args(["--severity=style", "-x"])
                .arg(&path)
                .run();
            assert_eq!(run.code(), 0, "{}:\n{}", path.display(), run.stdout());
            stages += 1;
        }
    }
    assert!(stages >= 8, "found the bench stages");
}

/// A secret (or any expression) pasted into a script's text loses its quotes
/// and runs what `$(...)` it holds: GitHub's scripts read them from env:.
#[test]
fn github_scripts_hold_no_expression() {
    let mut lines = Vec::new();
    shell_lines(&recipe("github-actions.yml"), &mut lines);
    for line in lines {
        assert!(
            !line.contains("${{"),
            "an expression in a script's text, pass it through env:: {line}"
        );
    }
}

/// The tools are built once per pipeline, by one job the others need.
#[test]
fn the_recipes_build_the_tools_once() {
    for (file, jobs_key) in [
        ("gitlab-ci.yml", None),
        ("github-actions.yml", Some("jobs")),
    ] {
        let recipe = recipe(file);
        let jobs = match jobs_key {
            Some(key) => recipe[key].clone(),
            None => recipe.clone(),
        };
        let mut builds = 0;
        let mut others = 0;
        for (name, job) in jobs.as_mapping().unwrap() {
            let name = name.as_str().unwrap_or_default();
            let mut lines = Vec::new();
            shell_lines(job, &mut lines);
            if let Some(parent) = job.get("extends").and_then(Value::as_str) {
                shell_lines(&jobs[parent], &mut lines);
            }
            if lines
                .iter()
                .any(|line| line.contains("make -C") && line.contains(" install "))
            {
                builds += 1;
                assert_eq!(name, "build-tools", "{file}: {name} builds the tools");
                continue;
            }
            // Jobs that run something; not `default:` or a template.
            if name == "default" || name.starts_with('.') || lines.is_empty() {
                continue;
            }
            let needs = job
                .get("needs")
                .or_else(|| {
                    let parent = job.get("extends")?.as_str()?;
                    jobs.get(parent)?.get("needs")
                })
                .map(|needs| serde_yaml::to_string(needs).unwrap())
                .unwrap_or_default();
            assert!(
                needs.contains("build-tools"),
                "{file}: {name} takes the tools from build-tools"
            );
            others += 1;
        }
        assert_eq!(builds, 1, "{file}: one job builds the tools");
        assert!(others >= 2, "{file}");
    }
}

/// The findings reach the merge request: GitLab's test widget and Code
/// Quality from the validate job, GitHub's annotations.
#[test]
fn the_recipes_report_where_reviewers_read() {
    let gitlab = recipe("gitlab-ci.yml");
    let reports = &gitlab["validate"]["artifacts"]["reports"];
    assert!(reports.get("junit").is_some() && reports.get("codequality").is_some());
    let text = |file: &str| std::fs::read_to_string(repo_root().join("examples/ci").join(file));
    let gitlab = text("gitlab-ci.yml").unwrap();
    assert!(gitlab.contains("--report codequality=") && gitlab.contains("--report junit="));
    let github = text("github-actions.yml").unwrap();
    assert!(github.contains("--report github"));
    // Both deploy with the registry's new name, never the old one.
    for recipe in [&gitlab, &github] {
        assert!(recipe.contains("REGISTRY_ORG="));
        assert!(!recipe.contains(" REGISTRY="));
    }
    assert!(Path::new(&repo_root().join("examples/ci")).is_dir());
}
