//! Configuration loading on arbitrary input: the bytes before the first NUL
//! are the TOML file, the rest are NUL-separated `NAME=VALUE` environment
//! variables (each NAME prefixed with `GAMEGATE_`). Never a panic, and a
//! configuration that loads loads again, unchanged, from its own TOML form.
#![no_main]

use gamegate::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let Ok(text) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return; // the loader reads the file as UTF-8 and stops there
    };
    let env: Vec<(String, String)> = parts
        .filter_map(|pair| {
            let pair = String::from_utf8_lossy(pair);
            let (name, value) = pair.split_once('=')?;
            let name = format!("GAMEGATE_{name}");
            // `…_FILE` variables name files to read: not the fuzzer's to pick.
            if name.to_ascii_uppercase().ends_with("_FILE") {
                return None;
            }
            Some((name, value.to_owned()))
        })
        .collect();
    let Ok((config, _unknown)) = Config::from_toml_str(text, env) else {
        return;
    };
    let written = toml::to_string(&config).expect("a loaded configuration serialises");
    let (again, unknown) = Config::from_toml_str(&written, Vec::new())
        .unwrap_or_else(|e| panic!("its own TOML form does not load: {e:#}\n{written}"));
    assert!(unknown.is_empty());
    assert_eq!(
        toml::to_string(&again).expect("serialises"),
        written,
        "not the same configuration after a round trip"
    );
});
