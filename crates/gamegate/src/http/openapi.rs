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
//! The schemas with no serialised Rust type of their shape (the register
//! request, the error answer) are built here with utoipa's schema builders
//! (`WrittenSchemas`), from the domain's constants where it has them —
//! no shadow structs.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use gamegate_domain::{ErrorCode, MAX_FIELD_ERRORS, RegistrationRules};
use serde_json::json;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

/// The schemas that have no Rust type of their shape to derive from, built
/// here: the register request (read as a raw JSON object and validated field
/// by field by the domain, for exact error codes; its constraints are the
/// domain's default rules, API.md §3) and the error answer (serialised by
/// the domain's [`gamegate_domain::ErrorBody`] from borrowed parts).
struct WrittenSchemas;

impl Modify for WrittenSchemas {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in [
            ("RegisterBody", register_body()),
            ("PasswordChangeBody", password_change_body()),
            ("ErrorBody", error_body()),
            ("FieldErrorEntry", field_error_entry()),
        ] {
            components.schemas.insert(name.into(), RefOr::T(schema));
        }
    }
}

/// The register request's schema, for `#[utoipa::path]` (`request_body`):
/// a name and `register_body`, no fields of its own.
pub struct RegisterBody;

/// The password change's schema (`password_change_body`).
pub struct PasswordChangeBody;

/// The error answer's schema, for `#[utoipa::path]` (`body = ErrorBody`):
/// a name and `error_body`; the bytes come from [`gamegate_domain::ErrorBody`].
pub struct ErrorBody;

/// One entry of an error answer's `errors` (`field_error_entry`).
pub struct FieldErrorEntry;

macro_rules! written_schema {
    ($name:ident, $build:ident) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T($build())
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}
written_schema!(RegisterBody, register_body);
written_schema!(ErrorBody, error_body);
written_schema!(PasswordChangeBody, password_change_body);
written_schema!(FieldErrorEntry, field_error_entry);

fn typed(kind: Type, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(kind)
        .description(Some(description))
}

