//! The CI recipes in examples/ci/ parse, and every command they call exists:
//! each `make` target is in our Makefile, each tool is one of ours and each
//! `--flag` given to a tool is one its `--help` lists.

use std::collections::BTreeSet;

use e2e::{repo_root, tool, RunExt};
use serde_yaml::Value;

/// Programs of the CI image, not ours.
const SYSTEM: [&str; 3] = ["apt-get", "git", "printf"];

/// Every shell line of a recipe: GitLab's `script`/`before_script`, GitHub's `run`.
fn shell_lines(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or_default();
                if matches!(key, "script" | "before_script" | "after_script" | "run") {
                    match value {
                        Value::String(line) => out.push(line.clone()),
                        Value::Sequence(lines) => out.extend(
                            lines
                                .iter()
                                .filter_map(|line| line.as_str().map(str::to_owned)),
                        ),
                        _ => panic!("{key} is a string or a list of strings"),
                    }
                } else {
                    shell_lines(value, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| shell_lines(item, out)),
        _ => {}
    }
}

fn makefile_targets() -> BTreeSet<String> {
    let makefile = std::fs::read_to_string(repo_root().join("Makefile")).unwrap();
    makefile
        .lines()
        .filter_map(|line| {
            let (head, _) = line.split_once(':')?;
            let head = head.trim();
            (!head.is_empty()
                && !line.starts_with(['\t', ' ', '#', '.'])
                && !line.contains(":=")
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

fn help_of(name: &str) -> String {
    tool(name).arg("--help").run().success().stdout()
}

/// Checks one simple command (no `&&`, `|` or `;`), returning what is wrong.
fn check_command(words: &[&str], targets: &BTreeSet<String>) -> Result<(), String> {
    let Some((&program, args)) = words.split_first() else {
        return Ok(());
    };
    if program == "make" {
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "-C" | "-f" => {
                    args.next();
                }
                flag if flag.starts_with('-') || flag.contains('=') => {}
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
    } else if SYSTEM.contains(&program) {
        Ok(())
    } else {
        Err(format!("{program:?} is neither ours nor a system program"))
    }
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

fn check_recipe(file: &str) {
    let path = repo_root().join("examples/ci").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let recipe: Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|err| panic!("{} does not parse: {err}", path.display()));
    let mut lines = Vec::new();
    shell_lines(&recipe, &mut lines);
    assert!(lines.len() >= 4, "{file}: found its commands");
    let targets = makefile_targets();
    assert!(targets.contains("deploy") && targets.contains("install"));
    let mut problems = Vec::new();
    let mut ran_make_deploy = false;
    for line in &lines {
        let line = without_expressions(line);
        for command in line.split(['|', ';', '&']) {
            let words: Vec<&str> = command
                .split_whitespace()
                .filter(|w| *w != ">" && !w.starts_with('>'))
                .collect();
            ran_make_deploy |= words.first() == Some(&"make") && words.contains(&"deploy");
            if let Err(problem) = check_command(&words, &targets) {
                problems.push(format!("{}: {problem}", command.trim()));
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
fn a_missing_target_or_flag_is_caught() {
    let targets = makefile_targets();
    assert!(check_command(&["make", "-C", "x", "install"], &targets).is_ok());
    assert!(check_command(&["make", "deploy-everything"], &targets).is_err());
    assert!(check_command(&["hive-apply", "--no-such-flag"], &targets).is_err());
    assert!(check_command(&["kubectl", "apply"], &targets).is_err());
}
