//! Helpers for the end-to-end tests: where the binaries and fixtures are.

use std::path::{Path, PathBuf};

pub mod check;
pub mod pki;
pub mod registry;
pub mod servers;
pub mod telemetry;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared/reference`, when this checkout has it beside it.
pub fn reference_dir() -> Option<PathBuf> {
    let dir = repo_root().parent()?.join("shared").join("reference");
    dir.is_dir().then_some(dir)
}

/// The variable `.ci/run` sets: every prerequisite must be there, and a test
/// that lacks one fails instead of skipping.
pub const REQUIRE_ALL: &str = "ADDON_FLOW_REQUIRE_ALL";

/// The file `scripts/test.sh` names: one line per skipped test, so that its
/// closing line counts them as skipped, not passed.
pub const SKIP_LOG: &str = "ADDON_FLOW_SKIP_LOG";

/// Whether a test can run: `present` says whether `what` (a program, a
/// folder) is here. When it is not, the test fails under [`REQUIRE_ALL`]
/// (CI must run it), and elsewhere it says SKIPPED, is counted as skipped by
/// `scripts/test.sh`, and returns false so the test returns at once.
pub fn prerequisite(what: &str, present: bool) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let require_all = std::env::var_os(REQUIRE_ALL).is_some_and(|v| !v.is_empty());
    let log = std::env::var_os(SKIP_LOG).map(PathBuf::from);
    judge_prerequisite(&test, what, present, require_all, log.as_deref())
        .unwrap_or_else(|message| panic!("{message}"))
}

/// [`prerequisite`]'s decision: run (true), skip and log it (false), or
/// fail (the message) when CI requires everything.
fn judge_prerequisite(
    test: &str,
    what: &str,
    present: bool,
    require_all: bool,
    log: Option<&Path>,
) -> Result<bool, String> {
    if present {
        return Ok(true);
    }
    if require_all {
        return Err(format!(
            "{test} needs {what}, which is missing, and {REQUIRE_ALL} is set (.ci/run): it cannot run"
        ));
    }
    eprintln!("SKIPPED: {test}: {what} is missing");
    if let Some(log) = log {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| writeln!(file, "{test}\t{what}"))
            .map_err(|err| format!("cannot record the skip in {}: {err}", log.display()))?;
    }
    Ok(false)
}

/// The tools' test-only backoff, for `command.envs(QUICK_RETRIES)`
/// (`common::remote::http::TEST_RETRY_BASE_MS` and `TEST_RETRY_MAX_MS`): the same
/// tries and messages as in production, with a first wait of 1 ms and none
/// over 20 ms, a server's `Retry-After` included. For tests that count
/// tries and read messages; what they check is never how long a wait was.
pub const QUICK_RETRIES: [(&str, &str); 2] = [
    (common::remote::http::TEST_RETRY_BASE_MS, "1"),
    (common::remote::http::TEST_RETRY_MAX_MS, "20"),
];

/// Whether a program runs here (`PROGRAM --version`, or an absolute path
/// that exists), as [`prerequisite`] wants it.
pub fn program(name: &str) -> bool {
    if name.starts_with('/') {
        return Path::new(name).is_file();
    }
    std::process::Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// `../shared/reference`, for a conformance test: None (skipped, or failed
/// under [`REQUIRE_ALL`]) when this checkout has none beside it.
pub fn require_reference(what: &str) -> Option<PathBuf> {
    let dir = reference_dir();
    prerequisite(&format!("../shared/reference ({what})"), dir.is_some())
        .then_some(dir)
        .flatten()
}

/// Builds every tool binary once per test process, in the profile this test
/// was built with, so that `cargo test` alone runs the end-to-end tests on
/// binaries of the current source (cargo builds only the tested package's own
/// binaries by itself, and these live in other packages).
pub fn ensure_tools_built() {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let probe = assert_cmd::cargo::cargo_bin("addon-validate");
        let profile = match probe.parent().and_then(|dir| dir.file_name()) {
            Some(name) if name == "debug" => "dev".to_owned(),
            Some(name) => name.to_string_lossy().into_owned(),
            None => "dev".to_owned(),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_set_by_cargo_for_this_test) {
                build.env_remove(name);
            }
        }
        let status = build
            .current_dir(repo_root())
            .args(["build", "--quiet", "--workspace", "--bins", "--profile"])
            .arg(&profile)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --workspace --bins failed");
    });
}

/// The variables `cargo test` sets for the test binary itself (the
/// package's name and version, its manifest, OUT_DIR, the binaries' paths).
/// The build of the tools must not see them: build scripts (ring's, through
/// `rerun-if-env-changed`) depend on some, so cargo would rebuild the TLS
/// stack and every tool here, and `cargo test` rebuild them back the next
/// time, on every run.
fn is_set_by_cargo_for_this_test(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        || [
            "OUT_DIR",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name)
}

/// The path of one of our binaries (tools and test servers), built first.
pub fn bin_path(name: &str) -> PathBuf {
    ensure_tools_built();
    let path = assert_cmd::cargo::cargo_bin(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The folder of our binaries (built first), for a script that puts them on
/// its PATH.
pub fn bin_dir() -> PathBuf {
    bin_path("ocm-post")
        .parent()
        .expect("binaries live in a folder")
        .to_path_buf()
}

/// A command for one of our tools, run from the repository root.
pub fn tool(name: &str) -> assert_cmd::Command {
    let path = bin_path(name);
    let mut command = assert_cmd::Command::new(path);
    command.current_dir(repo_root());
    command
}

/// Runs git in `dir` as a test user (a new repository's branch is `main`,
/// a detached HEAD is not advised on), and returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .run()
        .success()
        .stdout()
}

/// The golden cases in `dir`: the names of its files that end with
/// `suffix`, without it, sorted. At least 20 (managed-tenants-cli's golden
/// sets are larger): a reference checkout without its golden files fails
/// the test instead of passing it with nothing compared.
pub fn golden_case_names(dir: &Path, suffix: &str) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", dir.display()))
        .filter_map(|entry| entry.unwrap().file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_string))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the golden cases, found {}",
        cases.len()
    );
    cases
}

/// Copies a folder tree (the fixtures a test is about to break or change).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("create {}: {err}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|err| panic!("read {}: {err}", from.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("copy {}: {err}", entry.path().display()));
        }
    }
}

/// The examples tree (logging-addon, reference-addon) copied into
/// `DIR/managed-tenants` of a temporary folder: (the folder, the tree).
pub fn example_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("managed-tenants");
    copy_tree(&repo_root().join("examples/managed-tenants"), &tree);
    (dir, tree)
}

/// Replaces every `from` (which must be there) with `to` in the file at
/// `path`: a fixture copy edited for one case.
pub fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replace(from, to))
        .unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
}

/// Writes `text` to `path` as an executable file (a script, a plugin).
pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
}

/// A listener on a free loopback port, and its `http://127.0.0.1:PORT` URL.
pub fn loopback_listener() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    (listener, url)
}

