//! Telegram rules with no I/O: who counts as a member of the group
//! (from a `getChatMember` answer) and the proof that a `telegram_id` belongs
//! to the person registering (`telegram_auth`), verified per Telegram's
//! published algorithms:
//!
//! * Login Widget (<https://core.telegram.org/widgets/login#checking-authorization>):
//!   `telegram_auth` is the widget's user object; data-check-string = every
//!   field but `hash`, sorted, `key=value` joined by `\n`; key = SHA-256(bot
//!   token); `hash` = hex(HMAC-SHA-256(key, data-check-string)).
//! * Mini App (<https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app>):
//!   `telegram_auth` is `{"init_data": "<Telegram.WebApp.initData>"}`; the
//!   query string's fields but `hash`, URL-decoded, sorted and joined the same
//!   way; key = HMAC-SHA-256(key "WebAppData", bot token).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Limits on an untrusted payload, far above what Telegram sends.
const MAX_FIELDS: usize = 32;
const MAX_VALUE_BYTES: usize = 4096;
/// Clock skew tolerated for an `auth_date` slightly in the future.
const FUTURE_SKEW_SECS: i64 = 60;

/// Whether a `getChatMember` status means "in the group": `creator`,
/// `administrator`, `member`, or `restricted` with `is_member: true`.
/// `left`, `kicked` and anything unknown are not.
pub fn is_group_member(status: &str, is_member: Option<bool>) -> bool {
    match status {
        "creator" | "administrator" | "member" => true,
        "restricted" => is_member == Some(true),
        _ => false,
    }
}

/// A `telegram_auth` that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramIdentity {
    /// The Telegram user id the payload was signed for.
    pub id: i64,
    /// Without the `@`; stored in `telegram_players.username`.
    pub username: Option<String>,
}

/// Why a `telegram_auth` was refused (all map to 403 `telegram_auth_invalid`;
/// the reason is for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRejection {
    /// Not an object of string/number fields, too large, or without `hash`,
    /// `auth_date` or `id`.
    Malformed,
    /// The signature does not match: forged, altered, or another bot's.
    BadSignature,
    /// `auth_date` older than allowed (or in the future).
    Expired,
    /// Signed for another Telegram user than `telegram_id`.
    IdMismatch,
}

impl AuthRejection {
    /// The reason's log label: `malformed`, `bad_signature`, `expired` or
    /// `id_mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthRejection::Malformed => "malformed",
            AuthRejection::BadSignature => "bad_signature",
            AuthRejection::Expired => "expired",
            AuthRejection::IdMismatch => "id_mismatch",
        }
    }
}

/// Verifies `payload` (Login Widget object, or `{"init_data": "…"}` from a
/// Mini App) for the bot `bot_token`, at time `now` (Unix seconds), and that
/// it is `telegram_id`'s.
/// `max_age_secs` bounds how old `auth_date` may be. Errs with the
/// [`AuthRejection`] that applies, checked in this order: the payload's shape
/// ([`Malformed`](AuthRejection::Malformed)), the HMAC-SHA-256 signature
/// compared in constant time ([`BadSignature`](AuthRejection::BadSignature)),
/// then, reading only signed data, the age ([`Expired`](AuthRejection::Expired))
/// and the user id ([`IdMismatch`](AuthRejection::IdMismatch)).
pub fn verify_telegram_auth(
    payload: &Map<String, Value>,
    bot_token: &str,
    telegram_id: i64,
    now: i64,
    max_age_secs: i64,
) -> Result<TelegramIdentity, AuthRejection> {
    let signed = match payload.get("init_data") {
        Some(Value::String(init_data)) if payload.len() == 1 => mini_app_fields(init_data)?,
        Some(_) => return Err(AuthRejection::Malformed),
        None => widget_fields(payload)?,
    };
    let secret = match signed.kind {
        Kind::Widget => Sha256::digest(bot_token.as_bytes()).to_vec(),
        Kind::MiniApp => hmac(b"WebAppData", bot_token.as_bytes()),
    };
    let expected = hmac(&secret, signed.data_check_string.as_bytes());
    let given = hex::decode(&signed.hash).map_err(|_| AuthRejection::BadSignature)?;
    if !bool::from(expected.ct_eq(&given)) {
        return Err(AuthRejection::BadSignature);
    }
    // Only signed data is read from here on.
    if signed.auth_date > now + FUTURE_SKEW_SECS || now - signed.auth_date > max_age_secs {
        return Err(AuthRejection::Expired);
    }
    if signed.identity.id != telegram_id {
        return Err(AuthRejection::IdMismatch);
    }
    Ok(signed.identity)
}

enum Kind {
    Widget,
    MiniApp,
}

