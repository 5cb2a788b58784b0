//! Timestamps formatted the way the original Python models printed them.

/// Formats `ns` nanoseconds since the Unix epoch (UTC) like Python's `str(datetime)`:
/// `"YYYY-MM-DD HH:MM:SS"`, followed by `".ffffff"` only when the microseconds are not zero.
///
/// Nanoseconds below the microsecond are dropped (rounding toward the past, as Python's
/// `datetime` has microsecond resolution). The calendar is the proleptic Gregorian one; years
/// outside 1..=9999, which Python's `datetime` cannot represent, still format (with a sign or
/// more digits) rather than fail, since every `i64` is a valid virtual clock reading.
///
/// The last reading formatted is kept (per thread): every call of a timestep reads one clock,
/// and a frozen clock reads the same all the run, so most calls copy the text instead.
pub fn format_python(ns: i64) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, String)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((at, text)) if *at == ns => text.clone(),
            _ => {
                let text = format_uncached(ns);
                *last = Some((ns, text.clone()));
                text
            }
        }
    })
}

fn format_uncached(ns: i64) -> String {
    let micros = ns.div_euclid(1_000);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if (0..=9999).contains(&y) {
        // Fixed-width digits without the formatting machinery (plugins stamp every message).
        let mut out = String::with_capacity(26);
        let mut put = |v: i64, width: u32, sep: Option<char>| {
            (0..width).rev().for_each(|i| out.push(char::from(b'0' + (v / 10i64.pow(i) % 10) as u8)));
            if let Some(c) = sep {
                out.push(c);
            }
        };
        put(y, 4, Some('-'));
        put(m.into(), 2, Some('-'));
        put(d.into(), 2, Some(' '));
        put(hh, 2, Some(':'));
        put(mm, 2, Some(':'));
        put(ss, 2, (frac != 0).then_some('.'));
        if frac != 0 {
            put(frac, 6, None);
        }
        return out;
    }
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{frac:06}")
    }
}

/// (year, month, day) of the day `z` days after 1970-01-01, by Howard Hinnant's algorithm: count
/// in 400-year eras that start on March 1st, so that the leap day is the last day of a year.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400 * 1_000_000_000;

    /// The kept reading gives the text of that reading only.
    #[test]
    fn a_repeated_reading_formats_alike_and_the_next_one_anew() {
        let ns = 1_709_210_096 * 1_000_000_000 + 789_012_345;
        for _ in 0..2 {
            assert_eq!(format_python(ns), "2024-02-29 12:34:56.789012");
        }
        assert_eq!(format_python(ns + 1_000), "2024-02-29 12:34:56.789013");
        assert_eq!(format_python(ns), format_uncached(ns));
    }

    #[test]
    fn epoch_and_fractions() {
        assert_eq!(format_python(0), "1970-01-01 00:00:00");
        assert_eq!(format_python(999), "1970-01-01 00:00:00"); // below a microsecond
        assert_eq!(format_python(1_000), "1970-01-01 00:00:00.000001");
        assert_eq!(format_python(1_500_000_000), "1970-01-01 00:00:01.500000");
        assert_eq!(format_python(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(format_python(-DAY), "1969-12-31 00:00:00");
    }

    #[test]
    fn known_dates() {
        // 2019-10-03 00:00:00 UTC, the frozen clock of the chat fixtures.
        assert_eq!(format_python(1_570_060_800 * 1_000_000_000), "2019-10-03 00:00:00");
        // 2000-02-29 (leap year divisible by 400) and the day after.
        assert_eq!(format_python(951_782_400 * 1_000_000_000), "2000-02-29 00:00:00");
        assert_eq!(format_python(951_868_800 * 1_000_000_000), "2000-03-01 00:00:00");
        // 2024-02-29 12:34:56.789012
        let ns = 1_709_210_096 * 1_000_000_000 + 789_012_345;
        assert_eq!(format_python(ns), "2024-02-29 12:34:56.789012");
        // 1900 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(civil_from_days(-25_509), (1900, 2, 28));
        assert_eq!(civil_from_days(-25_508), (1900, 3, 1));
        // The largest clock reading.
        assert_eq!(format_python(i64::MAX), "2262-04-11 23:47:16.854775");
        assert_eq!(format_python(i64::MIN), "1677-09-21 00:12:43.145224");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Days since the epoch from a naive count of calendar days, 1900-01-01 to 2300-01-01.
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut z = -25_567; // 1900-01-01
        for y in 1900..2300 {
            for m in 1..=12u32 {
                let len = match m {
                    2 if leap(y) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for d in 1..=len {
                    assert_eq!(civil_from_days(z), (y, m, d));
                    z += 1;
                }
            }
        }
    }
}
