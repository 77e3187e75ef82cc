//! CIM datetimes (DSP0004 §5.2.4) and their text forms: DMTF (`yyyymmddHHMMSS.mmmmmmsUUU`, what
//! WQL literals and the C ABI use), and XML Schema's xs:dateTime / xs:duration (what WS-Management
//! servers send, DSP0230 `cim:Datetime` / `cim:Interval`). One proleptic Gregorian calendar conversion
//! serves them all.

/// A CIM datetime (DSP0004 §5.2.4): a point in time with its UTC offset, or an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CimDateTime {
    /// Microseconds since 1970-01-01T00:00:00Z, shown in the zone `utc_offset_minutes` east of UTC.
    Timestamp { unix_micros: i64, utc_offset_minutes: i16 },
    /// A duration in microseconds.
    Interval { micros: u64 },
}

impl CimDateTime {
    /// The DMTF text form: `yyyymmddHHMMSS.mmmmmmsUUU` for a timestamp (local time of the offset, `s` is
    /// `+` or `-`, `UUU` the offset in minutes) and `ddddddddHHMMSS.mmmmmm:000` for an interval.
    pub fn to_dmtf(&self) -> String {
        match *self {
            CimDateTime::Timestamp { unix_micros, utc_offset_minutes } => {
                let local = unix_micros + i64::from(utc_offset_minutes) * 60_000_000;
                let micros = local.rem_euclid(1_000_000);
                let secs = local.div_euclid(1_000_000);
                let days = secs.div_euclid(86_400);
                let sod = secs.rem_euclid(86_400);
                let (y, m, d) = civil_from_days(days);
                let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
                format!(
                    "{y:04}{m:02}{d:02}{:02}{:02}{:02}.{micros:06}{sign}{:03}",
                    sod / 3600,
                    sod / 60 % 60,
                    sod % 60,
                    utc_offset_minutes.unsigned_abs()
                )
            }
            CimDateTime::Interval { micros } => {
                let secs = micros / 1_000_000;
                format!(
                    "{:08}{:02}{:02}{:02}.{:06}:000",
                    secs / 86_400,
                    secs / 3600 % 24,
                    secs / 60 % 60,
                    secs % 60,
                    micros % 1_000_000
                )
            }
        }
    }
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12, day 1–31); inverse of
/// `civil_from_days`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses DMTF datetime text (`yyyymmddHHMMSS.mmmmmmsUUU` or `ddddddddHHMMSS.mmmmmm:000`).
pub fn parse_dmtf(text: &str) -> Option<CimDateTime> {
    let b = text.as_bytes();
    if b.len() != 25 || b[14] != b'.' || !text.is_ascii() {
        return None;
    }
    let num = |from: usize, to: usize| text[from..to].parse::<i64>().ok();
    let micros = num(15, 21)?;
    if b[21] == b':' {
        let secs = num(0, 8)? * 86_400 + num(8, 10)? * 3600 + num(10, 12)? * 60 + num(12, 14)?;
        return Some(CimDateTime::Interval { micros: (secs * 1_000_000 + micros) as u64 });
    }
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * num(22, 25)?;
    let (y, m, d) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    let local = days * 86_400 + num(8, 10)? * 3600 + num(10, 12)? * 60 + num(12, 14)?;
    Some(CimDateTime::Timestamp { unix_micros: (local - offset * 60) * 1_000_000 + micros, utc_offset_minutes: offset as i16 })
}

/// A CIM datetime from any text form servers send: an xs:dateTime
/// (`2001-01-01T01:01:01.000001+13:50`, `Z` or no zone = UTC), an xs:duration (`P2002DT2H2M2.000002S`) or DMTF text (`20010101010101.000001+830`).
pub fn parse(text: &str) -> Option<CimDateTime> {
    if let Some(d) = parse_dmtf(text) {
        return Some(d);
    }
    if let Some(rest) = text.strip_prefix('P') {
        return duration(rest).map(|micros| CimDateTime::Interval { micros });
    }
    parse_xs_datetime(text)
}

fn duration(rest: &str) -> Option<u64> {
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut micros: u64 = 0;
    let mut number = String::new();
    if !rest.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    for c in date.chars() {
        match c {
            '0'..='9' => number.push(c),
            'D' => micros += number.parse::<u64>().ok()? * 86_400_000_000,
            // Years and months have no fixed length; CIM intervals use days.
            'Y' => micros += number.parse::<u64>().ok()? * 365 * 86_400_000_000,
            'M' => micros += number.parse::<u64>().ok()? * 30 * 86_400_000_000,
            _ => return None,
        }
        if c.is_ascii_alphabetic() {
            number.clear();
        }
    }
    for c in time.unwrap_or("").chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' => micros += number.parse::<u64>().ok()? * 3_600_000_000,
            'M' => micros += number.parse::<u64>().ok()? * 60_000_000,
            'S' => micros += seconds_micros(&number)?,
            _ => return None,
        }
        if c.is_ascii_alphabetic() {
            number.clear();
        }
    }
    number.is_empty().then_some(micros)
}

