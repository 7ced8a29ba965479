fn main() -> std::process::ExitCode {
    csv_wait::uumain(std::env::args_os())
}
