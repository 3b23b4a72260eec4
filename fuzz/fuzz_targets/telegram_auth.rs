//! telegram_auth verification on attacker-controlled payloads (a widget
//! object, or `init_data` text): never a panic, never accepted unsigned.
#![no_main]

use gamegate_domain::verify_telegram_auth;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const TOKEN: &str = "123456:fuzz-token";

fuzz_target!(|data: &[u8]| {
    let payload: Map<String, Value> = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(map)) => map,
        // Anything else is tried as Mini App initData.
        _ => {
            let mut map = Map::new();
            map.insert(
                "init_data".into(),
                String::from_utf8_lossy(data).into_owned().into(),
            );
            map
        }
    };
    // The fuzzer cannot forge HMAC-SHA-256: an accepted payload would be a bug.
    assert!(verify_telegram_auth(&payload, TOKEN, 42, 1_795_600_000, 86_400).is_err());
});
