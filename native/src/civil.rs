//! Days since 1970-01-01 ↔ (year, month, day), proleptic Gregorian (H. Hinnant's algorithms),
//! limited to the years Python's `datetime` accepts so that both engines agree on what fails.

use crate::spec::Level;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;
const FIRST_DAY: i64 = -719_162; // 0001-01-01
const LAST_DAY: i64 = 2_932_896; // 9999-12-31

pub fn in_range(days: i64) -> bool {
    (FIRST_DAY..=LAST_DAY).contains(&days)
}

pub fn from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn to_days(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first day of the year or month that holds `days`; None outside Python's date range
/// (and for hours, which a day count does not have).
pub fn coarsen(days: i64, level: Level) -> Option<i64> {
    if !in_range(days) {
        return None;
    }
    let (year, month, _) = from_days(days);
    match level {
        Level::Year => Some(to_days(year, 1, 1)),
        Level::Month => Some(to_days(year, month, 1)),
        Level::Day => Some(days),
        Level::Hour => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_of_the_python_range() {
        let mut days = FIRST_DAY;
        while days <= LAST_DAY {
            let (y, m, d) = from_days(days);
            assert_eq!(to_days(y, m, d), days);
            days += 1;
        }
        assert_eq!(from_days(0), (1970, 1, 1));
        assert_eq!(from_days(FIRST_DAY), (1, 1, 1));
        assert_eq!(from_days(LAST_DAY), (9999, 12, 31));
        assert_eq!(coarsen(19_000, Level::Year), Some(to_days(2022, 1, 1)));
    }
}
