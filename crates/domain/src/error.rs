//! Stable error codes of the public contract (API.md §2) with their HTTP status
//! and the message a site can show to a player.

use crate::lang::Lang;

/// The `detail` of every non-2xx answer. The string form is part of the public
/// contract: sites branch on it, so variants are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    InvalidApiKey,
    NotInTelegramGroup,
    TelegramAuthInvalid,
    LimitExceeded,
    Banned,
    LoginTaken,
    RateLimited,
    GameServerUnavailable,
    TelegramUnavailable,
    DatabaseUnavailable,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    InternalError,
}

impl ErrorCode {
    /// Every code: the contract's table in its order, then our additions
    /// (`request_timeout`). Used to generate and check the docs.
    pub const ALL: [ErrorCode; 18] = [
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
    ];

    /// The code whose [`as_str`](Self::as_str) is `code`, for configuration
    /// that names codes.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

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
        }
    }

    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ValidationError => 422,
            ErrorCode::InvalidApiKey
            | ErrorCode::NotInTelegramGroup
            | ErrorCode::TelegramAuthInvalid
            | ErrorCode::LimitExceeded
            | ErrorCode::Banned => 403,
            ErrorCode::LoginTaken => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::GameServerUnavailable
            | ErrorCode::TelegramUnavailable
            | ErrorCode::DatabaseUnavailable
            | ErrorCode::RequestTimeout => 503,
            ErrorCode::NotFound => 404,
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
        }
    }
}

/// Per-field validation codes (`errors[].code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorCode {
    Required,
    Type,
    TooShort,
    TooLong,
    Charset,
    OutOfRange,
    UnknownField,
}

impl FieldErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldErrorCode::Required => "required",
            FieldErrorCode::Type => "type",
            FieldErrorCode::TooShort => "too_short",
            FieldErrorCode::TooLong => "too_long",
            FieldErrorCode::Charset => "charset",
            FieldErrorCode::OutOfRange => "out_of_range",
            FieldErrorCode::UnknownField => "unknown_field",
        }
    }
}

/// One failing field of a request. The message never contains the submitted
/// value: it may be a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: FieldErrorCode,
    pub message: String,
}

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
    }
}
