//! Swedish working-day calendar for service levels.
//!
//! Holidays follow lag (1989:253) om allmänna helgdagar, plus midsommarafton,
//! julafton and nyårsafton, which are de facto closed days in municipal
//! administration. Municipalities may add local non-working days on top.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Europe::Stockholm;

/// A deadline falls due at the last second of the Swedish working day.
const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => panic!("23:59:59 is a valid time"),
};

/// Working days in Sweden, with a municipality's own extra closed days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    extra_days: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// `extra_days`: further local non-working days.
    pub fn new(extra_days: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            extra_days: extra_days.into_iter().collect(),
        }
    }

    /// Whether `date` is one of the holidays: a statutory public holiday
    /// (lag 1989:253) or midsommarafton, julafton or nyårsafton.
    ///
    /// Ordinary Sundays are not reported, although the law counts them as
    /// holidays; they are never working days anyway.
    pub fn is_public_holiday(&self, date: NaiveDate) -> bool {
        is_fixed_holiday(date) || is_floating_holiday(date) || is_easter_holiday(date)
    }

    /// Monday–Friday, not a holiday and not a local extra day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !is_weekend(date) && !self.is_public_holiday(date) && !self.extra_days.contains(&date)
    }

    /// The date `days` working days after `start` (start itself never
    /// counts; `days = 0` returns the first working day on or after start).
    ///
    /// Saturates at [`NaiveDate::MAX`] rather than panicking.
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> NaiveDate {
        if days == 0 {
            return self.first_working_day_from(start);
        }
        let mut date = start;
        let mut remaining = days;
        while remaining > 0 {
            let Some(next) = date.succ_opt() else {
                return date;
            };
            date = next;
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        date
    }

    /// Due instant for a service level: `days` working days counted from the
    /// Swedish local date of `received`, due at 23:59:59 Europe/Stockholm on
    /// that day, returned in UTC.
    pub fn due_at(&self, received: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        // The citizen's day is the Swedish one: a request at 00:30 in
        // Stockholm belongs to that day even if UTC still says yesterday.
        let local_date = received.with_timezone(&Stockholm).date_naive();
        end_of_swedish_day(self.add_working_days(local_date, days))
    }

    /// Working days from `from` to `to` in Swedish dates: the working days
    /// after `from`'s date up to and including `to`'s (0 on the same day).
    /// Service-level statistics count in these.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let mut date = from.with_timezone(&Stockholm).date_naive();
        let end = to.with_timezone(&Stockholm).date_naive();
        let mut days = 0;
        while date < end {
            let Some(next) = date.succ_opt() else {
                break;
            };
            date = next;
            if self.is_working_day(date) {
                days += 1;
            }
        }
        days
    }

    fn first_working_day_from(&self, start: NaiveDate) -> NaiveDate {
        let mut date = start;
        while !self.is_working_day(date) {
            let Some(next) = date.succ_opt() else {
                return date;
            };
            date = next;
        }
        date
    }
}

/// Easter Sunday of `year` (Gregorian), by the anonymous Gregorian
/// (Meeus–Jones–Butcher) algorithm.
///
/// Years outside chrono's range yield [`NaiveDate::MIN`]/[`NaiveDate::MAX`]
/// instead of panicking.
pub fn easter_sunday(year: i32) -> NaiveDate {
    // Euclidean division keeps the algorithm valid for proleptic years < 0.
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction; only the year can
    // fall outside chrono's range.
    let fallback = if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    };
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(fallback)
}

/// Parses operator config like `"2026-01-05,2026-05-15"` into dates.
///
/// Items are comma-separated and trimmed; empty items are ignored so that
/// an empty setting or a trailing comma is harmless.
pub fn parse_extra_days(raw: &str) -> Result<Vec<NaiveDate>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(parse_iso_date)
        .collect()
}

