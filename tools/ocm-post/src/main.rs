fn main() -> std::process::ExitCode {
    ocm_post::uumain(std::env::args_os())
}