/// `POST /api/register` body.
// `example` (one value) rather than `examples`: the committed document
// keeps the form schemathesis and sites already read.
#[allow(deprecated)]
fn register_body() -> Schema {
    let integer = |format: KnownFormat| Some(SchemaFormat::KnownFormat(format));
    ObjectBuilder::new()
        .description(Some(
            "`POST /api/register` body. Unknown fields are refused (422).",
        ))
        .property(
            "login",
            typed(
                Type::String,
                "3–16 characters of the login charset (default `[A-Za-z0-9_]`),\n\
                 counted after Unicode NFC normalisation; unique case-insensitively\n\
                 (NFC before case folding). Stored and sent to the game server in NFC.",
            )
            .example(Some(json!("Hero_01")))
            .max_length(Some(16))
            .min_length(Some(3))
            .pattern(Some(format!(
                "^[{}]+$",
                RegistrationRules::DEFAULT_LOGIN_CHARSET
            ))),
        )
        .required("login")
        .property(
            "password",
            typed(
                Type::String,
                "6–20 characters, no control characters (Unicode Cc).",
            )
            .example(Some(json!("secret12")))
            .max_length(Some(20))
            .min_length(Some(6))
            .pattern(Some("^[^\\u0000-\\u001F\\u007F-\\u009F]*$")),
        )
        .required("password")
        .property(
            "gender",
            typed(
                Type::Integer,
                "0 or 1. An integer by its exact decimal value, as JSON Schema counts\n\
                 them: `1`, `1.0`, `1e0`, `100E-2` are 1; `1.0000000000000001` is not\n\
                 an integer (`type`); other integers are `out_of_range`.",
            )
            .format(integer(KnownFormat::Int32))
            .example(Some(json!(0)))
            .maximum(Some(1))
            .minimum(Some(0)),
        )
        .required("gender")
        .property(
            "telegram_id",
            typed(
                Type::Integer,
                "The player's Telegram user id: 1 … 2^63 − 1. An integer by its exact\n\
                 decimal value (`7000000001.0` is 7000000001, `7000000001.0000001` is\n\
                 not an integer: `type`); an integer outside the range however written\n\
                 (`0`, `-0`, `9223372036854775808`, `1E400`) is `out_of_range`.",
            )
            .format(integer(KnownFormat::Int64))
            .example(Some(json!(123_456_789)))
            .minimum(Some(1)),
        )
        .required("telegram_id")
        .property(
            "telegram_auth",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                .description(Some(
                    "Telegram Login Widget object or `{\"init_data\": \"…\"}` (docs/TELEGRAM.md).",
                )),
        )
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// `POST /api/accounts/{login}/password` body.
// `example` (one value) rather than `examples`, as the register body.
#[allow(deprecated)]
fn password_change_body() -> Schema {
    ObjectBuilder::new()
        .description(Some(
            "`POST /api/accounts/{login}/password` body. Unknown fields are refused (422).",
        ))
        .property(
            "old_password",
            typed(
                Type::String,
                "The account's current password; a wrong one is 403 `wrong_password`, an empty one 422.",
            )
            .example(Some(json!("secret12")))
            .min_length(Some(1))
            .max_length(Some(gamegate_domain::MAX_OLD_PASSWORD_CHARS)),
        )
        .required("old_password")
        .property(
            "new_password",
            typed(
                Type::String,
                "The new password, under a registration's password rules: 6–20\n\
                 characters, no control characters (Unicode Cc), the game's charset.",
            )
            .example(Some(json!("n3w-secret")))
            .max_length(Some(20))
            .min_length(Some(6))
            .pattern(Some("^[^\\u0000-\\u001F\\u007F-\\u009F]*$")),
        )
        .required("new_password")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// Every non-2xx answer; `detail` becomes the enum of the domain's codes
/// ([`ErrorCodes`]).
// `example` (one value) rather than `examples`: the committed document
// keeps the form schemathesis and sites already read.
#[allow(deprecated)]
fn error_body() -> Schema {
    ObjectBuilder::new()
        .description(Some("Every non-2xx answer (docs/API.md, Error body)."))
        .property(
            "ok",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .example(Some(json!(false))),
        )
        .required("ok")
        .property(
            "detail",
            typed(
                Type::String,
                "A stable code; the site chooses what to show by it (docs/API.md).",
            )
            .example(Some(json!("validation_error"))),
        )
        .required("detail")
        .property(
            "message",
            typed(
                Type::String,
                "Ready to show to the player, in the configured language.",
            ),
        )
        .required("message")
        .property(
            "errors",
            ArrayBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
                .items(Ref::from_schema_name("FieldErrorEntry"))
                .description(Some(format!(
                    "Only with `validation_error`: one entry per failing field, at most {MAX_FIELD_ERRORS}."
                ))),
        )
        .property(
            "errors_omitted",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .description(Some(format!(
                    "Only when more than {MAX_FIELD_ERRORS} fields fail: how many `errors` leaves out."
                )))
                .minimum(Some(1)),
        )
        .into()
}

/// One entry of `errors`.
// `example` (one value) rather than `examples`: the committed document
// keeps the form schemathesis and sites already read.
#[allow(deprecated)]
fn field_error_entry() -> Schema {
    let text = |example: Option<&str>| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .example(example.map(|e| json!(e)))
    };
    ObjectBuilder::new()
        .property("field", text(Some("login")))
        .required("field")
        .property("code", text(Some("too_short")))
        .required("code")
        .property("message", text(None))
        .required("message")
        .into()
}

/// The document's frame: its title and tags (the schemas written in this
/// file are added by [`WrittenSchemas`]). The operations and the answers' schemas come from the route sets'
/// own builders ([`document`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gamegate public API",
        description = "Registration, account deletion and password changes, and server status for the game's website (docs/API.md); player statistics, the leaderboard and win prediction (docs/ANALYTICS.md)."
    ),
    tags((name = "registration"), (name = "accounts"), (name = "status"), (name = "statistics"))
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
    WrittenSchemas.modify(&mut doc);
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