/// Makes a named pipe at `path` (a file that would block a reader).
pub fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|err| panic!("mkfifo {}: {err}", path.display()));
    assert!(made.success(), "mkfifo {}", path.display());
}

/// The names of the entries of folder `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One finished run of a tool. Every assertion names the command and shows
/// its stderr when it fails, so a test reads as what it expects:
/// `tool("x").args(..).run().success().json()`.
pub struct Run {
    pub output: std::process::Output,
    command: String,
}

/// Runs an `assert_cmd::Command` into a [`Run`].
pub trait RunExt {
    /// Runs the command to the end.
    fn run(&mut self) -> Run;
    /// Runs the command, expects exit 0, and parses stdout as JSON.
    fn run_json(&mut self) -> serde_json::Value {
        self.run().success().json()
    }
}

impl RunExt for assert_cmd::Command {
    fn run(&mut self) -> Run {
        ran(format!("{self:?}"), self.output())
    }
}

/// The programs the tests drive besides ours (skopeo, docker-registry,
/// the binaries of the test servers) read the same way.
impl RunExt for std::process::Command {
    fn run(&mut self) -> Run {
        ran(format!("{self:?}"), self.output())
    }
}

/// The [`Run`] of `command` once it finished; a command that could not
/// start at all fails the test.
fn ran(command: String, output: std::io::Result<std::process::Output>) -> Run {
    let output = output.unwrap_or_else(|err| panic!("cannot run {command}: {err}"));
    Run { output, command }
}

impl Run {
    /// A run the test drove itself (spawned, then waited for), read the same
    /// way; `command` names it in failures.
    pub fn of(command: &str, output: std::process::Output) -> Run {
        Run {
            output,
            command: command.to_string(),
        }
    }

    /// The exit code (-1 when killed by a signal).
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Expects exit 0.
    pub fn success(self) -> Self {
        self.exit(0)
    }

    /// Expects exit `code`; a failure shows stderr, and stdout too when there
    /// is any (make prints its recipe lines there).
    pub fn exit(self, code: i32) -> Self {
        if self.code() != code {
            let stdout = match self.stdout() {
                text if text.is_empty() => String::new(),
                text => format!("\nstdout:\n{text}"),
            };
            panic!(
                "{} exited {} (expected {code}); stderr:\n{}{stdout}",
                self.command,
                self.code(),
                self.stderr()
            );
        }
        self
    }

