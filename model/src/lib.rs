//! The classifier's arithmetic, in a crate of its own so that it is
//! compiled optimised in every profile (see the workspace `Cargo.toml`):
//! training takes about a second optimised and half a minute in a debug
//! build, and every test server and replica trains at start-up.
//!
//! Pure: folded words in, numbers out. Tokenising, the catalogue and the
//! corpus stay in the main crate's domain.

pub mod features;
pub mod softmax;
