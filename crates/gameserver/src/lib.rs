//! Connectors to the game server behind one trait ([`GameServer`]): protocol
//! v1 over TCP, optionally TLS ([`TcpGameServer`], with an in-memory mock
//! server speaking the same protocol) and signed JSON over HTTP
//! ([`HttpGameServer`], with an in-memory mock receiver).

#![warn(missing_docs)]

pub mod capabilities;
pub mod client;
mod framing;
pub mod http;
pub mod mock;
pub mod protocol;
pub mod tls;

pub use capabilities::{Capabilities, CaseFolding, ExistsSupport, GameAccountRules, Operations};
pub use client::{
    CallError, Failure, FailureKind, GameServer, LinkFacts, RegisterError, ServerCode,
    TcpGameServer, TcpGameServerConfig,
};
pub use http::{
    HttpBehaviour, HttpGameServer, HttpGameServerConfig, HttpMockHandle, HttpMockServer,
    HttpSetupError,
};
pub use mock::{Behaviour, MockGameServer, MockHandle, MockOptions, StateEntry, read_state};
pub use tls::{ClientIdentity, Fingerprint, LinkTls, Trust};
