//! API tests: the real router over HTTP on a fresh database per test.

mod auth;
mod catalogue;
mod claims;
mod classifier;
mod connection_faults;
mod durability;
mod email;
mod faults;
mod hostile;
mod knowledge;
mod limits;
mod live;
mod lookup;
mod notifications;
mod open311;
mod privacy;
mod replicas;
mod restart;
mod schema;
mod search;
mod smtp_sink;
mod startup;
mod submit;
mod support;
mod web;
mod work;