    /// Expects `text` somewhere in stdout.
    pub fn stdout_has(self, text: &str) -> Self {
        self.expect_text("stdout", text, true)
    }

    /// Expects `text` somewhere in stderr.
    pub fn stderr_has(self, text: &str) -> Self {
        self.expect_text("stderr", text, true)
    }

    /// Expects `text` nowhere in stdout (a secret, a tool that must not run).
    pub fn stdout_lacks(self, text: &str) -> Self {
        self.expect_text("stdout", text, false)
    }

    /// Expects `text` nowhere in stderr (a secret, an escape code, a retry).
    pub fn stderr_lacks(self, text: &str) -> Self {
        self.expect_text("stderr", text, false)
    }

    /// The four checks above: `text` in (or not in) one stream; a failure
    /// shows that stream, and stderr too when stdout was searched.
    fn expect_text(self, stream: &str, text: &str, wanted: bool) -> Self {
        let searched = if stream == "stdout" {
            self.stdout()
        } else {
            self.stderr()
        };
        if searched.contains(text) != wanted {
            let verb = if wanted { "lacks" } else { "has" };
            let stderr = if stream == "stdout" {
                format!("\nstderr:\n{}", self.stderr())
            } else {
                String::new()
            };
            panic!(
                "{}: {stream} {verb} {text:?}:\n{searched}{stderr}",
                self.command
            );
        }
        self
    }

    /// Expects stdout to be empty (nothing half-written).
    pub fn no_stdout(self) -> Self {
        let text = self.stdout();
        self.empty("stdout", &text)
    }

    /// Expects stderr to be empty (no warning, no progress, `--quiet`).
    pub fn no_stderr(self) -> Self {
        let text = self.stderr();
        self.empty("stderr", &text)
    }

    fn empty(self, stream: &str, text: &str) -> Self {
        assert!(
            text.is_empty(),
            "{}: expected no {stream}, got:\n{text}",
            self.command
        );
        self
    }

    /// Stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|err| {
            panic!(
                "{}: stdout is not JSON ({err}):\n{}\nstderr:\n{}",
                self.command,
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// Stdout as JSON lines: one value a non-empty line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|err| {
                    panic!(
                        "{}: a stdout line is not JSON ({err}): {line}",
                        self.command
                    )
                })
            })
            .collect()
    }

    /// Stdout as a stream of JSON values, as jq reads one: JSON lines, or
    /// pretty-printed values one after another (`ocm-post -o json --diff`).
    pub fn json_values(&self) -> Vec<serde_json::Value> {
        serde_json::Deserializer::from_slice(&self.output.stdout)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|err| {
                panic!(
                    "{}: stdout is not a stream of JSON values ({err}):\n{}",
                    self.command,
                    self.stdout()
                )
            })
    }

    /// Stdout as YAML (one document).
    pub fn yaml(&self) -> serde_yaml::Value {
        serde_yaml::from_slice(&self.output.stdout).unwrap_or_else(|err| {
            panic!(
                "{}: stdout is not YAML ({err}):\n{}\nstderr:\n{}",
                self.command,
                self.stdout(),
                self.stderr()
            )
        })
    }
}

/// The add-on whose bundles are `tests/fixtures/catalog/good` (package
/// `demo-operator`, default channel `stable`): the minimal add-on named
/// `demo`, pointed at that operator.
pub fn demo_addon() -> serde_json::Value {
    common::testing::with_fields(
        common::testing::minimal_addon_named("demo"),
        serde_json::json!({"operatorName": "demo-operator", "defaultChannel": "stable"}),
    )
}

