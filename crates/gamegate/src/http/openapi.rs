//! The OpenAPI 3.1 document of the public listener, served at
//! `/openapi.json` and committed as docs/openapi.json (a test compares).
//!
//! The operations are the handlers' own `#[utoipa::path]` attributes
//! (http/public.rs, http/stats/public.rs) and the answers' schemas are the
//! types the handlers serialise (`ToSchema` beside `Serialize`), so the
//! document is generated from what the service runs. Each public route set
//! is built by one `utoipa_axum` `OpenApiRouter`, which gives both its router
//! and its part of this document: a documented path is the routed path. A
//! test requests every documented path on a running app, so a route set
//! cannot be documented without being mounted, and schemathesis
//! (bench/schemathesis.sh) checks every answer against this document.
//!
//! The two schemas still written here have no serialised Rust type of that
//! shape to derive from: the register request (read as a raw JSON object and
//! validated field by field by the domain, for exact error codes, with the
//! domain's default rules as constraints, API.md §3) and the error answer
//! (its serialised type is private to http/error.rs).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use gamegate_domain::ErrorCode;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `POST /api/register` body. Unknown fields are refused (422).
#[allow(dead_code)] // a schema only: never built (see the module's doc)
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterBody {
    /// 3–16 characters of the login charset (default `[A-Za-z0-9_]`),
    /// counted after Unicode NFC normalisation; unique case-insensitively
    /// (NFC before case folding). Stored and sent to the game server in NFC.
    #[schema(
        min_length = 3,
        max_length = 16,
        pattern = "^[A-Za-z0-9_]+$",
        example = "Hero_01"
    )]
    login: String,
    /// 6–20 characters, no control characters (Unicode Cc).
    #[schema(
        min_length = 6,
        max_length = 20,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
        example = "secret12"
    )]
    password: String,
    /// 0 or 1. An integer by its exact decimal value, as JSON Schema counts
    /// them: `1`, `1.0`, `1e0`, `100E-2` are 1; `1.0000000000000001` is not
    /// an integer (`type`); other integers are `out_of_range`.
    #[schema(minimum = 0, maximum = 1, example = 0)]
    gender: u8,
    /// The player's Telegram user id: 1 … 2^63 − 1. An integer by its exact
    /// decimal value (`7000000001.0` is 7000000001, `7000000001.0000001` is
    /// not an integer: `type`); an integer outside the range however written
    /// (`0`, `-0`, `9223372036854775808`, `1E400`) is `out_of_range`.
    #[schema(minimum = 1, example = 123_456_789)]
    telegram_id: i64,
    /// Telegram Login Widget object or `{"init_data": "…"}` (docs/TELEGRAM.md).
    #[schema(value_type = Option<Object>)]
    telegram_auth: Option<serde_json::Value>,
}

/// Every non-2xx answer (API.md §2).
#[allow(dead_code)] // a schema only: never built (see the module's doc)
#[derive(ToSchema)]
pub(super) struct ErrorBody {
    #[schema(example = false)]
    ok: bool,
    /// A stable code; the site chooses what to show by it (docs/API.md).
    #[schema(example = "validation_error")]
    detail: String,
    /// Ready to show to the player, in the configured language.
    message: String,
    /// Only with `validation_error`: one entry per failing field, at most 20.
    errors: Option<Vec<FieldErrorEntry>>,
    /// Only when more than 20 fields fail: how many `errors` leaves out.
    #[schema(minimum = 1)]
    errors_omitted: Option<u64>,
}

#[allow(dead_code)] // a schema only: never built (see the module's doc)
#[derive(ToSchema)]
pub(super) struct FieldErrorEntry {
    #[schema(example = "login")]
    field: String,
    #[schema(example = "too_short")]
    code: String,
    message: String,
}

/// The document's frame: its title, tags and the schemas written in this
/// file. The operations and the answers' schemas come from the route sets'
/// own builders ([`document`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gamegate public API",
        description = "Registration and server status for the game's website (docs/API.md); player statistics, the leaderboard and win prediction (docs/ANALYTICS.md)."
    ),
    components(schemas(RegisterBody, ErrorBody, FieldErrorEntry)),
    tags((name = "registration"), (name = "status"), (name = "statistics"))
)]
struct PublicApi;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
            );
        }
    }
}

/// `detail` is an enum of exactly the domain's codes, so the document can
/// never list a code the service does not have.
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, Schema, Type};
        use utoipa::openapi::{RefOr, schema::ObjectBuilder};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody") else {
            return;
        };
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let detail: Object = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("A stable code; the site chooses what to show by it."))
            .build();
        body.properties
            .insert("detail".into(), RefOr::T(Schema::Object(detail)));
    }
}

/// The document as served and committed: the frame, then the operations of
/// the public listener's route sets as their routers are built (http/public.rs,
/// http/stats/mod.rs), then the API key scheme and the error codes.
pub fn document() -> String {
    let mut doc = PublicApi::openapi();
    doc.merge(super::public::openapi());
    doc.merge(super::stats::public_openapi());
    // After the merge: a merge keeps the first schema of a name, and
    // `ErrorCodes` rewrites the one that stays.
    ApiKeyScheme.modify(&mut doc);
    ErrorCodes.modify(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.to_pretty_json().expect("the document serialises") + "\n"
}

/// `GET /openapi.json` on the public listener.
pub fn routes() -> Router {
    let body = document();
    Router::new().route(
        "/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
        }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = include_str!("../../../../docs/openapi.json");
        assert!(
            committed == super::document(),
            "docs/openapi.json is stale: run `gamegate docs openapi > docs/openapi.json`"
        );
    }

    /// The login patterns of the document are the domain's login rule under
    /// the default rules (the document describes the defaults).
    #[test]
    fn login_patterns_are_the_domain_rule() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let rules = gamegate_domain::RegistrationRules::default();
        let charset = rules.login_charset();
        let (min, max) = (rules.login_min_chars, rules.login_max_chars);
        let login = &doc["components"]["schemas"]["RegisterBody"]["properties"]["login"];
        assert_eq!(login["pattern"], format!("^[{charset}]+$"));
        assert_eq!(
            (login["minLength"].as_u64(), login["maxLength"].as_u64()),
            (Some(min as u64), Some(max as u64))
        );
        let param = &doc["paths"]["/stats/players/{login}"]["get"]["parameters"][0];
        assert_eq!(
            param["schema"]["pattern"],
            format!("^[{charset}]{{{min},{max}}}$")
        );
        for param in doc["paths"]["/ml/predict"]["get"]["parameters"]
            .as_array()
            .unwrap()
        {
            let one = format!("[{charset}]{{{min},{max}}}");
            assert_eq!(
                param["schema"]["pattern"],
                format!("^{one}(,{one}){{0,31}}$")
            );
        }
    }
}
