//! England and Wales bank holidays, computed by their standing rules so that a rota can offer
//! them as dates to skip without any download: New Year's Day, Good Friday, Easter Monday, the
//! early May, spring and summer bank holidays, Christmas Day and Boxing Day, with the substitute
//! weekdays when one falls at a weekend.
//!
//! One-off changes made by proclamation (a moved early May holiday, a jubilee or coronation) are
//! not rules and are not here: a manager adds those dates by hand.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The bank holidays of a year in England and Wales, in date order, each with its name.
pub fn england_and_wales(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::with_capacity(8);
    let Some(new_year) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return out;
    };
    out.push((weekday_on_or_after(new_year), "New Year's Day"));
    if let Some(easter) = easter_sunday(year) {
        out.push((easter - Duration::days(2), "Good Friday"));
        out.push((easter + Duration::days(1), "Easter Monday"));
    }
    if let Some(d) = nth_monday(year, 5, 1) {
        out.push((d, "Early May bank holiday"));
    }
    if let Some(d) = last_monday(year, 5) {
        out.push((d, "Spring bank holiday"));
    }
    if let Some(d) = last_monday(year, 8) {
        out.push((d, "Summer bank holiday"));
    }
    if let (Some(christmas), Some(boxing)) = (
        NaiveDate::from_ymd_opt(year, 12, 25),
        NaiveDate::from_ymd_opt(year, 12, 26),
    ) {
        // A weekend holiday moves to the next weekday not already a holiday.
        let christmas_day = weekday_on_or_after(christmas);
        let mut boxing_day = weekday_on_or_after(boxing);
        if boxing_day <= christmas_day {
            boxing_day = weekday_on_or_after(christmas_day + Duration::days(1));
        }
        out.push((christmas_day, "Christmas Day"));
        out.push((boxing_day, "Boxing Day"));
    }
    out.sort();
    out
}

/// The bank holidays from `from` to `to` inclusive.
pub fn between(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, &'static str)> {
    (from.year()..=to.year())
        .flat_map(england_and_wales)
        .filter(|(d, _)| *d >= from && *d <= to)
        .collect()
}

/// The date itself on a weekday, else the Monday after.
fn weekday_on_or_after(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date + Duration::days(2),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// The `n`-th Monday of a month.
fn nth_monday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n)
}

/// The last Monday of a month.
fn last_monday(year: i32, month: u32) -> Option<NaiveDate> {
    nth_monday(year, month, 5).or_else(|| nth_monday(year, month, 4))
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(year: i32) -> Vec<String> {
        england_and_wales(year)
            .into_iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect()
    }

    #[test]
    fn the_published_dates_of_years_without_one_off_changes() {
        // As published for England and Wales.
        assert_eq!(
            dates(2026),
            ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"]
        );
        assert_eq!(
            dates(2027),
            ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"]
        );
        assert_eq!(
            dates(2021),
            ["01-01", "04-02", "04-05", "05-03", "05-31", "08-30", "12-27", "12-28"]
        );
        assert_eq!(
            dates(2024),
            ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"]
        );
        // New Year's Day on a Saturday moves to Monday 3 January.
        assert_eq!(dates(2022)[0], "01-03");
    }

    #[test]
    fn a_range_keeps_only_its_own_dates() {
        let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2027, 4, 30).unwrap();
        let names: Vec<&str> = between(from, to).into_iter().map(|(_, n)| n).collect();
        assert_eq!(
            names,
            [
                "Christmas Day",
                "Boxing Day",
                "New Year's Day",
                "Good Friday",
                "Easter Monday"
            ]
        );
    }
}
