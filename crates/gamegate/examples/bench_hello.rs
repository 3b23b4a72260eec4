//! The benchmark ceiling: a bare axum handler returning the status JSON, no
//! middleware, no cache, nothing else. `bench/run.sh` measures it in the
//! same run as gamegate so the ratio is meaningful.

use axum::Router;
use axum::http::header;
use axum::routing::get;

const BODY: &str = r#"{"server_status":1.0,"rates":{"exp":1.0,"pve":1.0,"pvp":1.0},"client_status":256.0,"updated_at":0}"#;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".into());
    let app = Router::new().route(
        "/api/server/status",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("hello ceiling on http://{addr}/api/server/status");
    axum::serve(listener, app).await.expect("serve");
}
