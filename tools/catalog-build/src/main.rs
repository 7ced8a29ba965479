fn main() -> std::process::ExitCode {
    catalog_build::uumain(std::env::args_os())
}
