//! The register JSON body → validation: never a panic, and an accepted
//! request is accepted again when re-sent as its own fields.
#![no_main]

use gamegate_domain::{Lang, RegistrationRules, validate_register};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let rules = RegistrationRules::default();
    for lang in [Lang::Ru, Lang::En] {
        match validate_register(&body, &rules, lang) {
            Ok(request) => {
                let again = json!({
                    "login": request.login,
                    "password": request.password.expose(),
                    "gender": request.gender,
                    "telegram_id": request.telegram_id,
                });
                assert!(validate_register(again.as_object().unwrap(), &rules, lang).is_ok());
            }
            Err(errors) => assert!(!errors.is_empty()),
        }
    }
});
