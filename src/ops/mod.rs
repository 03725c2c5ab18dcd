//! Operations: what connects the daemon to its supervisor (signals; systemd notify, the metrics
//! endpoint and config reload join here).

pub mod signals;
