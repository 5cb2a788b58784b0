//! Window starts as jobs write them, and as the report prints them. Jobs write either epoch
//! milliseconds (Kafka Streams' `Window::start()`) or an RFC 3339 string (Spark's JSON of a
//! `timestamp`, e.g. `2019-10-03T00:00:10.000Z`); both become epoch milliseconds here, so that
//! matching never compares text.

use distroduce_sdk::time::civil_from_days;

/// A window start written as text: epoch milliseconds (`1570060810000`) or an RFC 3339 date-time.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    parse_rfc3339(s).ok_or_else(|| {
        format!("`{}` is neither epoch milliseconds nor an RFC 3339 time like 2019-10-03T00:00:10Z", clip(s, 60))
    })
}

/// `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction][Z|z|±HH:MM|±HHMM|±HH]` to epoch milliseconds. Without a
/// zone the time is read as UTC (what Spark writes when its session time zone is UTC, and what
/// Python's `str(datetime)` of the engine's virtual clock means). Digits of the fraction beyond
/// the millisecond are dropped, rounding toward the past like the job's own window arithmetic.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo as u32) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for k in 0..3 {
            millis = millis * 10 + if k < digits { i64::from(b[i + 1 + k] - b'0') } else { 0 };
        }
        i += 1 + digits;
    }
    let offset_min = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &s[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1, 2)?, 0),
                4 => (num(i + 1, 2)?, num(i + 3, 2)?),
                5 if rest.as_bytes()[2] == b':' => (num(i + 1, 2)?, num(i + 4, 2)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// `2019-10-03T00:00:10Z`, with `.250` before the `Z` only when the milliseconds are not zero.
pub fn format_ms(ms: i64) -> String {
    let (date, time) = split(ms);
    format!("{date}T{time}Z")
}

/// A window as a half-open range, `[2019-10-03T00:00:10Z, 00:00:20Z)`: the end shows its date only
/// when it differs from the start's, so that the eye goes to what changes.
pub fn format_range(start: i64, end: Option<i64>) -> String {
    let Some(end) = end else { return format!("[{}, ?)", format_ms(start)) };
    let (d0, _) = split(start);
    let (d1, t1) = split(end);
    if d0 == d1 {
        format!("[{}, {t1}Z)", format_ms(start))
    } else {
        format!("[{}, {})", format_ms(start), format_ms(end))
    }
}

fn split(ms: i64) -> (String, String) {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let time = format!("{:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60);
    let time = if frac == 0 { time } else { format!("{time}.{frac:03}") };
    (format!("{y:04}-{m:02}-{d:02}"), time)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// At most `n` characters of `s`, with `…` when cut.
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T10: i64 = 1_570_060_810_000; // 2019-10-03T00:00:10Z

    #[test]
    fn spark_and_kafka_streams_forms_agree() {
        for s in [
            "1570060810000",
            "2019-10-03T00:00:10.000Z",
            "2019-10-03T00:00:10Z",
            "2019-10-03t00:00:10z",
            "2019-10-03 00:00:10",
            "2019-10-03T00:00:10.000999Z",
            "2019-10-03T02:00:10+02:00",
            "2019-10-03T02:00:10.000+0200",
            "2019-10-02T23:00:10-01",
            " 2019-10-03T00:00:10Z\n",
        ] {
            assert_eq!(parse_time(s), Ok(T10), "{s}");
        }
        assert_eq!(parse_time("2019-10-03T00:00:10.25Z"), Ok(T10 + 250));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("1969-12-31T23:59:59.999Z"), Ok(-1));
        assert_eq!(parse_time("2020-02-29T00:00:00Z"), Ok(1_582_934_400_000));
    }

    #[test]
    fn malformed_times_are_errors_not_guesses() {
        for s in [
            "",
            "yesterday",
            "2019-10-03",
            "2019-10-03T00:00",
            "2019-13-03T00:00:10Z",
            "2019-02-29T00:00:10Z",
            "2019-10-03T24:00:10Z",
            "2019-10-03T00:00:10.Z",
            "2019-10-03T00:00:10ZZ",
            "2019-10-03T00:00:10+2:00",
            "2019-10-03T00:00:10 UTC",
            "1.5e12",
        ] {
            assert!(parse_time(s).is_err(), "{s:?} parsed");
        }
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for day in -146_097..146_097 {
            let ms = day * 86_400_000 + 3_723_004;
            assert_eq!(parse_rfc3339(&format_ms(ms)), Some(ms), "{}", format_ms(ms));
        }
    }

    #[test]
    fn ranges_print_the_end_date_only_when_it_changes() {
        assert_eq!(format_ms(T10), "2019-10-03T00:00:10Z");
        assert_eq!(format_ms(T10 + 5), "2019-10-03T00:00:10.005Z");
        assert_eq!(format_range(T10, Some(T10 + 10_000)), "[2019-10-03T00:00:10Z, 00:00:20Z)");
        assert_eq!(format_range(T10 - 10_000, Some(T10 + 86_390_000)), "[2019-10-03T00:00:00Z, 2019-10-04T00:00:00Z)");
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("héllo", 5), "héllo");
    }
}