struct Signed {
    kind: Kind,
    data_check_string: String,
    hash: String,
    auth_date: i64,
    identity: TelegramIdentity,
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// `k=v` lines, sorted by key, without `hash`.
fn data_check_string(fields: &mut [(String, String)]) -> String {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn widget_fields(payload: &Map<String, Value>) -> Result<Signed, AuthRejection> {
    if payload.len() > MAX_FIELDS {
        return Err(AuthRejection::Malformed);
    }
    let mut fields = Vec::with_capacity(payload.len());
    let mut hash = None;
    for (key, value) in payload {
        let text = match value {
            Value::String(s) => s.clone(),
            // Telegram sends ids and dates as integers.
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            // An absent optional field, as some JS serialises it.
            Value::Null => continue,
            _ => return Err(AuthRejection::Malformed),
        };
        if text.len() > MAX_VALUE_BYTES || key.contains(['=', '\n']) {
            return Err(AuthRejection::Malformed);
        }
        match key.as_str() {
            "hash" => hash = Some(text),
            _ => fields.push((key.clone(), text)),
        }
    }
    let find = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let id = find("id").and_then(|v| v.parse().ok());
    let auth_date = find("auth_date").and_then(|v| v.parse().ok());
    let username = find("username");
    let (Some(hash), Some(id), Some(auth_date)) = (hash, id, auth_date) else {
        return Err(AuthRejection::Malformed);
    };
    Ok(Signed {
        kind: Kind::Widget,
        data_check_string: data_check_string(&mut fields),
        hash,
        auth_date,
        identity: TelegramIdentity { id, username },
    })
}

fn mini_app_fields(init_data: &str) -> Result<Signed, AuthRejection> {
    if init_data.len() > MAX_FIELDS * MAX_VALUE_BYTES {
        return Err(AuthRejection::Malformed);
    }
    let mut fields = Vec::new();
    let mut hash = None;
    for (key, value) in form_urlencoded::parse(init_data.as_bytes()) {
        if fields.len() >= MAX_FIELDS || value.len() > MAX_VALUE_BYTES || key.contains(['=', '\n'])
        {
            return Err(AuthRejection::Malformed);
        }
        match key.as_ref() {
            "hash" => hash = Some(value.into_owned()),
            _ => fields.push((key.into_owned(), value.into_owned())),
        }
    }
    let find = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let auth_date = find("auth_date").and_then(|v| v.parse().ok());
    // `user` is a JSON object: {"id":…, "username":…, …}.
    let user: Option<Map<String, Value>> = find("user").and_then(|u| serde_json::from_str(&u).ok());
    let id = user
        .as_ref()
        .and_then(|u| u.get("id"))
        .and_then(Value::as_i64);
    let username = user
        .as_ref()
        .and_then(|u| u.get("username"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(hash), Some(id), Some(auth_date)) = (hash, id, auth_date) else {
        return Err(AuthRejection::Malformed);
    };
    Ok(Signed {
        kind: Kind::MiniApp,
        data_check_string: data_check_string(&mut fields),
        hash,
        auth_date,
        identity: TelegramIdentity { id, username },
    })
}

/// Builds what Telegram would send, for tests (of this crate and of the
/// service): the Login Widget object for `fields`, signed for `bot_token`.
pub fn sign_login_widget(fields: &Map<String, Value>, bot_token: &str) -> Map<String, Value> {
    let signed =
        widget_fields(&with_placeholder_hash(fields)).expect("test fields are well-formed");
    let key = Sha256::digest(bot_token.as_bytes());
    let mut out = fields.clone();
    out.insert(
        "hash".into(),
        hex::encode(hmac(&key, signed.data_check_string.as_bytes())).into(),
    );
    out
}

/// Builds a Mini App `initData` string for `pairs`, signed for `bot_token`,
/// for tests.
pub fn sign_init_data(pairs: &[(&str, &str)], bot_token: &str) -> String {
    let mut fields: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let key = hmac(b"WebAppData", bot_token.as_bytes());
    let hash = hex::encode(hmac(&key, data_check_string(&mut fields).as_bytes()));
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    query.append_pair("hash", &hash);
    query.finish()
}

fn with_placeholder_hash(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut f = fields.clone();
    f.insert("hash".into(), "00".into());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "123456:TEST-token-for-unit-tests";
    const NOW: i64 = 1_795_600_000;

    fn widget(id: i64, auth_date: i64) -> Map<String, Value> {
        let fields = json!({"id": id, "first_name": "Ivan", "username": "ivan_hero",
                            "photo_url": "https://t.me/i/userpic/320/x.jpg", "auth_date": auth_date});
        sign_login_widget(fields.as_object().unwrap(), TOKEN)
    }

    #[test]
    fn membership_statuses() {
        for status in ["creator", "administrator", "member"] {
            assert!(is_group_member(status, None), "{status}");
        }
        assert!(is_group_member("restricted", Some(true)));
        assert!(!is_group_member("restricted", Some(false)));
        assert!(!is_group_member("restricted", None));
        for status in ["left", "kicked", "", "owner"] {
            assert!(!is_group_member(status, Some(true)), "{status}");
        }
    }

    #[test]
    fn a_signed_widget_payload_verifies() {
        let identity = verify_telegram_auth(&widget(42, NOW - 10), TOKEN, 42, NOW, 86_400).unwrap();
        assert_eq!(
            identity,
            TelegramIdentity {
                id: 42,
                username: Some("ivan_hero".into())
            }
        );
    }

    /// Fixed vectors computed independently (Python's hmac/hashlib), so the
    /// algorithms are checked against more than this code itself.
    #[test]
    fn known_vectors() {
        // hmac_sha256(sha256(TOKEN), "auth_date=1795600000\nfirst_name=Ivan\nid=42")
        let widget = json!({"id": 42, "first_name": "Ivan", "auth_date": 1_795_600_000,
            "hash": "15e04860cfdb347fdb714524d04f4469bdc296e0c83d966986d312d0d81099c3"});
        assert!(verify_telegram_auth(widget.as_object().unwrap(), TOKEN, 42, NOW, 60).is_ok());
        // hmac_sha256(hmac_sha256("WebAppData", TOKEN), "auth_date=1795600000\nuser={\"id\":42}")
        let mini_app = json!({"init_data": "user=%7B%22id%22%3A42%7D&auth_date=1795600000\
            &hash=0a1a59ccaf303ad8151a5b00a348ce0530b8ab7547a09e5644944c5f7d02aa75"});
        assert!(verify_telegram_auth(mini_app.as_object().unwrap(), TOKEN, 42, NOW, 60).is_ok());
    }

    #[test]
    fn forged_altered_old_and_foreign_payloads_are_refused() {
        let good = widget(42, NOW - 10);
        let mut altered = good.clone();
        altered.insert("username".into(), "someone_else".into());
        assert_eq!(
            verify_telegram_auth(&altered, TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::BadSignature)
        );
        assert_eq!(
            verify_telegram_auth(&good, "999:another-bot", 42, NOW, 86_400),
            Err(AuthRejection::BadSignature)
        );
        assert_eq!(
            verify_telegram_auth(&widget(42, NOW - 90_000), TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::Expired)
        );
        assert_eq!(
            verify_telegram_auth(&widget(42, NOW + 3_600), TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::Expired)
        );
        assert_eq!(
            verify_telegram_auth(&good, TOKEN, 43, NOW, 86_400),
            Err(AuthRejection::IdMismatch)
        );
        let mut no_hash = good.clone();
        no_hash.remove("hash");
        assert_eq!(
            verify_telegram_auth(&no_hash, TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::Malformed)
        );
        let mut nested = good.clone();
        nested.insert("extra".into(), json!({"a": 1}));
        assert_eq!(
            verify_telegram_auth(&nested, TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::Malformed)
        );
        let mut not_hex = good;
        not_hex.insert("hash".into(), "zz".into());
        assert_eq!(
            verify_telegram_auth(&not_hex, TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::BadSignature)
        );
    }

    #[test]
    fn mini_app_init_data_verifies_and_forgeries_do_not() {
        let user = r#"{"id":42,"first_name":"Ivan","username":"ivan_app"}"#;
        let auth_date = (NOW - 5).to_string();
        let init_data = sign_init_data(
            &[
                ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
                ("user", user),
                ("auth_date", &auth_date),
            ],
            TOKEN,
        );
        let payload = |s: &str| json!({"init_data": s}).as_object().unwrap().clone();
        assert_eq!(
            verify_telegram_auth(&payload(&init_data), TOKEN, 42, NOW, 86_400),
            Ok(TelegramIdentity {
                id: 42,
                username: Some("ivan_app".into())
            })
        );
        // The widget algorithm's key does not verify Mini App data.
        let forged = init_data.replace("ivan_app", "ivan_forged");
        assert_eq!(
            verify_telegram_auth(&payload(&forged), TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::BadSignature)
        );
        assert_eq!(
            verify_telegram_auth(&payload(&init_data), TOKEN, 7, NOW, 86_400),
            Err(AuthRejection::IdMismatch)
        );
        let mut with_extra = payload(&init_data);
        with_extra.insert("id".into(), 42.into());
        assert_eq!(
            verify_telegram_auth(&with_extra, TOKEN, 42, NOW, 86_400),
            Err(AuthRejection::Malformed)
        );
    }
}
