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
//!
//! And two more, against someone who asks again and again:
//!
//! - A confidential cell is published only once its Swedish day has ended.
//!   A cell still filling up changes with each arrival: polling it would
//!   date the first request of the day, and a count going from five to six
//!   would isolate the sixth. Only the confidential part of a period is
//!   cut off at the current day; open requests describe nobody's secret
//!   case, and the day's open intake is what the system owner watches.
//! - Whether a key is marked withheld depends on the catalogue, not on
//!   what it holds ([`Marked`]): every confidential category and every
//!   administration owning one is marked, empty or not, so that neither
//!   the mark nor the key's presence shows that a small cell exists.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;

use super::catalogue::Catalogue;

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

/// Whether confidential figures of `day` may be published at `now`: once
/// the Swedish day has ended, so that they no longer change.
pub fn has_ended(day: NaiveDate, now: DateTime<Utc>) -> bool {
    day < swedish_day(now)
}

/// A published figure for one key (a category or an administration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    /// Requests counted: open ones, and confidential ones of cells of at
    /// least [`MIN_CELL`] on days that have ended.
    pub count: i64,
    /// Whether confidential requests of this key may have been withheld:
    /// set for every [`Marked`] key, whatever it holds.
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

/// The keys the catalogue makes confidential: its confidential categories
/// and the administrations owning them. They are listed and marked
/// withheld in every answer. A confidential request elsewhere (sent back
/// to triage, or routed unread into an open category) is rare; its small
/// cells are left out without a mark, since a mark on a key that is
/// otherwise never marked would show that the cell exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marked {
    pub categories: BTreeSet<String>,
    pub administrations: BTreeSet<String>,
}

impl Marked {
    pub fn of(catalogue: &Catalogue) -> Self {
        let mut marked = Self::default();
        for category in catalogue.categories() {
            if catalogue.is_confidential(category) {
                marked.categories.insert(category.code.clone());
                marked
                    .administrations
                    .insert(category.administration.clone());
            }
        }
        marked
    }
}

/// What may be published of the confidential requests of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Confidential requests in published cells.
    pub total: i64,
    pub by_category: BTreeMap<String, Cell>,
    pub by_administration: BTreeMap<String, Cell>,
}

/// Per key, the sum of its cells that may be published at `now`: cells of
/// days that have ended holding at least [`MIN_CELL`]. Counts for the same
/// day and key are added first, so the caller may pass finer rows (hours,
/// say). Keys with nothing published are absent, as if empty.
pub fn published_counts<K: Ord>(
    rows: impl IntoIterator<Item = (NaiveDate, K, i64)>,
    now: DateTime<Utc>,
) -> BTreeMap<K, i64> {
    let mut cells: BTreeMap<(K, NaiveDate), i64> = BTreeMap::new();
    for (day, key, count) in rows {
        if has_ended(day, now) {
            *cells.entry((key, day)).or_default() += count;
        }
    }
    let mut published = BTreeMap::new();
    for ((key, _), count) in cells {
        if count >= MIN_CELL {
            *published.entry(key).or_default() += count;
        }
    }
    published
}

