//! `GET /api/server/status`, health and metrics.

use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, player, spawn_app};

crate::on_every_backend!(status_matches_the_constants_table_and_follows_changes);

async fn status_matches_the_constants_table_and_follows_changes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = app.get_json(app.url("/api/server/status")).await;
    assert_eq!(status, 200);
    assert_eq!(body["server_status"], json!(1.0));
    assert_eq!(body["client_status"], json!(256.0));
    assert_eq!(body["rates"], json!({"exp": 1.0, "pvp": 1.0, "pve": 1.0}));

    app.db.constants().set("rate_exp", 2.5).await.unwrap();
    app.db.constants().set("rate_drop", 3.0).await.unwrap();
    app.db.constants().set("server_status", 0.0).await.unwrap();
    app.eventually(
        "the status shows changed constants",
        Duration::from_secs(5),
        || async {
            let (_, body) = app.get_json(app.url("/api/server/status")).await;
            body["rates"]["exp"] == json!(2.5)
                && body["rates"]["drop"] == json!(3.0)
                && body["server_status"] == json!(0.0)
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn status_is_served_from_memory_when_the_database_is_gone() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    app.db.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await; // several refresh intervals
    let (status, body) = app.get_json(app.url("/api/server/status")).await;
    assert_eq!(status, 200);
    assert_eq!(body["client_status"], json!(256.0));
    let (status, health) = app.get_json(app.admin_url("/internal/health")).await;
    assert_eq!(status, 503);
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["databases"]["accounts"]["ok"], false);
    assert_eq!(health["databases"]["analytics"]["ok"], true);
    // Readiness names what is down; liveness does not care.
    let (status, ready) = app.get_json(app.admin_url("/internal/health/ready")).await;
    assert_eq!(status, 503);
    assert_eq!(ready["down"], json!(["accounts"]), "{ready}");
    let (status, _) = app.get_json(app.admin_url("/internal/health/live")).await;
    assert_eq!(status, 200);
    let (status, body) = app.register(player("Nodb", 1)).await;
    crate::support::assert_error(status, &body, 503, "database_unavailable");
    app.shutdown.cancel();
}

#[tokio::test]
async fn health_and_metrics_report_what_happened() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (status, body) = app.get_json(app.url("/health")).await;
    assert_eq!((status.as_u16(), body), (200, json!({"status": "ok"})));
    let (status, health) = app.get_json(app.admin_url("/internal/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "all");
    assert_eq!(health["databases"]["accounts"]["backend"], "sqlite");
    assert_eq!(health["databases"]["analytics"]["ok"], true);
    assert_eq!(health["game_server"]["ok"], true);

    assert_eq!(app.register(player("Metric", 1)).await.0, 200);
    assert_eq!(app.register(player("Metric", 2)).await.0, 409);
    let text = app.metrics_text().await;
    for line in [
        r#"gamegate_registrations_total{outcome="ok"} 1"#,
        r#"gamegate_registrations_total{outcome="login_taken"} 1"#,
        r#"gamegate_http_requests_total{route="/api/register",method="POST",status="200"} 1"#,
        r#"gamegate_http_requests_total{route="/api/register",method="POST",status="409"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains(
        "gamegate_game_server_call_duration_seconds_count{cmd=\"register\",result=\"ok\"} 1"
    ));
    // The public listener does not expose metrics.
    assert_eq!(
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
