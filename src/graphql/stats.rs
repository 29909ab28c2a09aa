//! Statistics for the system owner (everything) and handlers (their
//! administrations).

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::GqlResult;
use super::{caller, services};
use crate::service;

#[derive(Default)]
pub struct StatsQuery;

#[derive(SimpleObject)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// The requests of one category or administration. Confidential requests
/// are counted in cells of one Swedish day, administration and category,
/// and only for days that have ended; a cell of fewer than five is withheld
/// from this count and from every other figure, so that no subtraction
/// recovers it.
#[derive(SimpleObject)]
pub struct SuppressibleCount {
    pub key: String,
    /// Null when nothing of the key is published: empty, or withheld
    /// (shown as "< 5"), which look the same.
    pub count: Option<i64>,
    /// Whether confidential requests of this key may have been withheld.
    /// For the system owner, always true for the catalogue's confidential
    /// categories and the administrations owning them, which are always
    /// listed, empty or not: the mark says nothing about what they hold.
    pub suppressed: bool,
}

/// Working days, over the requests that have reached that point.
#[derive(SimpleObject)]
pub struct Percentiles {
    pub count: u64,
    pub median: Option<i32>,
    pub p90: Option<i32>,
}

/// For the system owner, confidential requests are counted only in
/// `total`, `byCategory` and `byAdministration`, only in cells of at least
/// five, and only for Swedish days that have ended, so that polling the
/// current day shows nothing of them; every other figure describes the open
/// requests, up to now. A handler's figures cover their own administrations
/// in full, up to now.
#[derive(SimpleObject)]
pub struct Stats {
    /// The period counted: the one asked for, widened to whole days in
    /// Swedish time (Europe/Stockholm).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Requests created in the period, withheld ones left out.
    pub total: u64,
    pub by_channel: Vec<Count>,
    pub by_category: Vec<SuppressibleCount>,
    pub by_administration: Vec<SuppressibleCount>,
    pub by_status: Vec<Count>,
    /// Requests written in a language other than Swedish or English, per
    /// ISO 639-3 code ("und" when it could not be told which).
    pub by_text_language: Vec<Count>,
    /// Working days from receipt to first response.
    pub first_response_days: Percentiles,
    /// Working days from receipt to resolution.
    pub resolution_days: Percentiles,
    /// Of resolved requests, the share resolved by their due date.
    pub resolved_within_service_level: Option<f64>,
    /// Share the classifier was unsure of (sent to triage).
    pub triaged_share: Option<f64>,
    /// Share a person rerouted: how often routing was wrong.
    pub rerouted_share: Option<f64>,
    /// Requests answered and closed at first contact, per channel and
    /// category.
    pub first_contact_resolution: Vec<FirstContactResolution>,
    /// Residents who found their answer in an article and did not submit,
    /// per category. For the system owner, confidential categories follow
    /// the rule of `byCategory` (days that have ended, cells of at least
    /// five); a withheld one is left out like an empty one.
    pub deflections: Vec<Count>,
    /// What residents ask that no article answers (from the period's
    /// newest 2,000 non-confidential texts), most frequent first: which
    /// articles to write next.
    pub unanswered_topics: Vec<UnansweredTopic>,
}

#[derive(SimpleObject)]
pub struct FirstContactResolution {
    pub channel: String,
    pub category: String,
    pub requests: i64,
    pub resolved: i64,
    pub share: Option<f64>,
}

#[derive(SimpleObject)]
pub struct UnansweredTopic {
    /// The word as residents write it.
    pub word: String,
    /// The category it most often came in.
    pub category: Option<String>,
    pub requests: u64,
}

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

fn cells(rows: Vec<(String, service::Cell)>) -> Vec<SuppressibleCount> {
    rows.into_iter()
        .map(|(key, cell)| SuppressibleCount {
            key,
            count: (cell.count > 0 || !cell.withheld).then_some(cell.count),
            suppressed: cell.withheld,
        })
        .collect()
}

fn percentiles(p: service::Percentiles) -> Percentiles {
    Percentiles {
        count: p.count,
        median: p.median,
        p90: p.p90,
    }
}

#[Object]
impl StatsQuery {
    /// Figures over requests created in [from, to), widened to whole
    /// Swedish days.
    async fn stats(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<Stats> {
        let s = services(ctx)?.stats(caller(ctx), from, to).await.gql()?;
        Ok(Stats {
            from: s.from,
            to: s.to,
            total: s.total,
            by_channel: counts(s.by_channel),
            by_category: cells(s.by_category),
            by_administration: cells(s.by_administration),
            by_status: counts(s.by_status),
            by_text_language: counts(s.by_text_language),
            first_response_days: percentiles(s.first_response_days),
            resolution_days: percentiles(s.resolution_days),
            resolved_within_service_level: s.resolved_within_service_level,
            triaged_share: s.triaged_share,
            rerouted_share: s.rerouted_share,
            first_contact_resolution: s
                .first_contact
                .into_iter()
                .map(|f| FirstContactResolution {
                    share: (f.requests > 0).then(|| f.resolved as f64 / f.requests as f64),
                    channel: f.channel,
                    category: f.category,
                    requests: f.requests,
                    resolved: f.resolved,
                })
                .collect(),
            deflections: counts(s.deflections),
            unanswered_topics: s
                .unanswered_topics
                .into_iter()
                .map(|t| UnansweredTopic {
                    word: t.word,
                    category: t.category,
                    requests: t.requests,
                })
                .collect(),
        })
    }
}
