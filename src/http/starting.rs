//! What the port answers while the server starts. The port is bound before
//! the database is migrated and the classifier trained (seconds, more with
//! a large imported history), so that a port already in use is reported at
//! once, and an orchestrator's liveness probe (`/health`) is answered from
//! the first moment instead of killing a process that is only busy
//! starting. Until the application is ready, `/ready` and everything else
//! say 503 with `Retry-After`; from then on every request goes to it.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceExt;

/// Seconds a client is asked to wait before it tries again.
const RETRY_AFTER_SECS: &str = "2";

/// The router served on the port from the start: it answers for the
/// application once `ready` has handed it over.
#[derive(Clone, Default)]
pub struct FrontDoor(Arc<OnceLock<Router>>);

impl FrontDoor {
    pub fn router(&self) -> Router {
        let app = self.0.clone();
        Router::new().fallback_service(tower::service_fn(move |request: Request| {
            let app = app.get().cloned();
            async move {
                match app {
                    Some(app) => app.oneshot(request).await,
                    None => Ok::<_, Infallible>(starting(request.uri().path())),
                }
            }
        }))
    }

    /// Hands every request from now on to `app`.
    pub fn open(&self, app: Router) {
        // Only `serve` opens, once; a second router would be a bug there,
        // and the first one keeps serving.
        if self.0.set(app).is_err() {
            tracing::warn!("the application was handed to the front door twice");
        }
    }
}

fn starting(path: &str) -> Response {
    if path == "/health" {
        return axum::Json(json!({ "status": "starting" })).into_response();
    }
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({
            "status": "starting",
            "message": "En väg in startar: försök igen om en stund. \
                        En väg in is starting: please try again in a moment.",
        })),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}
