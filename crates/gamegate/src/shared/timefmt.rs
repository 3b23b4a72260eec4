//! Times and durations as text: the `90m` / `24h` / `7d` durations that
//! operator commands and the admin API accept, and UTC calendar times as
//! reports print them. No command or HTTP type here: `report_cmd`, `ban_cmd`
//! and the statistics handlers all use it.

/// Parses `90m`, `1h`, `24h`, `7d`, `30s` into seconds: ASCII digits, then
/// exactly one unit letter. Anything else (no unit, several units, spaces,
/// signs, fractions, upper case, zero) is refused.
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    const EXPECTED: &str =
        "expected a whole number followed by s, m, h or d, e.g. 90m, 1h, 24h, 7d";
    let Some(unit) = text.chars().last() else {
        anyhow::bail!("empty duration: {EXPECTED}");
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    let unit_seconds: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => anyhow::bail!("unknown or missing unit {unit:?}: {EXPECTED}"),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        anyhow::bail!("{text:?} is not a duration: {EXPECTED}");
    }
    let number: i64 = digits
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is too long a duration"))?;
    if number == 0 {
        anyhow::bail!("the duration must be positive: {EXPECTED}");
    }
    number
        .checked_mul(unit_seconds)
        .ok_or_else(|| anyhow::anyhow!("{text:?} is too long a duration"))
}

/// `YYYY-MM-DD HH:MM` in UTC. Bucket starts are whole hours, so they read
/// `YYYY-MM-DD HH:00`.
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_a_number_and_one_unit() {
        assert_eq!(parse_duration("30s").unwrap(), 30);
        assert_eq!(parse_duration("90m").unwrap(), 5_400);
        assert_eq!(parse_duration("1h").unwrap(), 3_600);
        assert_eq!(parse_duration("24h").unwrap(), 86_400);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("007d").unwrap(), 604_800);
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "1",
            "h",
            "1w",
            "1H",
            "1.5h",
            "-1h",
            "+1h",
            " 1h",
            "1h ",
            "1 h",
            "1h30m",
            "0h",
            "0s",
            "1hh",
            "١h",
            "99999999999999999999d",
            "999999999999999d",
        ] {
            let err = match parse_duration(bad) {
                Ok(v) => panic!("{bad:?} parsed as {v}"),
                Err(e) => e.to_string(),
            };
            let expected = err.contains("e.g. 90m, 1h, 24h, 7d") || err.contains("too long");
            assert!(expected, "{bad:?}: {err}");
        }
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_utc(1_709_164_800), "2024-02-29 00:00");
        assert_eq!(format_utc(1_735_689_599), "2024-12-31 23:59");
        // 2100 is not a leap year: the day after 2100-02-28 is 2100-03-01.
        assert_eq!(format_utc(4_107_542_400), "2100-03-01 00:00");
        assert_eq!(format_utc(-1), "1969-12-31 23:59");
        assert_eq!(format_utc(-86_401), "1969-12-30 23:59");
        assert_eq!(
            format_utc(1_700_000_000 - 1_700_000_000 % 3_600),
            "2023-11-14 22:00"
        );
    }
}
