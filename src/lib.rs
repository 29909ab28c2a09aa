//! En väg in: one way in for everything a resident asks of the municipality.
//!
//! Layers, outside in: `http` and `graphql` (thin transport) call `service`
//! (one function per use case, one transaction each, authorisation decided
//! there), which uses `domain` (pure rules, no I/O) and `store` (sea-orm on
//! SQLite or PostgreSQL). `app` wires them together from `config`.

pub mod app;
pub mod auth;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod secrets;
pub mod service;
pub mod store;
pub mod web;
