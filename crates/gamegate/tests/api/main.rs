//! End-to-end tests: the real application over real sockets, per backend.

mod helpers;

mod errors;
mod register;
mod saga;
mod status;
