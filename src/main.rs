//! `digitd`: see `digitd --help` and the `app` module.

fn main() -> std::process::ExitCode {
    digitd::app::main()
}
