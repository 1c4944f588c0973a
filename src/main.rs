fn main() -> std::process::ExitCode {
    difyctl::run()
}
