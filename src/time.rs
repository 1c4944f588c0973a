//! Times as ISO-8601 text, in UTC on the proleptic Gregorian calendar (days
//! to and from civil dates after Howard Hinnant's algorithms).
//!
//! Only `std`: the build script includes this file too, for the build date.

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
pub fn iso_utc(secs: i64) -> String {
    let (date, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(date);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch: what
/// JavaScript's `Date.prototype.toISOString` writes, so files shared with the
/// official tool hold the same text.
pub fn iso_utc_millis(millis: i64) -> String {
    let secs = iso_utc(millis.div_euclid(1000));
    format!(
        "{}.{:03}Z",
        &secs[..secs.len() - 1],
        millis.rem_euclid(1000)
    )
}

/// Seconds since the epoch of an ISO-8601 / RFC 3339 time as servers and
/// files hold them: `2026-06-15T10:00:00Z`, `…T10:00:00.123456Z` (the
/// fraction is dropped), `…T10:00:00+00:00`, `…+0000`, or no offset at all
/// (read as UTC).
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let (h, m) = match b.len() - i {
                6 if b[i + 3] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                5 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                _ => return None,
            };
            let secs = h * 3600 + m * 60;
            if sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Milliseconds since the epoch of a time [`parse_iso`] reads, the fraction
/// of a second kept to the millisecond (`…T10:00:00.5Z` is half a second on).
pub fn parse_iso_millis(s: &str) -> Option<i64> {
    let secs = parse_iso(s)?;
    let fraction = s.trim().get(19..).and_then(|rest| rest.strip_prefix('.'));
    let millis = fraction.map_or(0, |f| {
        let digits: String = f.chars().take_while(char::is_ascii_digit).take(3).collect();
        format!("{digits:0<3}").parse::<i64>().unwrap_or(0)
    });
    secs.checked_mul(1000)?.checked_add(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_servers_and_files_hold_them() {
        // 2026-06-15T10:00:00Z
        let t = 1_781_517_600;
        assert_eq!(parse_iso("2026-06-15T10:00:00Z"), Some(t));
        assert_eq!(parse_iso("2026-06-15T10:00:00.123456Z"), Some(t));
        assert_eq!(parse_iso("2026-06-15T10:00:00+00:00"), Some(t));
        assert_eq!(parse_iso("2026-06-15T12:00:00+02:00"), Some(t));
        assert_eq!(parse_iso("2026-06-15T09:30:00-0030"), Some(t));
        assert_eq!(parse_iso("2026-06-15 10:00:00"), Some(t));
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        for bad in [
            "",
            "2026-06-15",
            "2026-13-15T10:00:00Z",
            "2026-06-15T10:00:00Q",
            "2026-06-15T10:00:00.Z",
            "2026-06-15T10:00:00+2",
            "2026-06-15T10:00:00Zx",
            "２０２６-06-15T10:00:00Z",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn written_as_javascript_writes_them_and_read_back() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_781_517_600), "2026-06-15T10:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            iso_utc_millis(1_781_517_600_007),
            "2026-06-15T10:00:00.007Z"
        );
        assert_eq!(iso_utc_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            parse_iso_millis("2026-06-15T10:00:00.5Z"),
            Some(1_781_517_600_500)
        );
        assert_eq!(
            parse_iso_millis("2026-06-15T12:00:00.123456+02:00"),
            Some(1_781_517_600_123)
        );
        assert_eq!(parse_iso_millis("2026-06-15T10:00:00.Z"), None);
        for secs in [0, 86_399, 951_782_400, 1_781_517_600, 4_102_444_800] {
            assert_eq!(parse_iso(&iso_utc(secs)), Some(secs));
            let millis = secs * 1000 + 7;
            assert_eq!(parse_iso_millis(&iso_utc_millis(millis)), Some(millis));
            assert_eq!(parse_iso_millis(&iso_utc(secs)), Some(secs * 1000));
            assert_eq!(parse_iso(&iso_utc_millis(secs * 1000 + 999)), Some(secs));
        }
        for days in [-719_468, -1, 0, 59, 60, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
