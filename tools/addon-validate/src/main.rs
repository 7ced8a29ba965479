/// `--all` parses tens of MB of YAML into small values on every core, and
/// glibc's malloc took a sixth of its CPU: mimalloc's per-thread pages take
/// 19% of it off (issue 24; docs/benchmarks.md). It is built without
/// transparent huge pages (.cargo/config.toml), which would double the peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    addon_validate::uumain(std::env::args_os())
}