fn parse_iso_date(item: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(item, "%Y-%m-%d")
        .map_err(|err| format!("invalid extra day \"{item}\" (expected YYYY-MM-DD): {err}"))
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn is_fixed_holiday(date: NaiveDate) -> bool {
    matches!(
        (date.month(), date.day()),
        (1, 1) | (1, 6) | (5, 1) | (6, 6) | (12, 24) | (12, 25) | (12, 26) | (12, 31)
    )
}

/// Midsommarafton/-dagen and alla helgons dag: fixed weekday within a window.
fn is_floating_holiday(date: NaiveDate) -> bool {
    let (month, day) = (date.month(), date.day());
    match date.weekday() {
        Weekday::Fri => month == 6 && (19..=25).contains(&day),
        Weekday::Sat => {
            (month == 6 && (20..=26).contains(&day))
                || (month == 10 && day == 31)
                || (month == 11 && day <= 6)
        }
        _ => false,
    }
}

/// Långfredagen, påskdagen, annandag påsk, Kristi himmelsfärdsdag, pingstdagen.
fn is_easter_holiday(date: NaiveDate) -> bool {
    // Easter-bound days span 20 March..13 June; skip the arithmetic elsewhere.
    if !(3..=6).contains(&date.month()) {
        return false;
    }
    let offset = date
        .signed_duration_since(easter_sunday(date.year()))
        .num_days();
    matches!(offset, -2 | 0 | 1 | 39 | 49)
}

fn end_of_swedish_day(date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(END_OF_DAY);
    // Stockholm's clock changes at 02:00/03:00, so 23:59:59 always exists
    // once; `latest` only guards against a future rule change.
    match Stockholm.from_local_datetime(&local).latest() {
        Some(due) => due.with_timezone(&Utc),
        None => approximate_utc(local),
    }
}

/// Keeps `end_of_swedish_day` total for times chrono-tz cannot map.
fn approximate_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let offset = Stockholm.offset_from_utc_datetime(&local).fix();
    let shift = TimeDelta::seconds(i64::from(offset.local_minus_utc()));
    local.checked_sub_signed(shift).unwrap_or(local).and_utc()
}

