//! The Makefile as CI and people use it: `make install` (binaries, man pages,
//! completions), `make help`, `make rehearse`, and `make deploy` over a tree,
//! whose second run with nothing changed does nothing and whose run after one
//! add-on changed touches only that add-on; and what it refuses: a deploy
//! without a registry, a ref that is an option or unknown, a folder name or a
//! setting that would run as a command.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use addon_flow_testservers::kube::{KubeOptions, KubeServer};
use addon_flow_testservers::ocm::{FakeOcm, REFRESH_TOKEN};
use e2e::registry::LoopbackRegistry;
use e2e::{copy_tree, git, repo_root, Run, RunExt};

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
    for tool in e2e::tools() {
        let tool = tool.as_str();
        let binary = root.join("bin").join(tool);
        // Installed stripped (`install -s`), even from a debug build.
        let installed = std::fs::metadata(&binary).unwrap().len();
        let built = std::fs::metadata(bin_dir().join(tool)).unwrap().len();
        assert!(
            installed < built * 3 / 4,
            "{tool} is stripped: {installed} bytes installed, {built} built"
        );
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
fn make_build_builds_only_the_tools_without_debug_info() {
    let plan = make(&["-n", "build"], &[]).success().stdout();
    let build = plan
        .lines()
        .find(|line| line.contains(" build --release"))
        .unwrap_or_else(|| panic!("a cargo build:\n{plan}"));
    for tool in e2e::tools() {
        assert!(build.contains(&format!("-p {tool}")), "{tool}: {build}");
    }
    assert!(
        !build.contains("--workspace"),
        "not the test servers: {build}"
    );
    assert!(
        plan.contains("CARGO_PROFILE_RELEASE_DEBUG=false")
            && plan.contains("CARGO_PROFILE_RELEASE_STRIP=symbols"),
        "{plan}"
    );
}

#[test]
fn make_help_lists_every_target_and_every_setting() {
    let help = make(&["help"], &[]).success().stdout();
    for target in [
        "deploy", "rehearse", "validate", "catalog", "render", "apply", "post", "wait", "install",
        "test", "demo", "bench",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{target} "))),
            "make help lists {target}:\n{help}"
        );
    }
    // Every variable a user may set (`NAME ?= ...`), each with what it does.
    let makefile = std::fs::read_to_string(repo_root().join("Makefile")).unwrap();
    let settings: Vec<&str> = makefile
        .lines()
        .filter_map(|line| line.split_once("?=").map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    for name in [
        "CHANGED_SINCE",
        "BUNDLES_CHANGED_SINCE",
        "BIN",
        "CATALOG_FLAGS",
        "OUT",
        "CLUSTERS",
        "REGISTRY_ORG",
    ] {
        assert!(settings.contains(&name), "{name} is a setting");
    }
    for name in settings {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("make help lists {name}:\n{help}"));
        assert!(
            line.len() > name.len() + 20,
            "and says what it does: {line}"
        );
    }
}

/// A git repository holding a copy of the example tree, for CHANGED_SINCE.
fn git_tree(dir: &Path) -> PathBuf {
    let tree = dir.join("managed-tenants");
    copy_tree(&repo_root().join("examples/managed-tenants"), &tree);
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "."]);
    git(&tree, &["commit", "-q", "-m", "the tree"]);
    tree
}

fn tree_settings(tree: &Path, out: &Path) -> Vec<String> {
    vec![
        "ENV=stage".into(),
        format!("TREE={}", tree.display()),
        format!(
            "BUNDLES={}",
            repo_root()
                .join("examples/managed-tenants-bundles/addons")
                .display()
        ),
        format!("OUT={}", out.display()),
    ]
}

fn make_in(dir: &Path, args: &[String]) -> Run {
    Command::new("make")
        .current_dir(dir)
        .arg("--no-print-directory")
        .arg("-f")
        .arg(repo_root().join("Makefile"))
        .args(args)
        .arg(format!("BIN={}", bin_dir().display()))
        .run()
}

#[test]
fn changed_since_selects_the_changed_addons_and_refuses_what_is_no_ref() {
    let dir = tempfile::tempdir().unwrap();
    let tree = git_tree(dir.path());
    let out = dir.path().join("build");
    let with = |extra: &[&str]| {
        let mut args = vec!["-n".to_string(), "validate".to_string()];
        args.extend(tree_settings(&tree, &out));
        args.extend(extra.iter().map(|s| s.to_string()));
        make_in(dir.path(), &args)
    };
    let changed = tree.join("addons/logging-addon/metadata/stage/addon.yaml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(&changed).unwrap() + "# changed\n",
    )
    .unwrap();
    with(&["CHANGED_SINCE=HEAD"])
        .success()
        .stdout_has("logging-addon/addon.json")
        .stdout_lacks("reference-addon");

    // A ref git cannot resolve (GitLab's all-zero CI_COMMIT_BEFORE_SHA on a
    // first push, a typo) fails: never an empty selection that passes.
    let unknown = with(&["CHANGED_SINCE=0000000000000000000000000000000000000000"]);
    assert_ne!(unknown.code(), 0, "{}", unknown.stdout());
    unknown.stdout_lacks("addon.json");

    // An option is no ref, and a ref is one word: nothing runs.
    let output = dir.path().join("FILE");
    with(&[&format!("CHANGED_SINCE=--output={}", output.display())])
        .exit(2)
        .stderr_has("never starts with '-'");
    assert!(!output.exists(), "git wrote {}", output.display());
    let injected = with(&["CHANGED_SINCE=HEAD;touch PWNED"]);
    assert_ne!(injected.code(), 0);
    assert!(
        !dir.path().join("PWNED").exists(),
        "the ref ran as a command"
    );
}

