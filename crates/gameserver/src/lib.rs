//! Client for the game server's registration protocol (v1), optionally over
//! TLS, plus an in-memory mock server speaking the same protocol.

#![warn(missing_docs)]

pub mod capabilities;
pub mod client;
mod framing;
pub mod mock;
pub mod protocol;
pub mod tls;

pub use capabilities::{Capabilities, CaseFolding, ExistsSupport, GameAccountRules, Operations};
pub use client::{
    CallError, Failure, FailureKind, GameServer, LinkFacts, RegisterError, ServerCode,
    TcpGameServer, TcpGameServerConfig,
};
pub use mock::{Behaviour, MockGameServer, MockHandle, MockOptions, StateEntry, read_state};
pub use tls::{ClientIdentity, Fingerprint, LinkTls, Trust};
