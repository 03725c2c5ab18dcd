//! systemd's notify protocol (`sd_notify`): READY, RELOADING, STOPPING, STATUS and WATCHDOG
//! messages on the datagram socket named by `$NOTIFY_SOCKET`. Without that variable (not under
//! systemd) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

/// The connection to the supervisor (systemd), if there is one.
#[derive(Debug, Default)]
pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` once.
    pub fn from_env() -> Notifier {
        Notifier { enabled: std::env::var_os("NOTIFY_SOCKET").is_some_and(|v| !v.is_empty()) }
    }

    /// A notifier that never sends (for `run --once` and tests).
    pub fn disabled() -> Notifier {
        Notifier { enabled: false }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }

    /// The database is open and migrated; the daemon serves.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload starts (`Type=notify-reload` needs the monotonic time with it); `ready` ends it.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now, NotifyState::Status("reloading the config")]),
            Err(_) => self.send(&[NotifyState::Reloading, NotifyState::Status("reloading the config")]),
        }
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping: finishing in-flight feeds")]);
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// The keep-alive ping; send it only when the daemon is known to work.
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// How often to ping the watchdog (half its timeout), when systemd set one for this process.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        sd_notify::watchdog_enabled().map(|d| d / 2).filter(|d| !d.is_zero())
    }
}
