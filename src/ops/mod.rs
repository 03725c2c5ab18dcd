//! Operations: what connects the daemon to its supervisor and its operators: signals, systemd
//! notify and watchdog, metrics and the HTTP endpoint.

pub mod http;
pub mod metrics;
pub mod notify;
pub mod signals;

/// The daemon's hooks to the outside, shared by every task.
#[derive(Debug, Default)]
pub struct Ops {
    pub metrics: metrics::Metrics,
    pub notify: notify::Notifier,
}
