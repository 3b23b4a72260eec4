//! Stable error codes of the public contract (API.md §2) with their HTTP status
//! and the message a site can show to a player.

use crate::lang::Lang;

mod reference;

/// The `detail` of every non-2xx answer. The string form is part of the public
/// contract: sites branch on it, so variants are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_json` (400): the body is not a JSON object.
    InvalidJson,
    /// `payload_too_large` (413): the body is over `http.body_limit_bytes`
    /// (default 16 KiB).
    PayloadTooLarge,
    /// `unsupported_media_type` (415): a POST without
    /// `Content-Type: application/json`.
    UnsupportedMediaType,
    /// `validation_error` (422): fields missing, of the wrong JSON type, unknown,
    /// repeated or breaking a rule; the answer carries `errors`
    /// (at most [`MAX_FIELD_ERRORS`] entries, the rest counted in `errors_omitted`).
    ValidationError,
    /// `invalid_api_key` (403): `X-API-Key` missing or not one of `edge.api_keys`.
    InvalidApiKey,
    /// `not_in_telegram_group` (403): the membership check is on and the
    /// `telegram_id` is not a member of the project's group.
    NotInTelegramGroup,
    /// `telegram_auth_invalid` (403): `telegram_auth` failed verification
    /// (see [`AuthRejection`](crate::AuthRejection)) or is missing while
    /// `telegram.require_auth` is on.
    TelegramAuthInvalid,
    /// `limit_exceeded` (403): the `telegram_id` already owns
    /// `registration.account_limit` accounts (default 5, see
    /// [`AccountLimit`](crate::AccountLimit)).
    LimitExceeded,
    /// `banned` (403): the client IP is in the ban jail; carries `Retry-After`
    /// (seconds).
    Banned,
    /// `login_taken` (409): the login exists, case-insensitively
    /// ([`normalise_login`](crate::normalise_login)), in the database or on the
    /// game server.
    LoginTaken,
    /// `rate_limited` (429): the client IP went over its rate limit; carries
    /// `Retry-After` (seconds).
    RateLimited,
    /// `game_server_unavailable` (503): the game server is down, refused or timed
    /// out; nothing is left half-created.
    GameServerUnavailable,
    /// `telegram_unavailable` (503): the Bot API is unreachable and
    /// `telegram.fail_policy` is `"closed"`.
    TelegramUnavailable,
    /// `database_unavailable` (503): the database is unreachable or did not answer
    /// in time.
    DatabaseUnavailable,
    /// `not_found` (404): an unknown path.
    NotFound,
    /// `method_not_allowed` (405): a known path with the wrong method; the `Allow`
    /// header lists the right ones.
    MethodNotAllowed,
    /// `request_timeout` (503, our addition): the registration took longer than
    /// `http.request_timeout_ms`, the body did not arrive within
    /// `http.body_read_timeout_ms`, or a public statistics query took longer than
    /// `analytics.query_timeout_ms` (then with `Retry-After`).
    RequestTimeout,
    /// `internal_error` (500): anything else; details only in the server's log.
    InternalError,
    /// The HTTP library refused the request before any route saw it.
    BadRequest,
    /// An operator route (the dashboard, the admin reports, `/metrics`)
    /// without a valid `admin.tokens` token.
    Unauthorized,
    /// `unknown_constant` (404): `PUT /admin/constants/{name}` names no
    /// constant of the status answer (see
    /// [`ConstantName`](crate::ConstantName)).
    UnknownConstant,
    /// `invalid_idempotency_key` (400): the `Idempotency-Key` header of
    /// `POST /api/register` is not an sf-string or token of 1 to 255
    /// printable ASCII characters, or is given twice
    /// ([`parse_idempotency_key`](crate::parse_idempotency_key)).
    InvalidIdempotencyKey,
    /// `idempotency_key_reused` (422): the `Idempotency-Key` was used by the
    /// same site, within the window, for a different request body.
    IdempotencyKeyReused,
    /// `request_in_progress` (409): the first request with this
    /// `Idempotency-Key` is still running; carries `Retry-After` (seconds).
    RequestInProgress,
    /// `account_not_found` (404): `DELETE /api/accounts/{login}` or
    /// `POST /api/accounts/{login}/password` names no account
    /// (case-insensitively, [`normalise_login`](crate::normalise_login)).
    AccountNotFound,
    /// `wrong_password` (403): the current password of a password change is
    /// not the account's; counted by the ban jail (`edge.ban_on`).
    WrongPassword,
    /// `account_busy` (409): the account is still being registered, or
    /// another change (a deletion) is under way; retry later.
    AccountBusy,
    /// `not_supported` (501): the game server's connector cannot do this
    /// operation (`delete`, `set_password`); nothing was changed.
    NotSupported,
}