/// Publishes the cells of ended days holding at least [`MIN_CELL`],
/// withholds the rest, and marks every `marked` key withheld.
pub fn publish(
    rows: impl IntoIterator<Item = SecretCount>,
    now: DateTime<Utc>,
    marked: &Marked,
) -> Published {
    let cells = published_counts(
        rows.into_iter()
            .map(|row| (row.day, (row.administration, row.category), row.count)),
        now,
    );
    let mut published = Published::default();
    for ((administration, category), count) in cells {
        published.by_category.entry(category).or_default().count += count;
        published
            .by_administration
            .entry(administration)
            .or_default()
            .count += count;
        published.total += count;
    }
    for (keys, cells) in [
        (&marked.categories, &mut published.by_category),
        (&marked.administrations, &mut published.by_administration),
    ] {
        for key in keys {
            cells.entry(key.clone()).or_default().withheld = true;
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

    /// A moment after every test day has ended.
    fn later() -> DateTime<Utc> {
        at("2026-12-31T12:00:00Z")
    }

    fn marked() -> Marked {
        Marked {
            categories: ["financial_assistance", "domestic_violence", "home_care"]
                .map(String::from)
                .into(),
            administrations: ["SOC", "VOF"].map(String::from).into(),
        }
    }

    #[test]
    fn a_day_has_ended_at_swedish_midnight() {
        let cases = [
            // (day, now, ended)
            ("2026-11-26", "2026-11-26T12:00:00Z", false),
            ("2026-11-26", "2026-11-26T22:59:59.999Z", false),
            ("2026-11-26", "2026-11-26T23:00:00Z", true),
            ("2026-11-27", "2026-11-26T23:00:00Z", false),
            // Summer time: midnight is 22:00 UTC.
            ("2026-06-15", "2026-06-15T21:59:59Z", false),
            ("2026-06-15", "2026-06-15T22:00:00Z", true),
            ("2026-06-14", "2026-06-15T12:00:00Z", true),
        ];
        for (d, now, ended) in cases {
            assert_eq!(has_ended(day(d), at(now)), ended, "{d} at {now}");
        }
    }

    #[test]
    fn cells_under_five_are_withheld_from_every_figure() {
        let published = publish(
            [
                secret("2026-11-26", "SOC", "financial_assistance", 3),
                secret("2026-11-26", "SOC", "financial_assistance", 2),
                secret("2026-11-26", "SOC", "domestic_violence", 1),
                secret("2026-11-27", "SOC", "financial_assistance", 4),
                secret("2026-11-26", "VOF", "home_care", 4),
            ],
            later(),
            &marked(),
        );
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
    fn a_marked_key_looks_the_same_empty_or_holding_one_to_four_or_filling_today() {
        let empty = publish([], later(), &marked());
        let cases = [
            // (rows, now)
            (
                vec![secret("2026-11-26", "SOC", "financial_assistance", 1)],
                later(),
            ),
            (
                vec![secret("2026-11-26", "SOC", "financial_assistance", 4)],
                later(),
            ),
            (vec![secret("2026-11-26", "VOF", "home_care", 3)], later()),
            // The current day counts nothing, however full.
            (
                vec![secret("2026-11-26", "SOC", "financial_assistance", 6)],
                at("2026-11-26T20:00:00Z"),
            ),
            (
                vec![secret("2026-11-27", "VOF", "home_care", 9)],
                at("2026-11-26T23:30:00Z"),
            ),
        ];
        for (rows, now) in cases {
            assert_eq!(publish(rows.clone(), now, &marked()), empty, "{rows:?}");
        }
        let withheld = Cell {
            count: 0,
            withheld: true,
        };
        for key in ["financial_assistance", "domestic_violence", "home_care"] {
            assert_eq!(empty.by_category[key], withheld, "{key}");
        }
        for key in ["SOC", "VOF"] {
            assert_eq!(empty.by_administration[key], withheld, "{key}");
        }
    }

    #[test]
    fn a_small_cell_outside_the_marked_keys_is_left_out_without_a_mark() {
        // Sent back to triage: no category, the contact centre's
        // administration.
        let published = publish([secret("2026-11-26", "KC", "", 2)], later(), &marked());
        assert_eq!(published, publish([], later(), &marked()));
        assert!(!published.by_category.contains_key(""));
        assert!(!published.by_administration.contains_key("KC"));
    }

    #[test]
    fn every_published_figure_is_a_sum_of_whole_cells() {
        let published = publish(
            [
                secret("2026-11-26", "SOC", "financial_assistance", 7),
                secret("2026-11-26", "SOC", "domestic_violence", 5),
                secret("2026-11-26", "SOC", "child_welfare_concern", 1),
            ],
            later(),
            &marked(),
        );
        let shown: i64 = published.by_category.values().map(|c| c.count).sum();
        assert_eq!(shown, published.total);
        assert_eq!(published.by_administration["SOC"].count, published.total);
        assert_eq!(published.total, 12);
    }

    #[test]
    fn published_counts_keep_ended_days_of_at_least_five() {
        let now = at("2026-11-27T12:00:00Z");
        // (rows of (day, key, count), published (key, count))
        type Case<'a> = (&'a [(&'a str, &'a str, i64)], &'a [(&'a str, i64)]);
        let cases: [Case; 5] = [
            (&[("2026-11-26", "home_care", 4)], &[]),
            (&[("2026-11-26", "home_care", 5)], &[("home_care", 5)]),
            // Hours of one day add up to one cell.
            (
                &[
                    ("2026-11-26", "home_care", 2),
                    ("2026-11-26", "home_care", 3),
                ],
                &[("home_care", 5)],
            ),
            // Days are cells of their own.
            (
                &[
                    ("2026-11-25", "home_care", 3),
                    ("2026-11-26", "home_care", 3),
                    ("2026-11-24", "paratransit", 6),
                ],
                &[("paratransit", 6)],
            ),
            // Today is not over.
            (&[("2026-11-27", "home_care", 8)], &[]),
        ];
        for (rows, expected) in cases {
            let published =
                published_counts(rows.iter().map(|(d, key, n)| (day(d), *key, *n)), now);
            assert_eq!(
                published.into_iter().collect::<Vec<_>>(),
                expected.to_vec(),
                "{rows:?}"
            );
        }
    }

    #[test]
    fn the_catalogues_confidential_categories_and_their_administrations_are_marked() {
        let catalogue = Catalogue::sample().expect("sample catalogue");
        let marked = Marked::of(&catalogue);
        assert_eq!(
            marked.administrations,
            ["SOC", "VOF"].map(String::from).into()
        );
        assert_eq!(marked.categories.len(), 8, "{marked:?}");
        assert!(marked.categories.contains("child_welfare_concern"));
        assert!(!marked.categories.contains("general_question"));
    }
}
