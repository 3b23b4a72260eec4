//! The register JSON body → validation: never a panic, and an accepted
//! request is accepted again when re-sent as its own fields.
#![no_main]

use gamegate_domain::{Lang, ObjectText, RegistrationRules, validate_register};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = ObjectText::parse(data) else {
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
                let again = ObjectText::from_map(again.as_object().unwrap());
                assert!(validate_register(&again, &rules, lang).is_ok());
            }
            Err(errors) => assert!(!errors.is_empty()),
        }
    }
});