/// A loopback server that accepts connections and never answers (a hung API
/// server or proxy). Its URL is `http://127.0.0.1:PORT`; the connections stay
/// open until the test process ends.
pub fn silent_server() -> String {
    let (listener, url) = loopback_listener();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// A copy of `examples/managed-tenants/addons/reference-addon` (metadata,
/// image sets, everything) that a test may change or break, with a scratch
/// folder beside it for what the tools write.
pub struct ReferenceAddon {
    root: tempfile::TempDir,
    /// `.../addons/reference-addon`.
    pub addon_dir: PathBuf,
}

impl Default for ReferenceAddon {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceAddon {
    pub fn new() -> ReferenceAddon {
        let root = tempfile::tempdir().expect("a temporary folder");
        let addon_dir = root.path().join("addons/reference-addon");
        copy_tree(
            &repo_root().join("examples/managed-tenants/addons/reference-addon"),
            &addon_dir,
        );
        ReferenceAddon { root, addon_dir }
    }

    /// The stage `addon.yaml`.
    pub fn addon_yaml(&self) -> PathBuf {
        self.addon_dir.join("metadata/stage/addon.yaml")
    }

    /// A folder outside the add-on tree, made on first use.
    pub fn scratch(&self) -> PathBuf {
        let scratch = self.root.path().join("scratch");
        std::fs::create_dir_all(&scratch).expect("create the scratch folder");
        scratch
    }

    /// Replaces `from` (which must be there) with `to` in `file`, a path
    /// inside the add-on folder.
    pub fn edit(&self, file: &str, from: &str, to: &str) -> &Self {
        let path = self.addon_dir.join(file);
        let text = read(&path);
        assert!(text.contains(from), "{file} has no {from:?}");
        write(&path, &text.replacen(from, to, 1));
        self
    }

    /// Appends `lines` to `file`, a path inside the add-on folder.
    pub fn append(&self, file: &str, lines: &str) -> &Self {
        let path = self.addon_dir.join(file);
        write(&path, &(read(&path) + lines));
        self
    }

    /// Writes `file`, a path inside the add-on folder.
    pub fn write(&self, file: &str, text: &str) -> &Self {
        write(&self.addon_dir.join(file), text);
        self
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
}

/// The environment variables through which the OCM tools find credentials
/// and endpoints; a test clears them so only what it gives is used.
pub const OCM_CREDENTIAL_VARS: [&str; 8] = [
    "OCM_TOKEN",
    "OCM_REFRESH_TOKEN",
    "OCM_OFFLINE_TOKEN",
    "OCM_CLIENT_ID",
    "OCM_CLIENT_SECRET",
    "OCM_CONFIG",
    "OCM_URL",
    "OCM_TOKEN_URL",
];

/// Writes `dir/kubeconfig` for the test Kubernetes API `server`, with a
/// bearer `token`, and returns its path.
pub fn write_kubeconfig(
    dir: &Path,
    server: &addon_flow_testservers::kube::KubeServer,
    token: &str,
) -> PathBuf {
    let path = dir.join("kubeconfig");
    write(&path, &server.kubeconfig(token));
    path
}

/// (kind, namespace, name) of every object the test Kubernetes API stores,
/// apart from Hive's own (ClusterSync, ClusterDeployment).
pub fn stored_objects(
    server: &addon_flow_testservers::kube::KubeServer,
) -> Vec<(String, String, String)> {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or("").to_string();
    server
        .api()
        .objects()
        .iter()
        .filter(|o| {
            !matches!(
                o["kind"].as_str(),
                Some("ClusterSync" | "ClusterDeployment")
            )
        })
        .map(|o| {
            (
                text(&o["kind"]),
                text(&o["metadata"]["namespace"]),
                text(&o["metadata"]["name"]),
            )
        })
        .collect()
}

/// The tools: the folders of `tools/`, sorted. That folder is the one list of
/// them: the Makefile's `TOOLS` and the man pages' SEE ALSO are read from it
/// too.
pub fn tools() -> Vec<String> {
    let dir = repo_root().join("tools");
    let mut tools: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry"))
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    tools.sort();
    assert!(!tools.is_empty(), "{} holds no tool", dir.display());
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_prerequisite_runs_the_test() {
        assert_eq!(judge_prerequisite("t", "x", true, true, None), Ok(true));
    }

    #[test]
    fn the_tools_build_without_the_tests_own_cargo_variables_only() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "OUT_DIR",
            "CARGO_BIN_EXE_x",
        ] {
            assert!(is_set_by_cargo_for_this_test(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "PATH",
        ] {
            assert!(!is_set_by_cargo_for_this_test(name), "{name}");
        }
    }

    #[test]
    fn a_missing_prerequisite_fails_when_ci_requires_everything() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips");
        let verdict = judge_prerequisite("t", "skopeo", false, true, Some(&log));
        assert!(verdict
            .unwrap_err()
            .contains("t needs skopeo, which is missing"));
        assert!(!log.exists(), "a failure is not a skip");
    }

    #[test]
    fn a_missing_prerequisite_elsewhere_is_a_logged_skip() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips");
        assert_eq!(
            judge_prerequisite("a", "skopeo", false, false, Some(&log)),
            Ok(false)
        );
        assert_eq!(
            judge_prerequisite("b", "umoci", false, false, Some(&log)),
            Ok(false)
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(logged, "a\tskopeo\nb\tumoci\n");
    }
}
