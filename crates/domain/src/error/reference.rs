//! What docs/ERRORS.md says of each code: when it is answered and what a
//! site should do about it, in both languages.

use super::ErrorCode;
use crate::lang::Lang;

impl ErrorCode {
    /// Whether the answer carries `Retry-After` (seconds): the wait the site
    /// should show or honour before trying again.
    pub const fn carries_retry_after(self) -> bool {
        matches!(
            self,
            ErrorCode::Banned | ErrorCode::RateLimited | ErrorCode::RequestInProgress
        )
    }

    /// When the code is produced, in words for a site developer (docs/ERRORS.md).
    pub const fn cause(self, lang: Lang) -> &'static str {
        match self {
            ErrorCode::InvalidJson => lang.pick(
                "Тело запроса не JSON или не JSON-объект (массив, строка, `null`, пустое тело).",
                "The body is not JSON, or not a JSON object (an array, a string, `null`, an empty body).",
            ),
            ErrorCode::PayloadTooLarge => lang.pick(
                "Тело больше `http.body_limit_bytes` (по умолчанию 16 КиБ).",
                "The body is over `http.body_limit_bytes` (default 16 KiB).",
            ),
            ErrorCode::UnsupportedMediaType => lang.pick(
                "POST без `Content-Type: application/json`.",
                "A POST without `Content-Type: application/json`.",
            ),
            ErrorCode::ValidationError => lang.pick(
                "Поля отсутствуют, неверного JSON-типа, неизвестны, повторяются или нарушают правила; ответ содержит `errors` (не больше 20 записей, остальные — числом в `errors_omitted`).",
                "Fields are missing, of the wrong JSON type, unknown, repeated, or break the rules; the answer has `errors` (at most 20 entries, the rest counted in `errors_omitted`).",
            ),
            ErrorCode::InvalidApiKey => lang.pick(
                "`X-API-Key` отсутствует или не входит в `edge.api_keys`.",
                "`X-API-Key` is missing or not one of `edge.api_keys`.",
            ),
            ErrorCode::NotInTelegramGroup => lang.pick(
                "Проверка членства включена, и `telegram_id` не состоит в группе проекта.",
                "The membership check is on and the `telegram_id` is not a member of the project's group.",
            ),
            ErrorCode::TelegramAuthInvalid => lang.pick(
                "`telegram_auth` не прошёл проверку (подпись, возраст, чужой `id`) или отсутствует при `telegram.require_auth`.",
                "`telegram_auth` failed verification (signature, age, another user's `id`) or is missing while `telegram.require_auth` is on.",
            ),
            ErrorCode::LimitExceeded => lang.pick(
                "У этого `telegram_id` уже максимум аккаунтов (`registration.account_limit`, по умолчанию 5).",
                "This `telegram_id` already has the maximum number of accounts (`registration.account_limit`, default 5).",
            ),
            ErrorCode::Banned => lang.pick(
                "IP клиента в бан-листе (слишком много отказов); есть `Retry-After`.",
                "The client IP is in the ban jail (too many refusals); carries `Retry-After`.",
            ),
            ErrorCode::LoginTaken => lang.pick(
                "Логин уже существует (без учёта регистра) в базе или на игровом сервере.",
                "The login exists (case-insensitively) in the database or on the game server.",
            ),
            ErrorCode::RateLimited => lang.pick(
                "IP клиента превысил лимит запросов; есть `Retry-After` (секунды).",
                "The client IP went over its rate limit; carries `Retry-After` (seconds).",
            ),
            ErrorCode::GameServerUnavailable => lang.pick(
                "Игровой сервер недоступен, отказал или не ответил вовремя; ничего не создано наполовину.",
                "The game server is down, refused, or timed out; nothing is left half-created.",
            ),
            ErrorCode::TelegramUnavailable => lang.pick(
                "Bot API недоступен, а политика `telegram.fail_policy = \"closed\"`.",
                "The Bot API is unreachable and `telegram.fail_policy` is `\"closed\"`.",
            ),
            ErrorCode::DatabaseUnavailable => lang.pick(
                "База данных недоступна или не ответила вовремя.",
                "The database is unreachable or did not answer in time.",
            ),
            ErrorCode::NotFound => lang.pick("Неизвестный путь.", "An unknown path."),
            ErrorCode::MethodNotAllowed => lang.pick(
                "Известный путь, неверный метод (заголовок `Allow` перечисляет верные).",
                "A known path with the wrong method (the `Allow` header lists the right ones).",
            ),
            ErrorCode::RequestTimeout => lang.pick(
                "Регистрация заняла дольше `http.request_timeout_ms`, тело запроса не пришло целиком за `http.body_read_timeout_ms` (соединение закрывается), или публичный запрос статистики занял дольше `analytics.query_timeout_ms` (тогда с `Retry-After`).",
                "The registration took longer than `http.request_timeout_ms`, the request body did not arrive in full within `http.body_read_timeout_ms` (the connection is closed), or a public statistics query took longer than `analytics.query_timeout_ms` (then with `Retry-After`).",
            ),
            ErrorCode::InternalError => lang.pick(
                "Всё остальное; подробности только в логе сервера.",
                "Anything else; the details are only in the server's log.",
            ),
            ErrorCode::BadRequest => lang.pick(
                "HTTP-библиотека отвергла запрос до маршрута: мусор в строке запроса, управляющие байты или голый LF в заголовке, свёрнутые заголовки (obs-fold). Статус 400; слишком большие заголовки — 431, слишком длинный URI — 414, с тем же `detail`. Только HTTP/1; соединение закрывается.",
                "The HTTP library refused the request before any route: a garbage request line, control bytes or a bare LF in a header, folded headers (obs-fold). Status 400; headers too large get 431 and a URI too long 414, with the same `detail`. HTTP/1 only; the connection is closed.",
            ),
            ErrorCode::Unauthorized => lang.pick(
                "Маршрут оператора (`/admin/dashboard`, `/admin/constants/{name}`, `/stats/registrations`, `/stats/top-telegram`, `/ml/anomalies`, `/stats/ratings/histogram`, `/metrics`) при заданном `admin.tokens` (а `PUT /admin/constants/{name}` — всегда, при пустом `admin.tokens` на любой запрос) — без `Authorization: Bearer <токен>` или Basic с токеном как паролем, либо с неверным токеном; есть `WWW-Authenticate`. Публичные маршруты не отвечают этим кодом.",
                "An operator route (`/admin/dashboard`, `/admin/constants/{name}`, `/stats/registrations`, `/stats/top-telegram`, `/ml/anomalies`, `/stats/ratings/histogram`, `/metrics`) while `admin.tokens` is set (and `PUT /admin/constants/{name}` always: with `admin.tokens` empty, to every request), without `Authorization: Bearer <token>` or Basic with the token as the password, or with a wrong token; carries `WWW-Authenticate`. Public routes never answer with it.",
            ),
            ErrorCode::UnknownConstant => lang.pick(
                "`PUT /admin/constants/{name}` с именем, которое не является константой ответа статуса (`server_status`, `client_status`, `rate_<имя>` из `a-z`, `0-9`, `_`, до 32 символов).",
                "`PUT /admin/constants/{name}` with a name that is not a constant of the status answer (`server_status`, `client_status`, `rate_<name>` of `a-z`, `0-9`, `_`, up to 32 characters).",
            ),
            ErrorCode::InvalidIdempotencyKey => lang.pick(
                "Заголовок `Idempotency-Key` у `POST /api/register` пуст, длиннее 255 символов, не sf-string (`\"…\"`) и не токен из букв, цифр и `-._~:+/=`, содержит не-ASCII символ или передан дважды.",
                "The `Idempotency-Key` header of `POST /api/register` is empty, longer than 255 characters, neither an sf-string (`\"…\"`) nor a token of letters, digits and `-._~:+/=`, has a non-ASCII character, or is given twice.",
            ),
            ErrorCode::IdempotencyKeyReused => lang.pick(
                "Тот же `Idempotency-Key` этого сайта (того же `X-API-Key`) в пределах `registration.idempotency_window_secs` пришёл с другим телом запроса.",
                "The same `Idempotency-Key` of this site (the same `X-API-Key`) came within `registration.idempotency_window_secs` with a different request body.",
            ),
            ErrorCode::RequestInProgress => lang.pick(
                "Первый запрос с этим `Idempotency-Key` ещё выполняется; есть `Retry-After` (секунды).",
                "The first request with this `Idempotency-Key` is still running; carries `Retry-After` (seconds).",
            ),
            ErrorCode::AccountNotFound => lang.pick(
                "`DELETE /api/accounts/{login}` или `POST /api/accounts/{login}/password` с логином, которого нет (без учёта регистра).",
                "`DELETE /api/accounts/{login}` or `POST /api/accounts/{login}/password` with a login no account has (case-insensitively).",
            ),
            ErrorCode::WrongPassword => lang.pick(
                "`old_password` смены пароля не совпал с паролем аккаунта; ничего не изменено. Считается бан-листом (`edge.ban_on`).",
                "The `old_password` of a password change is not the account's password; nothing changed. Counted by the ban jail (`edge.ban_on`).",
            ),
            ErrorCode::AccountBusy => lang.pick(
                "Аккаунт ещё регистрируется или удаляется (ответ игрового сервера потерян и ждёт сверки); ничего не изменено.",
                "The account is still being registered, or being deleted (a lost game-server answer waiting for the reconciler); nothing changed.",
            ),
            ErrorCode::NotSupported => lang.pick(
                "Коннектор игрового сервера (`game_server.kind`) не умеет удалять аккаунты или менять пароль; ничего не изменено.",
                "The game server's connector (`game_server.kind`) cannot delete accounts or change passwords; nothing changed.",
            ),
        }
    }

    /// What the site should do with the answer (docs/ERRORS.md): kept next to
    /// the codes so a new code cannot ship without advice.
    pub const fn site_advice(self, lang: Lang) -> &'static str {
        match self {
            ErrorCode::InvalidJson
            | ErrorCode::PayloadTooLarge
            | ErrorCode::UnsupportedMediaType
            | ErrorCode::BadRequest => lang.pick(
                "Ошибка в коде сайта, не игрока: отправляйте JSON-объект с `Content-Type: application/json`. Игроку — общее сообщение; повтор не поможет.",
                "A bug in the site, not the player: send a JSON object with `Content-Type: application/json`. Show the player a generic message; retrying will not help.",
            ),
            ErrorCode::ValidationError => lang.pick(
                "Покажите `message` над формой и `errors[].message` у полей `errors[].field`; игрок исправляет поля и отправляет снова. `unknown_field` — опечатка в форме сайта.",
                "Show `message` above the form and each `errors[].message` next to its `errors[].field`; the player fixes the fields and submits again. `unknown_field` is a typo in the site's form.",
            ),
            ErrorCode::InvalidApiKey => lang.pick(
                "Ошибка настройки сайта: сервер сайта должен добавлять верный `X-API-Key` (ключ только на сервере, не в браузере). Игроку — общее сообщение; повторы ведут к бану IP сайта.",
                "A site configuration error: the site's server must add a valid `X-API-Key` (the key lives on the server, never in the browser). Show the player a generic message; repeated attempts get the site's IP banned.",
            ),
            ErrorCode::NotInTelegramGroup => lang.pick(
                "Покажите ссылку-приглашение в Telegram-группу; после вступления игрок отправляет форму снова.",
                "Show the invite link to the Telegram group; once the player has joined, they submit the form again.",
            ),
            ErrorCode::TelegramAuthInvalid => lang.pick(
                "Попросите игрока снова войти через Telegram (виджет или Mini App) и передайте свежий `telegram_auth` без изменений.",
                "Ask the player to log in with Telegram again (widget or Mini App) and forward the fresh `telegram_auth` unchanged.",
            ),
            ErrorCode::LimitExceeded => lang.pick(
                "Повтор не поможет: предложите войти в существующий аккаунт; при необходимости — связаться с поддержкой.",
                "Retrying will not help: suggest logging in to an existing account, or contacting support if needed.",
            ),
            ErrorCode::Banned => lang.pick(
                "Не повторяйте до истечения `Retry-After` (секунды); покажите, когда можно попробовать снова. Если бан ошибочен — в поддержку.",
                "Do not retry before `Retry-After` (seconds) has passed; tell the player when to try again. If the ban is a mistake, contact support.",
            ),
            ErrorCode::LoginTaken => lang.pick(
                "Подсветите поле логина и попросите выбрать другой; повтор с тем же логином не поможет.",
                "Highlight the login field and ask for another login; retrying the same one will not help.",
            ),
            ErrorCode::RateLimited => lang.pick(
                "Подождите `Retry-After` секунд (заблокируйте кнопку на это время) и повторите; не повторяйте в цикле — это ведёт к бану.",
                "Wait `Retry-After` seconds (disable the button meanwhile), then retry; never retry in a loop, that leads to a ban.",
            ),
            ErrorCode::GameServerUnavailable
            | ErrorCode::DatabaseUnavailable
            | ErrorCode::TelegramUnavailable => lang.pick(
                "Временно: предложите повторить через 30–60 секунд (кнопка, без автоповтора в цикле). Если держится долго — в поддержку.",
                "Temporary: offer a retry in 30–60 seconds (a button, no automatic loop). If it persists, contact support.",
            ),
            ErrorCode::RequestTimeout => lang.pick(
                "Предложите повторить через несколько секунд; если логин уже занят после повтора, регистрация первой попытки могла пройти.",
                "Offer a retry in a few seconds; if the retry says the login is taken, the first attempt may have succeeded.",
            ),
            ErrorCode::NotFound | ErrorCode::MethodNotAllowed => lang.pick(
                "Ошибка в коде сайта: проверьте путь (`POST /api/register`, `GET /api/server/status`) и метод.",
                "A bug in the site: check the path (`POST /api/register`, `GET /api/server/status`) and the method.",
            ),
            ErrorCode::InternalError => lang.pick(
                "Покажите `message`, предложите повторить позже; если повторяется — в поддержку (со временем запроса).",
                "Show `message` and offer a retry later; if it repeats, contact support (with the time of the request).",
            ),
            ErrorCode::Unauthorized => lang.pick(
                "Сайту не встречается: это ответ маршрутов оператора. Оператору — передать токен из `admin.tokens` (`Authorization: Bearer …`; браузер спросит логин и пароль — пароль это токен, логин любой).",
                "A site never meets it: only operator routes answer with it. The operator sends a token of `admin.tokens` (`Authorization: Bearer …`; a browser asks for a user name and password — the password is the token, any user name).",
            ),
            ErrorCode::UnknownConstant => lang.pick(
                "Сайту не встречается: это ответ маршрута оператора. Оператору — проверить имя (`gamegate status list` показывает константы).",
                "A site never meets it: only an operator route answers with it. The operator checks the name (`gamegate status list` shows the constants).",
            ),
            ErrorCode::InvalidIdempotencyKey => lang.pick(
                "Ошибка в коде сайта: отправляйте `Idempotency-Key: \"<UUID>\"` (один раз, ASCII, до 255 символов). Игроку — общее сообщение.",
                "A bug in the site: send `Idempotency-Key: \"<UUID>\"` (once, ASCII, up to 255 characters). Show the player a generic message.",
            ),
            ErrorCode::IdempotencyKeyReused => lang.pick(
                "Ошибка в коде сайта: новый ключ на каждую отправку формы игроком; тот же ключ — только для автоматического повтора того же тела.",
                "A bug in the site: make a new key for every form submission by the player; reuse a key only to retry the very same body automatically.",
            ),
            ErrorCode::RequestInProgress => lang.pick(
                "Подождите `Retry-After` секунд и повторите с тем же ключом и телом: придёт ответ первого запроса.",
                "Wait `Retry-After` seconds and retry with the same key and body: you get the first request's answer.",
            ),
            ErrorCode::AccountNotFound => lang.pick(
                "Аккаунта нет (уже удалён или опечатка): покажите `message`; повтор не поможет.",
                "The account does not exist (already deleted, or a typo): show `message`; retrying will not help.",
            ),
            ErrorCode::WrongPassword => lang.pick(
                "Подсветите поле текущего пароля и попросите ввести его снова; многократные ошибки ведут к бану IP игрока.",
                "Highlight the current-password field and ask for it again; repeated failures get the player's IP banned.",
            ),
            ErrorCode::AccountBusy => lang.pick(
                "Временно: предложите повторить через минуту (кнопка, без автоповтора в цикле).",
                "Temporary: offer a retry in a minute (a button, no automatic loop).",
            ),
            ErrorCode::NotSupported => lang.pick(
                "Скройте кнопку на сайте: эта установка игрового сервера операцию не поддерживает; оператор может сделать это вручную.",
                "Hide the button on the site: this game server setup does not support the operation; the operator can do it by hand.",
            ),
        }
    }
}