impl ErrorCode {
    /// Every code: the contract's table in its order, then our additions
    /// (`request_timeout`, `bad_request`, `unauthorized`, `unknown_constant`,
    /// the `Idempotency-Key` codes).
    /// Used to generate and check the docs.
    pub const ALL: [ErrorCode; 28] = [
        ErrorCode::InvalidJson,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationError,
        ErrorCode::InvalidApiKey,
        ErrorCode::NotInTelegramGroup,
        ErrorCode::TelegramAuthInvalid,
        ErrorCode::LimitExceeded,
        ErrorCode::Banned,
        ErrorCode::LoginTaken,
        ErrorCode::RateLimited,
        ErrorCode::GameServerUnavailable,
        ErrorCode::TelegramUnavailable,
        ErrorCode::DatabaseUnavailable,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::InternalError,
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::UnknownConstant,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::RequestInProgress,
        ErrorCode::AccountNotFound,
        ErrorCode::WrongPassword,
        ErrorCode::AccountBusy,
        ErrorCode::NotSupported,
    ];

    /// The code whose [`as_str`](Self::as_str) is `code`, for configuration
    /// that names codes.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The stable snake_case string sent as `detail`, e.g. `"login_taken"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::NotInTelegramGroup => "not_in_telegram_group",
            ErrorCode::TelegramAuthInvalid => "telegram_auth_invalid",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::Banned => "banned",
            ErrorCode::LoginTaken => "login_taken",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::GameServerUnavailable => "game_server_unavailable",
            ErrorCode::TelegramUnavailable => "telegram_unavailable",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnknownConstant => "unknown_constant",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::RequestInProgress => "request_in_progress",
            ErrorCode::AccountNotFound => "account_not_found",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::AccountBusy => "account_busy",
            ErrorCode::NotSupported => "not_supported",
        }
    }

    /// The HTTP status the code is answered with (400–503; the table in
    /// docs/API.md, "Error codes"). [`BadRequest`](Self::BadRequest) is 400 here; the
    /// HTTP library answers it as 431/414 for oversized headers/URIs.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson | ErrorCode::BadRequest | ErrorCode::InvalidIdempotencyKey => {
                400
            }
            ErrorCode::Unauthorized => 401,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ValidationError | ErrorCode::IdempotencyKeyReused => 422,
            ErrorCode::InvalidApiKey
            | ErrorCode::NotInTelegramGroup
            | ErrorCode::TelegramAuthInvalid
            | ErrorCode::LimitExceeded
            | ErrorCode::Banned
            | ErrorCode::WrongPassword => 403,
            ErrorCode::LoginTaken | ErrorCode::RequestInProgress | ErrorCode::AccountBusy => 409,
            ErrorCode::NotSupported => 501,
            ErrorCode::RateLimited => 429,
            ErrorCode::GameServerUnavailable
            | ErrorCode::TelegramUnavailable
            | ErrorCode::DatabaseUnavailable
            | ErrorCode::RequestTimeout => 503,
            ErrorCode::NotFound | ErrorCode::UnknownConstant | ErrorCode::AccountNotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InternalError => 500,
        }
    }

    /// The text a site shows to the player.
    pub const fn message(self, lang: Lang) -> &'static str {
        match self {
            ErrorCode::InvalidJson => lang.pick(
                "Некорректный запрос: тело должно быть JSON-объектом.",
                "Malformed request: the body must be a JSON object.",
            ),
            ErrorCode::PayloadTooLarge => lang.pick(
                "Слишком большой запрос.",
                "The request body is too large.",
            ),
            ErrorCode::UnsupportedMediaType => lang.pick(
                "Запрос должен иметь заголовок Content-Type: application/json.",
                "The request must have the header Content-Type: application/json.",
            ),
            ErrorCode::ValidationError => lang.pick(
                "Проверьте правильность заполнения полей.",
                "Please check the highlighted fields.",
            ),
            ErrorCode::InvalidApiKey => lang.pick(
                "Доступ запрещён: неверный API-ключ.",
                "Access denied: invalid API key.",
            ),
            ErrorCode::NotInTelegramGroup => lang.pick(
                "Чтобы зарегистрироваться, вступите в Telegram-группу проекта.",
                "Join the project's Telegram group to register.",
            ),
            ErrorCode::TelegramAuthInvalid => lang.pick(
                "Не удалось подтвердить вход через Telegram. Войдите через Telegram ещё раз.",
                "Telegram login could not be verified. Please log in with Telegram again.",
            ),
            ErrorCode::LimitExceeded => lang.pick(
                "На этот Telegram-аккаунт уже зарегистрировано максимальное число игровых аккаунтов.",
                "This Telegram account already has the maximum number of game accounts.",
            ),
            ErrorCode::Banned => lang.pick(
                "Доступ временно заблокирован из-за подозрительной активности. Попробуйте позже.",
                "Access is temporarily blocked because of suspicious activity. Try again later.",
            ),
            ErrorCode::LoginTaken => lang.pick(
                "Этот логин уже занят. Выберите другой.",
                "This login is already taken. Please choose another one.",
            ),
            ErrorCode::RateLimited => lang.pick(
                "Слишком много запросов. Подождите немного и попробуйте снова.",
                "Too many requests. Please wait a moment and try again.",
            ),
            ErrorCode::GameServerUnavailable => lang.pick(
                "Игровой сервер временно недоступен. Попробуйте позже.",
                "The game server is temporarily unavailable. Please try again later.",
            ),
            ErrorCode::TelegramUnavailable => lang.pick(
                "Не удалось проверить участие в Telegram-группе. Попробуйте позже.",
                "Telegram group membership could not be checked. Please try again later.",
            ),
            ErrorCode::DatabaseUnavailable => lang.pick(
                "Сервис временно недоступен. Попробуйте позже.",
                "The service is temporarily unavailable. Please try again later.",
            ),
            ErrorCode::NotFound => lang.pick("Адрес не найден.", "Not found."),
            ErrorCode::MethodNotAllowed => lang.pick(
                "Этот метод не поддерживается для данного адреса.",
                "This method is not allowed for this path.",
            ),
            ErrorCode::RequestTimeout => lang.pick(
                "Сервис не успел ответить вовремя. Попробуйте ещё раз.",
                "The service did not answer in time. Please try again.",
            ),
            ErrorCode::InternalError => lang.pick(
                "Внутренняя ошибка сервера. Попробуйте позже.",
                "Internal server error. Please try again later.",
            ),
            ErrorCode::BadRequest => lang.pick(
                "Некорректный HTTP-запрос.",
                "Malformed HTTP request.",
            ),
            ErrorCode::Unauthorized => lang.pick(
                "Требуется вход оператора: неверный или отсутствующий токен администратора.",
                "Operator login required: the admin token is missing or wrong.",
            ),
            ErrorCode::UnknownConstant => lang.pick(
                "Такой константы статуса нет: допустимы server_status, client_status и rate_<имя>.",
                "No such status constant: server_status, client_status and rate_<name> are allowed.",
            ),
            ErrorCode::InvalidIdempotencyKey => lang.pick(
                "Некорректный заголовок Idempotency-Key.",
                "Malformed Idempotency-Key header.",
            ),
            ErrorCode::IdempotencyKeyReused => lang.pick(
                "Этот ключ идемпотентности уже использован для другого запроса.",
                "This idempotency key was already used for a different request.",
            ),
            ErrorCode::RequestInProgress => lang.pick(
                "Предыдущий запрос с этим ключом ещё выполняется. Повторите через секунду.",
                "The previous request with this key is still running. Retry in a second.",
            ),
            ErrorCode::AccountNotFound => lang.pick(
                "Аккаунт с таким логином не найден.",
                "No account has this login.",
            ),
            ErrorCode::WrongPassword => lang.pick(
                "Неверный текущий пароль.",
                "The current password is wrong.",
            ),
            ErrorCode::AccountBusy => lang.pick(
                "С аккаунтом сейчас выполняется другая операция. Попробуйте чуть позже.",
                "Another operation on this account is under way. Please try again shortly.",
            ),
            ErrorCode::NotSupported => lang.pick(
                "Игровой сервер не поддерживает эту операцию.",
                "The game server does not support this operation.",
            ),
        }
    }
}

