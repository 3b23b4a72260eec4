//! Client for the game server's registration protocol (v1), plus an
//! in-memory mock server speaking the same protocol.

#![warn(missing_docs)]

pub mod capabilities;
pub mod client;
mod framing;
pub mod mock;
pub mod protocol;

pub use capabilities::{Capabilities, CaseFolding, ExistsSupport, GameAccountRules, Operations};
pub use client::{
    CallError, Failure, FailureKind, GameServer, RegisterError, ServerCode, TcpGameServer,
    TcpGameServerConfig,
};
pub use mock::{Behaviour, MockGameServer, MockHandle, StateEntry, read_state};
