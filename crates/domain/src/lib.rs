//! The rules of gamegate, with no I/O: request validation (exact JSON numbers,
//! repeated keys, the login rule), error codes and their
//! messages (ru/en), the account-limit policy, the shape of the status answer
//! and the rules of its constants.
//!
//! Everything here is plain data and pure functions so it can be unit-tested,
//! fuzzed and property-tested without a runtime, a database or a socket.

#![warn(missing_docs)]

mod account_limit;
pub mod body;
pub mod docs;
pub mod error;
pub mod game_rules;
pub mod idempotency;
pub mod json;
pub mod lang;
pub mod number;
pub mod register;
pub mod status;
pub mod telegram;

pub use body::ErrorBody;
pub use error::{ErrorCode, FieldError, FieldErrorCode, MAX_FIELD_ERRORS};
pub use game_rules::{CaseFolding, GameAccountRules};
pub use idempotency::{IdempotencyKey, KeyProblem, parse_idempotency_key};
pub use json::{NotAnObject, ObjectText};
pub use lang::Lang;
pub use register::{
    AccountLimit, LoginProblem, MAX_OLD_PASSWORD_CHARS, Password, PasswordChange, RegisterRequest,
    RegistrationRules, normalise_login, validate_password_change, validate_register,
};
pub use status::{
    ConstantName, GameObservation, GameServerState, ServerStatus, ValueProblem,
    validate_constant_body,
};
pub use telegram::{AuthRejection, TelegramIdentity, is_group_member, verify_telegram_auth};
