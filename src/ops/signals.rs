//! Process signals. SIGTERM (systemd's stop) and SIGINT (Ctrl-C) both mean "shut down cleanly".

/// Resolves at the first SIGTERM or SIGINT. If a handler cannot be installed (no signal support
/// in this environment), that signal is simply never awaited and the error is logged.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot install the SIGTERM handler");
            None
        }
    };
    let term = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = term => tracing::info!(signal = "SIGTERM", "shutdown requested"),
        r = tokio::signal::ctrl_c() => match r {
            Ok(()) => tracing::info!(signal = "SIGINT", "shutdown requested"),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
        },
    }
}
