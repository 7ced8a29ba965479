//! The Makefile as CI and people use it: `make install` (binaries, man pages,
//! completions), `make help`, and `make deploy` over a tree, whose second run
//! with nothing changed does nothing and whose run after one add-on changed
//! touches only that add-on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::{FakeOcm, REFRESH_TOKEN};
use e2e::{copy_tree, repo_root, write_kubeconfig, Run, RunExt};

/// Where cargo put the tools this test run uses (debug, or whatever profile).
fn bin_dir() -> PathBuf {
    e2e::bin_path("addon-validate")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn make(args: &[&str], envs: &[(&str, &str)]) -> Run {
    Command::new("make")
        .current_dir(repo_root())
        .arg("--no-print-directory")
        .args(args)
        .arg(format!("BIN={}", bin_dir().display()))
        .envs(envs.iter().copied())
        .run()
}

/// man's bold and underline on a pipe are overstrikes (`S\x08S`): the plain text.
fn without_overstrike(page: &str) -> String {
    let mut plain = String::with_capacity(page.len());
    for c in page.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

const TOOLS: [&str; 6] = [
    "addon-validate",
    "catalog-build",
    "syncset-render",
    "hive-apply",
    "ocm-post",
    "csv-wait",
];

#[test]
fn make_install_gives_binaries_man_pages_and_completions() {
    let prefix = tempfile::tempdir().unwrap();
    let destdir = tempfile::tempdir().unwrap();
    make(
        &[
            "install",
            &format!("PREFIX={}", prefix.path().display()),
            &format!("DESTDIR={}", destdir.path().display()),
        ],
        &[],
    )
    .success();
    // DESTDIR is prepended to PREFIX, as packagers expect.
    let root = destdir
        .path()
        .join(prefix.path().strip_prefix("/").unwrap());
    for tool in TOOLS {
        let binary = root.join("bin").join(tool);
        let version = Command::new(&binary)
            .arg("--version")
            .run()
            .success()
            .stdout();
        assert!(
            version.starts_with(&format!("{tool} ")) && version.contains("(commit "),
            "{tool} --version names the version and commit: {version}"
        );

        let page = root.join(format!("share/man/man1/{tool}.1"));
        // man (Debian man-db) renders the page without warnings.
        let rendered = Command::new("man")
            .args(["--warnings=all", "-l"])
            .arg(&page)
            .env("MANWIDTH", "100")
            .run()
            .success()
            .no_stderr();
        let rendered = without_overstrike(&rendered.stdout());
        check_man_page(tool, &rendered);
        // mandoc's linter, stricter than man: no warning either.
        if e2e::prerequisite("mandoc (scripts/ci-tools.sh)", e2e::program("mandoc")) {
            Command::new("mandoc")
                .args(["-T", "lint", "-W", "warning"])
                .arg(&page)
                .run()
                .success()
                .no_stdout()
                .no_stderr();
        }

        let bash = root.join(format!("share/bash-completion/completions/{tool}"));
        Command::new("bash").arg("-n").arg(&bash).run().success();
        assert!(std::fs::read_to_string(&bash).unwrap().contains("complete"));
        let zsh = std::fs::read_to_string(root.join(format!("share/zsh/site-functions/_{tool}")))
            .unwrap();
        assert!(zsh.starts_with(&format!("#compdef {tool}")), "{tool} zsh");
        let fish = std::fs::read_to_string(
            root.join(format!("share/fish/vendor_completions.d/{tool}.fish")),
        )
        .unwrap();
        assert!(fish.contains(&format!("complete -c {tool}")), "{tool} fish");
    }
    assert!(
        ENV_DOCUMENTED.iter().all(|(tool, var)| {
            let page = root.join(format!("share/man/man1/{tool}.1"));
            std::fs::read_to_string(page).unwrap().contains(var)
        }),
        "every credential variable is in its tool's man page"
    );
}

/// The sections of a man page as man renders it: each title (a line that
/// starts in column 0) with its text.
fn man_sections(rendered: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in rendered.lines() {
        if !line.is_empty() && !line.starts_with(' ') {
            sections.push((line.trim().to_string(), String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line.trim());
            text.push('\n');
        }
    }
    sections
}

/// What every page must hold (issue 21): every section the README names, in
/// order; a SYNOPSIS that shows what options take; the exit codes the tool
/// uses (5 is csv-wait's alone); SEE ALSO the other tools, not itself.
fn check_man_page(tool: &str, rendered: &str) {
    let sections = man_sections(rendered);
    let titles: Vec<&str> = sections
        .iter()
        .map(|(title, _)| title.as_str())
        // Not man's header and footer lines, which name the page.
        .filter(|title| !title.ends_with(&format!("{tool}(1)")))
        .collect();
    assert_eq!(
        titles,
        [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "VERSION",
            "SEE ALSO"
        ],
        "{tool}.1:\n{rendered}"
    );
    let text = |title: &str| {
        sections
            .iter()
            .find(|(t, _)| t == title)
            .map(|(_, text)| text.as_str())
            .unwrap_or_default()
    };
    assert!(
        text("SYNOPSIS").contains("[--report KIND[=FILE]]..."),
        "{tool}: SYNOPSIS shows option arguments:\n{}",
        text("SYNOPSIS")
    );
    let codes: Vec<&str> = text("EXIT STATUS")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.len() == 1 && word.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        codes.first().copied(),
        Some("0"),
        "{tool}: {}",
        text("EXIT STATUS")
    );
    assert_eq!(
        codes.contains(&"5"),
        tool == "csv-wait",
        "{tool}: exit 5 (the add-on failed) is csv-wait's alone: {codes:?}"
    );
    let see_also = text("SEE ALSO");
    assert!(
        !see_also.contains(&format!("{tool}(1)")),
        "{tool}: {see_also}"
    );
    for other in e2e::tools().iter().filter(|other| *other != tool) {
        assert!(
            see_also.contains(&format!("{other}(1)")),
            "{tool}: {see_also}"
        );
    }
}

/// The environment each remote tool reads, which its man page must name.
const ENV_DOCUMENTED: [(&str, &str); 5] = [
    ("catalog-build", "REGISTRY_AUTH_FILE"),
    ("catalog-build", "QUAY_APIKEY"),
    ("hive-apply", "KUBECONFIG"),
    ("ocm-post", "OCM_TOKEN"),
    ("csv-wait", "PROMETHEUS_URL"),
];

#[test]
fn generate_refuses_an_unknown_kind_as_usage() {
    Command::new(bin_dir().join("hive-apply"))
        .args(["--generate", "powershell"])
        .run()
        .exit(2)
        .stderr_has("complete-bash");
}

#[test]
fn make_help_lists_the_stage_targets() {
    let help = make(&["help"], &[]).success().stdout();
    for target in [
        "deploy", "validate", "catalog", "render", "apply", "post", "wait", "install", "test",
        "demo", "bench",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{target} "))),
            "make help lists {target}:\n{help}"
        );
    }
}

/// A deploy of the example tree against the loopback Hive and OCM, with the
/// catalogs written as OCI layouts.
struct Deploy {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    out: PathBuf,
    kubeconfig: PathBuf,
    hive: KubeServer,
    ocm: FakeOcm,
}

impl Deploy {
    fn new() -> Deploy {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("managed-tenants");
        copy_tree(&repo_root().join("examples/managed-tenants"), &tree);
        let hive = KubeServer::start(KubeOptions::default()).unwrap();
        let kubeconfig = write_kubeconfig(dir.path(), &hive, "test-token");
        let ocm = FakeOcm::start().unwrap();
        Deploy {
            out: dir.path().join("build"),
            tree,
            kubeconfig,
            hive,
            ocm,
            _dir: dir,
        }
    }

    fn settings(&self) -> Vec<String> {
        vec![
            "ENV=stage".into(),
            format!("TREE={}", self.tree.display()),
            format!(
                "BUNDLES={}",
                repo_root()
                    .join("examples/managed-tenants-bundles/addons")
                    .display()
            ),
            format!("OUT={}", self.out.display()),
            format!("KUBECONFIG={}", self.kubeconfig.display()),
            format!("OCM_URL={}", self.ocm.url()),
            format!("OCM_FLAGS=--token-url {}", self.ocm.token_url()),
        ]
    }

    fn make(&self, target: &[&str]) -> Run {
        let settings = self.settings();
        let mut args: Vec<&str> = target.to_vec();
        args.extend(settings.iter().map(String::as_str));
        make(&args, &[("OCM_REFRESH_TOKEN", REFRESH_TOKEN)])
    }

    /// Requests that reached the servers so far.
    fn requests(&self) -> (u64, usize) {
        (self.hive.api().requests(), self.ocm.requests().len())
    }
}

#[test]
fn make_deploy_runs_every_stage_then_nothing_when_nothing_changed() {
    let deploy = Deploy::new();
    deploy.make(&["-j2", "deploy"]).success();
    for id in ["logging-addon", "reference-addon"] {
        for file in [
            "addon.json",
            "catalog.json",
            "objects.yaml",
            "applied.json",
            "ocm.json",
        ] {
            let path = deploy.out.join("stage").join(id).join(file);
            assert!(path.is_file(), "{} written", path.display());
        }
        let catalog = deploy.out.join(format!("stage/{id}/catalog.json"));
        let catalog: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&catalog).unwrap()).unwrap();
        let index = catalog["indexImage"].as_str().unwrap_or_default();
        assert!(
            index.starts_with(&format!("quay.io/osd-addons/{id}@sha256:")),
            "{id}: indexImage is the built catalog by digest: {index}"
        );
        assert!(deploy.ocm.addon(id).is_some(), "{id} is in OCM");
        assert!(
            deploy
                .hive
                .api()
                .get("SelectorSyncSet", "", &format!("addon-{id}"))
                .is_some(),
            "{id}'s SelectorSyncSet is in Hive"
        );
    }

    let before = deploy.requests();
    // make --question says everything is up to date.
    deploy.make(&["--question", "deploy"]).success();
    // A no-op run runs no tool.
    deploy
        .make(&["deploy"])
        .success()
        .stdout_lacks("addon-validate");
    assert_eq!(deploy.requests(), before, "a no-op run sends no request");
}

