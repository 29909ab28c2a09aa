//! Statistics for the system owner and handlers: volumes by channel,
//! category, administration and status, service-level outcomes in working
//! days, and how well routing works (triaged and rerouted shares).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};

use super::{ServiceError, Services, actor};
use crate::domain::actor::{Caller, Role};
pub use crate::domain::disclosure::Cell;
use crate::domain::disclosure::{self, Published, SecretCount};
use crate::store;
use crate::store::entities::requests::Column as C;
use crate::store::stats::Period;

#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    /// How many requests the figures are over.
    pub count: u64,
    pub median: Option<i32>,
    pub p90: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct Stats {
    /// The period counted: the one asked for, widened to whole Swedish days.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub total: u64,
    pub by_channel: Vec<(String, i64)>,
    /// Per category and per administration, with confidential requests of
    /// small cells and of the current day withheld (see
    /// `domain::disclosure`).
    pub by_category: Vec<(String, Cell)>,
    pub by_administration: Vec<(String, Cell)>,
    pub by_status: Vec<(String, i64)>,
    /// Requests written in a language the classifier does not read, per
    /// ISO 639-3 code ("und" when unsure): which languages to train on or
    /// staff for next.
    pub by_text_language: Vec<(String, i64)>,
    /// Working days from receipt to first response.
    pub first_response_days: Percentiles,
    /// Working days from receipt to resolution.
    pub resolution_days: Percentiles,
    /// Of resolved requests, the share resolved by their due date.
    pub resolved_within_service_level: Option<f64>,
    /// Of all requests, the share the classifier sent to triage.
    pub triaged_share: Option<f64>,
    /// Of all requests, the share a person rerouted: routing quality.
    pub rerouted_share: Option<f64>,
    /// Answered and closed at first contact, per channel and category.
    pub first_contact: Vec<FirstContact>,
    /// Residents who found their answer in an article and did not submit,
    /// per category ("" for articles without one), in key order; for the
    /// system owner, confidential categories under the same rule as
    /// `by_category`.
    pub deflections: Vec<(String, i64)>,
    /// What residents ask that no article answers, most frequent first.
    pub unanswered_topics: Vec<super::knowledge::Topic>,
}

/// First-contact resolution of one channel and category.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstContact {
    pub channel: String,
    pub category: String,
    pub requests: i64,
    pub resolved: i64,
}

/// How many of the period's newest texts are mined for unanswered topics.
const TOPIC_SAMPLE: u64 = 2_000;
const TOPICS: usize = 10;

