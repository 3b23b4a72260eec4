//! The test kit every test binary of this package includes (`mod support;`,
//! or `#[path = "../support/mod.rs"] mod support;` from tests/api): one way
//! to start gamegate, in-process or as the built binary, and to talk to it.
//!
//! - [`backend`]: the backends a suite runs on (the store's own list), the
//!   server URLs from `GAMEGATE_TEST_MYSQL_URL` / `GAMEGATE_TEST_PG_URL`
//!   (required under `CI`, skipped with a notice elsewhere), a fresh database
//!   per test, and the `on_every_backend!` test generators.
//! - [`app`]: the application in-process on random ports (`spawn_app`,
//!   `TestApp`) and the test configurations.
//! - [`binary`]: the built `gamegate` binary: one-shot commands without the
//!   caller's environment, servers started on random ports whose banner says
//!   where they listen.
//! - [`http`]: whole answers (`Answer`), the contract's error shape, bodies.
//! - [`receiver`]: receivers of the HTTP connector (the Python reference
//!   receiver as a process) and gamegate configured for them.
//! - [`tools`]: external programs (nginx, chromium, promtool, …) found or
//!   required, and free ports.
//!
//! A module rather than a crate of its own: it needs
//! `env!("CARGO_BIN_EXE_gamegate")`, which Cargo gives only to this
//! package's test targets, and the `gamegate` library, which a separate
//! crate could only use through a dev-dependency cycle.

// Each test binary uses its own part of the kit.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod backend;
pub mod binary;
pub mod http;
pub mod receiver;
pub mod tools;

pub use app::*;
pub use backend::*;
pub use http::*;
