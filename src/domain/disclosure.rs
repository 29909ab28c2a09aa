//! Disclosure control for statistics, the way official statistics do it
//! (DESIGN.md: counts about confidential categories are never published for
//! cells so small, or periods so short, that one person's case can be
//! singled out).
//!
//! Two rules, both needed:
//!
//! - Periods are whole Swedish calendar days (Europe/Stockholm), rounded
//!   outward: a period covers every day it touches. Two periods a few
//!   milliseconds apart then count the same requests, so no difference
//!   between them isolates one request.
//! - A confidential request is counted only through its *cell*: its day,
//!   administration and category. A cell of fewer than [`MIN_CELL`]
//!   requests is withheld from every figure, not just hidden in one. Every
//!   published figure is then a sum of whole cells of at least five (plus
//!   open requests), and so is the difference of any two figures, of one
//!   answer or of two periods: subtraction cannot recover a withheld cell.
//!   Hiding a small cell while still counting it in a total would let the
//!   total minus the shown cells reveal it.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;

/// The smallest number of confidential requests a published cell holds.
pub const MIN_CELL: i64 = 5;

/// The Swedish calendar day of an instant.
pub fn swedish_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Stockholm).date_naive()
}

/// When a Swedish calendar day begins, in UTC. Stockholm changes its clock
/// at 02:00 and 03:00, so midnight always exists exactly once.
fn start_of_swedish_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    match Stockholm.from_local_datetime(&midnight).earliest() {
        Some(start) => start.with_timezone(&Utc),
        // Only a future rule change could make midnight not exist; then
        // the day starts at its first existing hour, found from UTC.
        None => Stockholm.from_utc_datetime(&midnight).with_timezone(&Utc),
    }
}

/// `[from, to)` widened to whole Swedish days: from the start of the day of
/// `from` to the start of the day after the one holding the period's last
/// instant. An empty or inverted period stays empty (`None`).
pub fn whole_swedish_days(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if to <= from {
        return None;
    }
    let last = to - chrono::Duration::nanoseconds(1);
    let end = swedish_day(last).checked_add_days(Days::new(1))?;
    Some((
        start_of_swedish_day(swedish_day(from)),
        start_of_swedish_day(end),
    ))
}

/// A published figure for one key (a category or an administration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    /// Requests counted: open ones, and confidential ones of cells of at
    /// least [`MIN_CELL`].
    pub count: i64,
    /// Whether confidential requests of this key were withheld.
    pub withheld: bool,
}

/// Confidential requests of one day, administration and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretCount {
    pub day: NaiveDate,
    pub administration: String,
    /// `""` for a request without a category (in triage).
    pub category: String,
    pub count: i64,
}

/// What may be published of the confidential requests of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Confidential requests in published cells.
    pub total: i64,
    pub by_category: BTreeMap<String, Cell>,
    pub by_administration: BTreeMap<String, Cell>,
}

/// Publishes the cells of at least [`MIN_CELL`] and withholds the rest.
/// Counts for the same day, administration and category are added first,
/// so the caller may pass finer rows (hours, say).
pub fn publish(rows: impl IntoIterator<Item = SecretCount>) -> Published {
    let mut cells: BTreeMap<(NaiveDate, String, String), i64> = BTreeMap::new();
    for row in rows {
        *cells
            .entry((row.day, row.administration, row.category))
            .or_default() += row.count;
    }
    let mut published = Published::default();
    for ((_, administration, category), count) in cells {
        let shown = count >= MIN_CELL;
        for cell in [
            published.by_category.entry(category).or_default(),
            published
                .by_administration
                .entry(administration)
                .or_default(),
        ] {
            if shown {
                cell.count += count;
            } else if count > 0 {
                cell.withheld = true;
            }
        }
        if shown {
            published.total += count;
        }
    }
    published
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("test day")
    }

    #[test]
    fn periods_are_widened_to_whole_swedish_days() {
        let cases = [
            // (from, to, widened from, widened to)
            (
                "2026-11-26T10:00:00Z",
                "2026-11-26T10:05:00Z",
                "2026-11-25T23:00:00Z",
                "2026-11-26T23:00:00Z",
            ),
            // Already whole days: unchanged.
            (
                "2026-11-25T23:00:00Z",
                "2026-11-26T23:00:00Z",
                "2026-11-25T23:00:00Z",
                "2026-11-26T23:00:00Z",
            ),
            // 23:30 UTC is already the next day in Stockholm.
            (
                "2026-11-26T23:30:00Z",
                "2026-11-27T23:30:00.001Z",
                "2026-11-26T23:00:00Z",
                "2026-11-28T23:00:00Z",
            ),
            // Summer time: days start at 22:00 UTC; the spring-forward day
            // has 23 hours.
            (
                "2026-03-29T12:00:00Z",
                "2026-03-29T13:00:00Z",
                "2026-03-28T23:00:00Z",
                "2026-03-29T22:00:00Z",
            ),
            (
                "2026-10-25T12:00:00Z",
                "2026-10-25T13:00:00Z",
                "2026-10-24T22:00:00Z",
                "2026-10-25T23:00:00Z",
            ),
        ];
        for (from, to, wide_from, wide_to) in cases {
            assert_eq!(
                whole_swedish_days(at(from), at(to)),
                Some((at(wide_from), at(wide_to))),
                "{from} – {to}"
            );
        }
        let instant = at("2026-11-26T10:00:00Z");
        assert_eq!(whole_swedish_days(instant, instant), None);
    }

    #[test]
    fn periods_milliseconds_apart_become_the_same_days() {
        let a = whole_swedish_days(
            at("2026-11-26T10:00:00.000Z"),
            at("2026-11-27T10:00:00.000Z"),
        );
        let b = whole_swedish_days(
            at("2026-11-26T10:00:00.002Z"),
            at("2026-11-27T10:00:00.002Z"),
        );
        assert_eq!(a, b);
    }

    fn secret(d: &str, administration: &str, category: &str, count: i64) -> SecretCount {
        SecretCount {
            day: day(d),
            administration: administration.into(),
            category: category.into(),
            count,
        }
    }

    #[test]
    fn cells_under_five_are_withheld_from_every_figure() {
        let published = publish([
            secret("2026-11-26", "SOC", "financial_assistance", 3),
            secret("2026-11-26", "SOC", "financial_assistance", 2),
            secret("2026-11-26", "SOC", "domestic_violence", 1),
            secret("2026-11-27", "SOC", "financial_assistance", 4),
            secret("2026-11-26", "VOF", "home_care", 4),
        ]);
        assert_eq!(published.total, 5, "only the one whole cell of five");
        let cell = |count, withheld| Cell { count, withheld };
        assert_eq!(
            published.by_category["financial_assistance"],
            cell(5, true),
            "the day of five is shown, the day of four withheld"
        );
        assert_eq!(published.by_category["domestic_violence"], cell(0, true));
        assert_eq!(published.by_category["home_care"], cell(0, true));
        assert_eq!(published.by_administration["SOC"], cell(5, true));
        assert_eq!(published.by_administration["VOF"], cell(0, true));
    }

    #[test]
    fn every_published_figure_is_a_sum_of_whole_cells() {
        let published = publish([
            secret("2026-11-26", "SOC", "financial_assistance", 7),
            secret("2026-11-26", "SOC", "domestic_violence", 5),
            secret("2026-11-26", "SOC", "child_welfare_concern", 1),
        ]);
        let shown: i64 = published.by_category.values().map(|c| c.count).sum();
        assert_eq!(shown, published.total);
        assert_eq!(published.by_administration["SOC"].count, published.total);
        assert_eq!(published.total, 12);
    }
}
