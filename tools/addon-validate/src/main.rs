fn main() -> std::process::ExitCode {
    addon_validate::uumain(std::env::args_os())
}
