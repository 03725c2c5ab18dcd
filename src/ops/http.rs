//! The optional HTTP endpoint (`[http] listen`): `GET /healthz` and `GET /metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::Ops;
use crate::db::Store;

/// The scheduler loop turns at least this often; a heartbeat older than this means it is stuck.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct AppState {
    store: Store,
    ops: Arc<Ops>,
}

/// Binds `addr` (an error here is the caller's to report) and serves until `cancel`.
pub async fn bind(
    addr: SocketAddr,
    store: Store,
    ops: Arc<Ops>,
    cancel: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState { store, ops });
    tracing::info!(listen = %local, "HTTP endpoint listening (/healthz, /metrics)");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned()).await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP endpoint failed");
        }
    }))
}

async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    let db = match tokio::time::timeout(Duration::from_secs(5), s.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("database ping timed out".to_string()),
    };
    let age = s.ops.metrics.heartbeat_age();
    let scheduler_ok = age.is_some_and(|a| a <= HEARTBEAT_STALE);
    let healthy = db.is_ok() && scheduler_ok;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.clone() },
        "scheduler": if scheduler_ok { "ok" } else if age.is_none() { "not started" } else { "stalled" },
        "scheduler_heartbeat_age_seconds": age.map(|a| a.as_secs()),
    });
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string())
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        s.ops.metrics.render(),
    )
}