/// Per-field validation codes (`errors[].code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorCode {
    /// `required`: the field is missing.
    Required,
    /// `type`: the wrong JSON type (a string for a number, a non-integral number
    /// judged exactly by [`json_integer`](crate::number::json_integer)).
    Type,
    /// `too_short`: fewer characters than the rule's minimum (counted after NFC).
    TooShort,
    /// `too_long`: more characters than the rule's maximum (counted after NFC).
    TooLong,
    /// `charset`: a character outside the allowed set (the login charset, or a
    /// control character in the password).
    Charset,
    /// `out_of_range`: an integer outside its range (`gender` 0–1,
    /// `telegram_id` 1..=2^63−1).
    OutOfRange,
    /// `unknown_field`: a key that is not in
    /// [`REGISTER_FIELDS`](crate::register::REGISTER_FIELDS).
    UnknownField,
    /// A key given more than once (at the top of the body or inside a field's
    /// object): refused rather than resolved to one of the values.
    Duplicate,
}

impl FieldErrorCode {
    /// Every field code, in the contract's order (API.md §2).
    pub const ALL: [FieldErrorCode; 8] = [
        FieldErrorCode::Required,
        FieldErrorCode::Type,
        FieldErrorCode::TooShort,
        FieldErrorCode::TooLong,
        FieldErrorCode::Charset,
        FieldErrorCode::OutOfRange,
        FieldErrorCode::UnknownField,
        FieldErrorCode::Duplicate,
    ];

