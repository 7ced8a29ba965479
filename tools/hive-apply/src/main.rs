fn main() -> std::process::ExitCode {
    hive_apply::uumain(std::env::args_os())
}