impl Services {
    pub async fn stats(
        &self,
        caller: &Caller,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Stats, ServiceError> {
        let actor = actor(caller)?;
        let administrations: Option<Vec<String>> = if actor.has(Role::Admin) {
            None
        } else if actor.has(Role::Handler) {
            Some(actor.administrations.iter().cloned().collect())
        } else {
            return Err(ServiceError::forbidden(
                "statistics are for the system owner and handlers",
            ));
        };
        // Whole days, so that periods a moment apart count the same
        // requests and their difference singles out nobody.
        let (from, to) = disclosure::whole_swedish_days(from, to)
            .ok_or_else(|| ServiceError::invalid("to", "must be after from"))?;
        // A handler's figures cover only their own administrations, whose
        // requests they read in full anyway, as they happen. The system
        // owner reads no request: for them confidential requests (and
        // deflections in confidential categories) are counted only per
        // category and administration, in cells of at least five of days
        // that have ended (domain::disclosure), and every other figure,
        // which would cross them with channel, status or time, is over open
        // requests only. Only the confidential part stops at the current
        // day: the open figures stay live, and nothing confidential in
        // them can change while the day goes on.
        let guarded = administrations.is_none();
        let now = Utc::now();
        let marked = disclosure::Marked::of(self.catalogue());
        let period = Period {
            from,
            to,
            administrations: administrations.as_deref(),
            open_only: guarded,
        };
        let db = self.db();
        let secret = if guarded {
            disclosure::publish(
                store::stats::confidential_by_hour(db, &period)
                    .await?
                    .into_iter()
                    .filter_map(|(administration, category, hour, count)| {
                        Some(SecretCount {
                            day: swedish_day_of_hour(hour)?,
                            administration,
                            category: category.unwrap_or_default(),
                            count,
                        })
                    }),
                now,
                &marked,
            )
        } else {
            Published::default()
        };
        let open_total = store::stats::count(db, &period, None).await?;
        let total = open_total + u64::try_from(secret.total).unwrap_or(0);
        let resolved = store::stats::count(
            db,
            &period,
            Some(Condition::all().add(C::ResolvedOnTime.is_not_null())),
        )
        .await?;
        let on_time = store::stats::count(
            db,
            &period,
            Some(Condition::all().add(C::ResolvedOnTime.eq(true))),
        )
        .await?;
        let triaged =
            store::stats::count(db, &period, Some(Condition::all().add(C::Triaged.eq(true))))
                .await?;
        let rerouted = store::stats::count(
            db,
            &period,
            Some(Condition::all().add(C::Rerouted.eq(true))),
        )
        .await?;
        let all = store::stats::counts_by_channel_and_category(db, &period, None).await?;
        let answered = store::stats::counts_by_channel_and_category(
            db,
            &period,
            Some(Condition::all().add(C::FirstContact.eq(true))),
        )
        .await?;
        let first_contact = all
            .into_iter()
            .map(|(channel, category, requests)| {
                let resolved = answered
                    .iter()
                    .find(|(c, k, _)| *c == channel && *k == category)
                    .map_or(0, |(_, _, n)| *n);
                FirstContact {
                    channel,
                    category,
                    requests,
                    resolved,
                }
            })
            .collect();
        let mut deflections: BTreeMap<String, i64> =
            store::knowledge::deflections_by_category(db, from, to)
                .await?
                .into_iter()
                .filter(|(category, _)| match &administrations {
                    Some(adms) => category
                        .as_deref()
                        .and_then(|c| self.catalogue().category(c))
                        .is_some_and(|c| adms.contains(&c.administration)),
                    None => category
                        .as_ref()
                        .is_none_or(|c| !marked.categories.contains(c)),
                })
                .map(|(category, n)| (category.unwrap_or_default(), n))
                .collect();
        if guarded {
            // Someone who found their answer in an article on domestic
            // violence is as much someone's secret case as a request is.
            let rows = store::stats::deflections_by_hour(
                db,
                from,
                to,
                marked.categories.iter().map(String::as_str),
            )
            .await?;
            deflections.extend(disclosure::published_counts(
                rows.into_iter().filter_map(|(category, hour, n)| {
                    Some((swedish_day_of_hour(hour)?, category, n))
                }),
                now,
            ));
        }
        let deflections = deflections.into_iter().collect();
        let texts = store::stats::recent_texts(db, &period, TOPIC_SAMPLE).await?;
        let unanswered_topics = self.unanswered_topics(texts, TOPICS).await?;
        Ok(Stats {
            from,
            to,
            first_contact,
            deflections,
            unanswered_topics,
            total,
            by_channel: store::stats::counts_by(db, &period, C::Channel).await?,
            by_category: with_secret(
                store::stats::counts_by(db, &period, C::CategoryCode).await?,
                secret.by_category,
            ),
            by_administration: with_secret(
                store::stats::counts_by(db, &period, C::AdministrationCode).await?,
                secret.by_administration,
            ),
            by_status: store::stats::counts_by(db, &period, C::Status).await?,
            by_text_language: store::stats::counts_by(db, &period, C::TextLanguage)
                .await?
                .into_iter()
                .filter(|(language, _)| !language.is_empty())
                .collect(),
            first_response_days: percentiles(
                &store::stats::histogram(db, &period, C::FirstResponseDays).await?,
            ),
            resolution_days: percentiles(
                &store::stats::histogram(db, &period, C::ResolutionDays).await?,
            ),
            resolved_within_service_level: share(on_time, resolved),
            triaged_share: share(triaged, open_total),
            rerouted_share: share(rerouted, open_total),
        })
    }
}

/// The Swedish day of an hour counted from the Unix epoch in UTC (as the
/// store groups timestamps).
fn swedish_day_of_hour(hour: i64) -> Option<chrono::NaiveDate> {
    Some(disclosure::swedish_day(DateTime::from_timestamp(
        hour.checked_mul(3600)?,
        0,
    )?))
}

/// Open counts per key with the published confidential cells added, in key
/// order.
fn with_secret(open: Vec<(String, i64)>, secret: BTreeMap<String, Cell>) -> Vec<(String, Cell)> {
    let mut cells = secret;
    for (key, count) in open {
        cells.entry(key).or_default().count += count;
    }
    cells.into_iter().collect()
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Median and 90th percentile (nearest rank) from a histogram of values.
fn percentiles(histogram: &[(i32, i64)]) -> Percentiles {
    let mut sorted: Vec<(i32, u64)> = histogram
        .iter()
        .map(|(value, n)| (*value, u64::try_from(*n).unwrap_or(0)))
        .collect();
    sorted.sort_unstable();
    let count: u64 = sorted.iter().map(|(_, n)| n).sum();
    let rank = |p: f64| -> Option<i32> {
        let target = ((p * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        sorted.iter().find_map(|(value, n)| {
            seen += n;
            (seen >= target).then_some(*value)
        })
    };
    Percentiles {
        count,
        median: rank(0.5),
        p90: rank(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let p = percentiles(&[(3, 1), (1, 2), (10, 1)]);
        assert_eq!(p.count, 4);
        assert_eq!(p.median, Some(1));
        assert_eq!(p.p90, Some(10));
        assert_eq!(percentiles(&[]).median, None);
    }
}