    /// What the site should do about a field with this code (docs/ERRORS.md).
    pub const fn site_advice(self, lang: Lang) -> &'static str {
        match self {
            FieldErrorCode::Required => lang.pick(
                "Отметьте поле обязательным (`required`) и покажите сообщение у поля.",
                "Mark the field `required` in the form and show the message next to it.",
            ),
            FieldErrorCode::Type => lang.pick(
                "Ошибка в коде сайта: `gender` и `telegram_id` — целые числа JSON, не строки; `1.0` и `1e2` — целые, `1.5` и `1.0000000000000001` — нет (значение считается точно по записи числа).",
                "A bug in the site: `gender` and `telegram_id` are JSON integers, not strings; `1.0` and `1e2` are integers, `1.5` and `1.0000000000000001` are not (the exact value of the number as written counts).",
            ),
            FieldErrorCode::TooShort | FieldErrorCode::TooLong => lang.pick(
                "Покажите сообщение у поля; подсказки `minlength`/`maxlength` в форме ловят это раньше.",
                "Show the message next to the field; `minlength`/`maxlength` in the form catch this earlier.",
            ),
            FieldErrorCode::Charset => lang.pick(
                "Покажите сообщение у поля; `pattern` в форме ловит это для логина раньше.",
                "Show the message next to the field; a `pattern` in the form catches this for the login earlier.",
            ),
            FieldErrorCode::OutOfRange => lang.pick(
                "Покажите сообщение у поля; для пола используйте выбор из двух значений.",
                "Show the message next to the field; offer gender as a choice of two values.",
            ),
            FieldErrorCode::UnknownField => lang.pick(
                "Ошибка в коде сайта: уберите лишнее поле или исправьте опечатку в имени.",
                "A bug in the site: drop the extra field or fix the typo in its name.",
            ),
            FieldErrorCode::Duplicate => lang.pick(
                "Ошибка в коде сайта: каждый ключ JSON-объекта — один раз (сериализуйте объект, а не склеивайте строки).",
                "A bug in the site: give each key of a JSON object once (serialise an object, do not concatenate strings).",
            ),
        }
    }

    /// The stable snake_case string sent as `errors[].code`, e.g. `"too_short"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldErrorCode::Required => "required",
            FieldErrorCode::Type => "type",
            FieldErrorCode::TooShort => "too_short",
            FieldErrorCode::TooLong => "too_long",
            FieldErrorCode::Charset => "charset",
            FieldErrorCode::OutOfRange => "out_of_range",
            FieldErrorCode::UnknownField => "unknown_field",
            FieldErrorCode::Duplicate => "duplicate",
        }
    }
}

/// One failing field of a request. The message never contains the submitted
/// value: it may be a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The request key the error is about, e.g. `"login"`.
    pub field: String,
    /// What is wrong with it.
    pub code: FieldErrorCode,
    /// Text for the player, in the configured [`Lang`]; never echoes the value.
    pub message: String,
}

/// Most entries the `errors` list of one answer carries; the rest are only
/// counted (`errors_omitted`), so a body of thousands of unknown keys cannot
/// make an answer many times its own size.
pub const MAX_FIELD_ERRORS: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_have_messages_in_both_languages() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(!code.message(Lang::Ru).is_empty());
            assert!(!code.message(Lang::En).is_empty());
            assert_ne!(code.message(Lang::Ru), code.message(Lang::En));
            assert!((400..600).contains(&code.http_status()));
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_code("Banned"), None, "codes are exact");
        assert_eq!(ErrorCode::from_code("nonsense"), None);
    }

    #[test]
    fn statuses_match_the_contract_table() {
        assert_eq!(ErrorCode::InvalidJson.http_status(), 400);
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::UnsupportedMediaType.http_status(), 415);
        assert_eq!(ErrorCode::ValidationError.http_status(), 422);
        assert_eq!(ErrorCode::LimitExceeded.http_status(), 403);
        assert_eq!(ErrorCode::LoginTaken.http_status(), 409);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        assert_eq!(ErrorCode::GameServerUnavailable.http_status(), 503);
        assert_eq!(ErrorCode::MethodNotAllowed.http_status(), 405);
        assert_eq!(ErrorCode::Unauthorized.http_status(), 401);
        assert_eq!(
            ErrorCode::from_code("unauthorized"),
            Some(ErrorCode::Unauthorized)
        );
    }
}