#[test]
fn addon_names_never_reach_the_shell() {
    let (dir, tree) = e2e::example_tree();
    let hostile = "x`id>PWNED`";
    copy_tree(
        &tree.join("addons/reference-addon"),
        &tree.join("addons").join(hostile),
    );
    let out = dir.path().join("build");
    // A folder named so is refused by addon-validate's selection.
    let mut args = vec!["validate".to_string()];
    args.extend(tree_settings(&tree, &out));
    let run = make_in(dir.path(), &args);
    assert_ne!(run.code(), 0, "a folder that is no add-on id fails the run");
    // Named on the command line, it is one quoted word.
    let mut args = vec!["validate".to_string(), format!("ADDONS={hostile}")];
    args.extend(tree_settings(&tree, &out));
    make_in(dir.path(), &args);
    assert!(
        !dir.path().join("PWNED").exists() && !repo_root().join("PWNED").exists(),
        "a folder name ran as a command"
    );
}

#[test]
fn a_failed_stage_leaves_no_file_behind() {
    let (dir, tree) = e2e::example_tree();
    let addon = tree.join("addons/reference-addon/metadata/stage/addon.yaml");
    let text = std::fs::read_to_string(&addon).unwrap();
    std::fs::write(&addon, text.replacen("icon: iVBOR", "icon: R0lGOD", 1)).unwrap();
    let out = dir.path().join("build");
    let mut args = vec!["-k".to_string(), "validate".to_string()];
    args.extend(tree_settings(&tree, &out));
    let run = make_in(dir.path(), &args);
    assert_ne!(run.code(), 0);
    let left: Vec<String> = walk(&out)
        .into_iter()
        .filter(|path| path.ends_with(".tmp") || path.contains("reference-addon/addon.json"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        out.join("stage/logging-addon/addon.json").is_file(),
        "the other add-on went through"
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// A deploy of the example tree against the loopback Hive and OCM, the
/// catalogs pushed to a loopback registry (Debian's docker-registry), Hive's
/// kubeconfig split in two files as `KUBECONFIG=a:b`.
struct Deploy {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    out: PathBuf,
    kubeconfig: String,
    cache: PathBuf,
    registry: Option<LoopbackRegistry>,
    hive: KubeServer,
    ocm: FakeOcm,
}

impl Deploy {
    /// With a registry: None (skipped) where docker-registry is missing.
    fn new() -> Option<Deploy> {
        let registry = LoopbackRegistry::start()?;
        Some(Deploy::with_registry(Some(registry)))
    }

    fn with_registry(registry: Option<LoopbackRegistry>) -> Deploy {
        let (dir, tree) = e2e::example_tree();
        let hive = KubeServer::start(KubeOptions::default()).unwrap();
        // The cluster and context in one file, the user in another: only
        // both together (as hive-apply reads KUBECONFIG) reach Hive.
        let whole = hive.kubeconfig("test-token");
        let users = whole.find("users:").unwrap();
        let contexts = whole.find("contexts:").unwrap();
        let first = dir.path().join("kubeconfig-cluster");
        let second = dir.path().join("kubeconfig-user");
        std::fs::write(&first, format!("{}{}", &whole[..users], &whole[contexts..])).unwrap();
        std::fs::write(
            &second,
            format!("apiVersion: v1\nkind: Config\n{}", &whole[users..contexts]),
        )
        .unwrap();
        let ocm = FakeOcm::start().unwrap();
        Deploy {
            out: dir.path().join("build"),
            cache: dir.path().join("cache"),
            kubeconfig: format!("{}:{}", first.display(), second.display()),
            tree,
            registry,
            hive,
            ocm,
            _dir: dir,
        }
    }

    /// Where each stage writes its JUnit report (REPORTS).
    fn reports(&self) -> PathBuf {
        self.out.with_file_name("reports")
    }

    fn registry_org(&self) -> Option<String> {
        self.registry
            .as_ref()
            .map(|registry| format!("{}/osd-addons", registry.host()))
    }

    fn settings(&self) -> Vec<String> {
        let mut settings = tree_settings(&self.tree, &self.out);
        settings.extend([
            format!("KUBECONFIG={}", self.kubeconfig),
            format!("OCM_URL={}", self.ocm.url()),
            format!("OCM_FLAGS=--token-url {}", self.ocm.token_url()),
            "CATALOG_FLAGS=--base-image scratch".to_string(),
            format!("REPORTS={}", self.reports().display()),
        ]);
        settings.extend(self.registry_org().map(|org| format!("REGISTRY_ORG={org}")));
        settings
    }

    fn make(&self, target: &[&str]) -> Run {
        let settings = self.settings();
        let mut args: Vec<&str> = target.to_vec();
        args.extend(settings.iter().map(String::as_str));
        let cache = self.cache.display().to_string();
        make(
            &args,
            &[
                ("OCM_REFRESH_TOKEN", REFRESH_TOKEN),
                ("XDG_CACHE_HOME", cache.as_str()),
            ],
        )
    }

    /// Requests that reached the servers so far.
    fn requests(&self) -> (u64, usize) {
        (self.hive.api().requests(), self.ocm.requests().len())
    }
}

#[test]
fn make_deploy_runs_every_stage_then_nothing_when_nothing_changed() {
    let Some(deploy) = Deploy::new() else {
        return;
    };
    let org = deploy.registry_org().unwrap();
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
            index.starts_with(&format!("{org}/{id}@sha256:")),
            "{id}: indexImage is the catalog pushed to REGISTRY_ORG, by digest: {index}"
        );
        assert!(deploy.ocm.addon(id).is_some(), "{id} is in OCM");
        assert!(
            deploy
                .hive
                .api()
                .get("SelectorSyncSet", "", &format!("addon-{id}"))
                .is_some(),
            "{id}'s SelectorSyncSet is in Hive, through KUBECONFIG=a:b"
        );
        for stage in ["validate", "catalog", "render", "apply", "post"] {
            let report = deploy.reports().join(format!("{stage}-{id}.xml"));
            let text = std::fs::read_to_string(&report)
                .unwrap_or_else(|err| panic!("REPORTS has {}: {err}", report.display()));
            assert!(text.contains("failures=\"0\" errors=\"0\""), "{text}");
        }
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
    let Some(deploy) = Deploy::new() else {
        return;
    };
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
fn make_deploy_without_a_registry_refuses_before_anything_runs() {
    let deploy = Deploy::with_registry(None);
    for goal in ["deploy", "apply", "post", "catalog"] {
        deploy
            .make(&[goal])
            .exit(2)
            .stderr_has("REGISTRY_ORG is not set")
            .stderr_has("make rehearse");
    }
    // The old name is an error that names the new one.
    deploy
        .make(&["deploy", "REGISTRY=quay.io/osd-addons"])
        .exit(2)
        .stderr_has("REGISTRY is now REGISTRY_ORG");
    // One stage by its file is refused too, when it would build a catalog.
    let catalog = deploy.out.join("stage/reference-addon/catalog.json");
    deploy
        .make(&[catalog.to_str().unwrap()])
        .exit(2)
        .stderr_has("REGISTRY_ORG is not set");
    assert!(!catalog.exists());
    assert_eq!(deploy.requests(), (0, 0), "nothing reached Hive or OCM");
}

#[test]
fn make_rehearse_builds_locally_and_reaches_nothing() {
    let deploy = Deploy::with_registry(None);
    deploy
        .make(&["rehearse"])
        .success()
        .stdout_has("nothing was pushed, applied or posted");
    let rehearsal = deploy.out.join("rehearsal/stage");
    for id in ["logging-addon", "reference-addon"] {
        assert!(
            rehearsal.join(id).join("objects.yaml").is_file(),
            "{id} rendered"
        );
        assert!(!rehearsal.join(id).join("applied.json").exists());
    }
    assert!(
        rehearsal
            .join("reference-addon/catalog/index.json")
            .is_file(),
        "the catalog is an OCI layout"
    );
    assert!(
        !deploy.out.join("stage").exists(),
        "a deploy's files are not a rehearsal's"
    );
    assert_eq!(deploy.requests(), (0, 0), "nothing reached Hive or OCM");
}

#[test]
fn make_wait_runs_one_csv_wait_on_the_stream_of_every_addon_after_apply() {
    let deploy = Deploy::with_registry(None);
    let mut args = vec!["-n".to_string(), "wait".to_string()];
    args.extend(deploy.settings());
    args.push("REGISTRY_ORG=registry.example/org".into());
    args.push("CLUSTERS=my-clusters.txt".into());
    args.push("PROMETHEUS_URL=http://thanos.example:9090".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = make(&args, &[]).success().stdout();
    let waits: Vec<&str> = plan.lines().filter(|l| l.contains("csv-wait")).collect();
    assert_eq!(waits.len(), 1, "one csv-wait for every add-on:\n{plan}");
    assert!(
        waits[0].contains("--clusters 'my-clusters.txt'")
            && waits[0].contains("--url 'http://thanos.example:9090'"),
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
    let apply_line = plan.lines().find(|l| l.contains("hive-apply")).unwrap();
    assert!(
        !apply_line.contains("--kubeconfig"),
        "KUBECONFIG reaches hive-apply whole, in its environment: {apply_line}"
    );
    assert!(
        !deploy.out.exists(),
        "a dry run writes nothing: {}",
        deploy.out.display()
    );
}
