//! The `rustomize` binary: parses arguments and calls the library. No logic of its own.

mod cli;

fn main() -> std::process::ExitCode {
    // Die of SIGPIPE when stdout is closed (`rustomize build | head`), as kubectl does,
    // instead of reporting a write error.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::run()
}