#[cfg(test)]
mod working_days_between_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn working_days_between_skip_weekends_and_the_easter_holidays() {
        let cal = WorkingCalendar::default();
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
        assert_eq!(
            cal.working_days_between(at(2026, 3, 30), at(2026, 3, 30)),
            0
        );
        // Thursday before Easter to the Tuesday after: only the Tuesday counts.
        assert_eq!(cal.working_days_between(at(2026, 4, 2), at(2026, 4, 7)), 1);
        assert_eq!(
            cal.working_days_between(at(2026, 11, 20), at(2026, 11, 27)),
            5
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    fn utc(year: i32, month: u32, day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, h, m, s)
            .single()
            .expect("valid test instant")
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new([])
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        let known = [
            (1900, 4, 15),
            (1943, 4, 25),
            (1961, 4, 2),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2100, 3, 28),
            (2160, 3, 23),
            (2200, 4, 6),
        ];
        for (year, month, day) in known {
            assert_eq!(easter_sunday(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn easter_is_a_sunday_between_22_march_and_25_april_for_1900_to_2200() {
        for year in 1900..=2200 {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!(easter >= date(year, 3, 22) && easter <= date(year, 4, 25));
        }
    }

    #[test]
    fn easter_for_out_of_range_years_does_not_panic() {
        assert_eq!(easter_sunday(i32::MAX), NaiveDate::MAX);
        assert_eq!(easter_sunday(i32::MIN), NaiveDate::MIN);
    }

    #[test]
    fn good_friday_and_easter_monday_are_not_working_days() {
        let cal = calendar();
        for (year, friday, monday) in [
            (2024, date(2024, 3, 29), date(2024, 4, 1)),
            (2025, date(2025, 4, 18), date(2025, 4, 21)),
            (2026, date(2026, 4, 3), date(2026, 4, 6)),
            (2027, date(2027, 3, 26), date(2027, 3, 29)),
        ] {
            assert!(cal.is_public_holiday(friday), "{year}");
            assert!(cal.is_public_holiday(monday), "{year}");
            assert!(!cal.is_working_day(friday), "{year}");
            assert!(!cal.is_working_day(monday), "{year}");
        }
    }

    #[test]
    fn easter_sunday_and_pentecost_are_holidays() {
        let cal = calendar();
        assert!(cal.is_public_holiday(date(2026, 4, 5)));
        assert!(cal.is_public_holiday(date(2026, 5, 24)));
        assert!(cal.is_public_holiday(date(2019, 6, 9)));
    }

    #[test]
    fn days_around_easter_holidays_are_working_days() {
        let cal = calendar();
        assert!(cal.is_working_day(date(2026, 4, 2)));
        assert!(cal.is_working_day(date(2026, 4, 7)));
        assert!(cal.is_working_day(date(2026, 5, 13)));
        assert!(cal.is_working_day(date(2026, 5, 15)));
    }

    #[test]
    fn ascension_day_is_39_days_after_easter() {
        let cal = calendar();
        assert!(!cal.is_working_day(date(2026, 5, 14)));
        assert!(!cal.is_working_day(date(2025, 5, 29)));
        assert!(!cal.is_working_day(date(2019, 5, 30)));
        assert_eq!(date(2026, 5, 14).weekday(), Weekday::Thu);
    }

    #[test]
    fn midsummer_eve_is_the_friday_between_19_and_25_june() {
        let cal = calendar();
        for eve in [date(2025, 6, 20), date(2026, 6, 19), date(2027, 6, 25)] {
            assert_eq!(eve.weekday(), Weekday::Fri);
            assert!(cal.is_public_holiday(eve), "{eve}");
            assert!(!cal.is_working_day(eve), "{eve}");
            assert!(cal.is_working_day(eve.pred_opt().expect("thursday")));
        }
        assert!(cal.is_working_day(date(2027, 6, 18)));
    }

    #[test]
    fn midsummer_day_is_the_saturday_between_20_and_26_june() {
        let cal = calendar();
        assert!(cal.is_public_holiday(date(2026, 6, 20)));
        assert!(cal.is_public_holiday(date(2027, 6, 26)));
        assert!(!cal.is_public_holiday(date(2027, 6, 19)));
    }

    #[test]
    fn all_saints_day_is_the_saturday_between_31_october_and_6_november() {
        let cal = calendar();
        assert!(cal.is_public_holiday(date(2026, 10, 31)));
        assert!(cal.is_public_holiday(date(2025, 11, 1)));
        assert!(cal.is_public_holiday(date(2027, 11, 6)));
        assert!(!cal.is_public_holiday(date(2027, 10, 30)));
        assert!(cal.is_working_day(date(2026, 10, 30)));
    }

    #[test]
    fn national_day_on_a_weekday_is_not_a_working_day() {
        let cal = calendar();
        assert_eq!(date(2025, 6, 6).weekday(), Weekday::Fri);
        assert!(!cal.is_working_day(date(2025, 6, 6)));
    }

    #[test]
    fn fixed_date_holidays_on_weekdays_are_not_working_days() {
        let cal = calendar();
        for day in [
            date(2026, 1, 1),
            date(2026, 1, 6),
            date(2026, 5, 1),
            date(2025, 12, 24),
            date(2025, 12, 25),
            date(2025, 12, 26),
            date(2025, 12, 31),
            date(2026, 12, 24),
            date(2026, 12, 31),
        ] {
            assert!(!is_weekend(day), "{day} should be a weekday");
            assert!(!cal.is_working_day(day), "{day}");
        }
    }

    #[test]
    fn ordinary_weekdays_are_working_days_and_weekends_are_not() {
        let cal = calendar();
        assert!(cal.is_working_day(date(2026, 1, 7)));
        assert!(cal.is_working_day(date(2026, 12, 30)));
        assert!(!cal.is_working_day(date(2026, 1, 10)));
        assert!(!cal.is_working_day(date(2026, 1, 11)));
        assert!(!cal.is_public_holiday(date(2026, 1, 11)));
    }

    #[test]
    fn a_friday_plus_one_working_day_is_the_next_monday() {
        assert_eq!(
            calendar().add_working_days(date(2026, 1, 16), 1),
            date(2026, 1, 19)
        );
    }

    #[test]
    fn maundy_thursday_plus_one_working_day_is_the_tuesday_after_easter() {
        assert_eq!(
            calendar().add_working_days(date(2026, 4, 2), 1),
            date(2026, 4, 7)
        );
    }

    #[test]
    fn christmas_is_skipped_from_23_december() {
        assert_eq!(
            calendar().add_working_days(date(2026, 12, 23), 1),
            date(2026, 12, 28)
        );
    }

    #[test]
    fn zero_days_gives_the_first_working_day_on_or_after_start() {
        let cal = calendar();
        assert_eq!(
            cal.add_working_days(date(2026, 1, 14), 0),
            date(2026, 1, 14)
        );
        assert_eq!(
            cal.add_working_days(date(2026, 1, 17), 0),
            date(2026, 1, 19)
        );
        assert_eq!(
            cal.add_working_days(date(2026, 12, 24), 0),
            date(2026, 12, 28)
        );
    }

    #[test]
    fn counting_from_a_weekend_starts_on_the_next_working_day() {
        assert_eq!(
            calendar().add_working_days(date(2026, 1, 17), 1),
            date(2026, 1, 19)
        );
    }

    #[test]
    fn extra_local_days_are_skipped() {
        let cal = WorkingCalendar::new([date(2026, 1, 5), date(2026, 5, 15)]);
        assert!(!cal.is_working_day(date(2026, 1, 5)));
        assert!(!cal.is_public_holiday(date(2026, 1, 5)));
        // 2 Jan (Fri) -> 5 Jan local day off, 6 Jan trettondag -> 7 Jan.
        assert_eq!(cal.add_working_days(date(2026, 1, 2), 1), date(2026, 1, 7));
        // Klämdag after Kristi himmelsfärd: 13 May -> 18 May.
        assert_eq!(
            cal.add_working_days(date(2026, 5, 13), 1),
            date(2026, 5, 18)
        );
        assert_eq!(
            calendar().add_working_days(date(2026, 5, 13), 1),
            date(2026, 5, 15)
        );
    }

    #[test]
    fn adding_working_days_saturates_at_the_last_representable_date() {
        assert_eq!(
            calendar().add_working_days(NaiveDate::MAX, 5),
            NaiveDate::MAX
        );
    }

    #[test]
    fn due_at_in_summer_time_ends_at_21_59_59_utc() {
        // Friday 27 March is CET; DST starts 29 March, so Monday is CEST.
        let due = calendar().due_at(utc(2026, 3, 27, 10, 0, 0), 1);
        assert_eq!(due, utc(2026, 3, 30, 21, 59, 59));
    }

    #[test]
    fn due_at_in_winter_time_ends_at_22_59_59_utc() {
        let due = calendar().due_at(utc(2026, 1, 14, 9, 0, 0), 1);
        assert_eq!(due, utc(2026, 1, 15, 22, 59, 59));
    }

    #[test]
    fn due_at_across_the_autumn_clock_change_uses_winter_time() {
        // Friday 23 October is CEST; DST ends 25 October.
        let due = calendar().due_at(utc(2026, 10, 23, 8, 0, 0), 1);
        assert_eq!(due, utc(2026, 10, 26, 22, 59, 59));
    }

    #[test]
    fn late_evening_utc_counts_from_the_swedish_date() {
        // 23:30 UTC Thursday is 00:30 Friday in Stockholm.
        let due = calendar().due_at(utc(2026, 1, 15, 23, 30, 0), 1);
        assert_eq!(due, utc(2026, 1, 19, 22, 59, 59));
    }

    #[test]
    fn due_at_with_zero_days_is_the_end_of_the_current_working_day() {
        let cal = calendar();
        assert_eq!(
            cal.due_at(utc(2026, 6, 10, 7, 0, 0), 0),
            utc(2026, 6, 10, 21, 59, 59)
        );
        // Received on julafton: due at the end of the next working day.
        assert_eq!(
            cal.due_at(utc(2026, 12, 24, 9, 0, 0), 0),
            utc(2026, 12, 28, 22, 59, 59)
        );
    }

    #[test]
    fn parse_extra_days_accepts_whitespace_and_trailing_commas() {
        assert_eq!(
            parse_extra_days(" 2026-01-05 ,2026-05-15,\n"),
            Ok(vec![date(2026, 1, 5), date(2026, 5, 15)])
        );
    }

    #[test]
    fn parse_extra_days_accepts_empty_input() {
        assert_eq!(parse_extra_days(""), Ok(vec![]));
        assert_eq!(parse_extra_days("  "), Ok(vec![]));
    }

    #[test]
    fn parse_extra_days_names_the_bad_item() {
        let err = parse_extra_days("2026-01-05, 2026-13-01").expect_err("bad month");
        assert!(err.contains("2026-13-01"), "{err}");
        let err = parse_extra_days("2026-01-05;2026-01-06").expect_err("wrong separator");
        assert!(err.contains("2026-01-05;2026-01-06"), "{err}");
    }

    fn working_days_in(cal: &WorkingCalendar, after: NaiveDate, until: NaiveDate) -> u32 {
        after
            .iter_days()
            .skip(1)
            .take_while(|day| *day <= until)
            .filter(|day| cal.is_working_day(*day))
            .count() as u32
    }

    #[test]
    fn adding_n_working_days_lands_on_a_working_day_exactly_n_working_days_later() {
        let cal = WorkingCalendar::new([date(2027, 5, 7), date(2029, 12, 27)]);
        for start in date(2024, 1, 1)
            .iter_days()
            .take_while(|d| d.year() <= 2030)
        {
            for n in [1, 2, 3, 5, 10, 20] {
                let due = cal.add_working_days(start, n);
                assert!(cal.is_working_day(due), "{start} + {n} = {due}");
                assert_eq!(working_days_in(&cal, start, due), n, "{start} + {n}");
            }
            let first = cal.add_working_days(start, 0);
            assert!(cal.is_working_day(first) && first >= start);
            assert_eq!(
                working_days_in(&cal, start, first),
                u32::from(first > start)
            );
        }
    }

    #[test]
    fn a_year_has_the_hand_counted_number_of_working_days() {
        let cal = calendar();
        // 261 weekdays each; 2026 loses 10 to holidays, 2027 loses 8.
        for (year, expected) in [(2026, 251), (2027, 253)] {
            let count = working_days_in(&cal, date(year - 1, 12, 31), date(year, 12, 31));
            assert_eq!(count, expected, "{year}");
        }
    }
}