#[test]
fn make_deploy_after_one_change_reruns_only_that_addon() {
    let deploy = Deploy::new();
    deploy.make(&["deploy"]).success();

    let changed = deploy
        .tree
        .join("addons/logging-addon/metadata/stage/addon.yaml");
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .append(true)
        .open(&changed)
        .unwrap()
        .set_modified(later)
        .unwrap();

    deploy
        .make(&["--dry-run", "deploy"])
        .success()
        .stdout_has("stage/logging-addon/")
        .stdout_lacks("reference-addon");

    // One stage of one add-on, by its file: what a person debugging runs.
    let objects = deploy.out.join("stage/logging-addon/objects.yaml");
    deploy
        .make(&[objects.to_str().unwrap()])
        .success()
        .stdout_has("syncset-render")
        .stdout_lacks("hive-apply")
        .stdout_lacks("ocm-post");
    assert!(Path::new(&objects).is_file());
}

#[test]
fn make_wait_runs_one_csv_wait_on_the_stream_of_every_addon_after_apply() {
    let deploy = Deploy::new();
    let mut args = vec!["-n".to_string(), "wait".to_string()];
    args.extend(deploy.settings());
    args.push("CLUSTERS=my-clusters.txt".into());
    args.push("PROMETHEUS_URL=http://thanos.example:9090".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = make(&args, &[]).success().stdout();
    let waits: Vec<&str> = plan.lines().filter(|l| l.contains("csv-wait")).collect();
    assert_eq!(waits.len(), 1, "one csv-wait for every add-on:\n{plan}");
    assert!(
        waits[0].contains("--clusters my-clusters.txt")
            && waits[0].contains("--url http://thanos.example:9090"),
        "{plan}"
    );
    let stream_line = plan
        .lines()
        .find(|l| l.starts_with("for document in"))
        .unwrap_or_else(|| panic!("the documents are streamed into csv-wait:\n{plan}"));
    for id in ["logging-addon", "reference-addon"] {
        assert!(
            stream_line.contains(&format!("stage/{id}/catalog.json")),
            "{id}'s document is in the stream:\n{plan}"
        );
    }
    let apply = plan
        .find("hive-apply")
        .unwrap_or_else(|| panic!("wait applies first:\n{plan}"));
    assert!(apply < plan.find("csv-wait").unwrap(), "{plan}");
    assert!(
        !deploy.out.exists(),
        "a dry run writes nothing: {}",
        deploy.out.display()
    );
}
