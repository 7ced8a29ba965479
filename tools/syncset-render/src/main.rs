fn main() -> std::process::ExitCode {
    syncset_render::uumain(std::env::args_os())
}
