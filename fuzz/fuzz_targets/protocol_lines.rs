//! The game-server protocol's line parsers, both sides (the mock parses
//! requests, the client parses replies): never a panic on any bytes.
#![no_main]

use gamegate_gameserver::protocol::{parse_reply_line, parse_request_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_request_line(data);
    let _ = parse_reply_line(data);
});