fn seconds_micros(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut digits: String = fraction.chars().take(6).collect();
    while digits.len() < 6 {
        digits.push('0');
    }
    Some(whole.parse::<u64>().ok()? * 1_000_000 + digits.parse::<u64>().ok()?)
}

fn parse_xs_datetime(text: &str) -> Option<CimDateTime> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, u32, u32) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let zone_at = time.find(|c| c == 'Z' || c == '+' || c == '-').unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let mut c = clock.splitn(3, ':');
    let (hh, mm): (i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    let second_micros = seconds_micros(c.next().unwrap_or("0"))? as i64;
    let offset: i64 = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?)
        }
    };
    let local_micros = (days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60) * 1_000_000 + second_micros;
    Some(CimDateTime::Timestamp { unix_micros: local_micros - offset * 60_000_000, utc_offset_minutes: offset as i16 })
}

/// A timestamp as xs:dateTime in its own offset, e.g. `2001-01-01T01:01:01.000001+13:50`.
pub fn to_xs_datetime(d: &CimDateTime) -> String {
    let CimDateTime::Timestamp { unix_micros, utc_offset_minutes } = *d else { return String::new() };
    let local = unix_micros + i64::from(utc_offset_minutes) * 60_000_000;
    let (secs, micros) = (local.div_euclid(1_000_000), local.rem_euclid(1_000_000));
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let off = utc_offset_minutes.unsigned_abs();
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}{sign}{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60, off / 60, off % 60)
}

/// An interval as xs:duration, e.g. `P2002DT2H2M2.000002S`.
pub fn to_xs_duration(micros: u64) -> String {
    let secs = micros / 1_000_000;
    format!("P{}DT{}H{}M{}.{:06}S", secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmtf_timestamp_uses_local_time_of_offset() {
        // 2024-02-29T23:30:00.000001Z shown at +60 minutes is 2024-03-01 00:30 local.
        let t = CimDateTime::Timestamp { unix_micros: 1_709_249_400_000_001, utc_offset_minutes: 60 };
        assert_eq!(t.to_dmtf(), "20240301003000.000001+060");
        let t = CimDateTime::Timestamp { unix_micros: 0, utc_offset_minutes: -300 };
        assert_eq!(t.to_dmtf(), "19691231190000.000000-300");
    }

    #[test]
    fn days_and_civil_dates_are_inverse() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn dmtf_interval() {
        let i = CimDateTime::Interval { micros: (86_400 * 3 + 3661) * 1_000_000 + 42 };
        assert_eq!(i.to_dmtf(), "00000003010101.000042:000");
    }

    #[test]
    fn dmtf_round_trip() {
        let t = CimDateTime::Timestamp { unix_micros: 1_709_249_400_000_001, utc_offset_minutes: 60 };
        assert_eq!(parse_dmtf(&t.to_dmtf()), Some(t));
        let i = CimDateTime::Interval { micros: 123_456_789 };
        assert_eq!(parse_dmtf(&i.to_dmtf()), Some(i));
        assert_eq!(parse_dmtf("2024"), None);
    }

    #[test]
    fn datetimes_in_every_wire_form() {
        let t = parse("2001-01-01T01:01:01.000001+13:50").unwrap();
        assert_eq!(t.to_dmtf(), "20010101010101.000001+830");
        assert_eq!(to_xs_datetime(&t), "2001-01-01T01:01:01.000001+13:50");
        assert_eq!(parse("P2002DT2H2M2.000002S").unwrap().to_dmtf(), "00002002020202.000002:000");
        assert_eq!(to_xs_duration(((2002 * 86_400 + 7322) * 1_000_000) + 2), "P2002DT2H2M2.000002S");
        assert_eq!(parse("P2000D").unwrap().to_dmtf(), "00002000000000.000000:000");
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap(), CimDateTime::Timestamp { unix_micros: 0, utc_offset_minutes: 0 });
        assert_eq!(parse("20240301003000.000001+060").unwrap().to_dmtf(), "20240301003000.000001+060");
        for bad in ["", "P", "PT1X", "2001-13", "yesterday"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
