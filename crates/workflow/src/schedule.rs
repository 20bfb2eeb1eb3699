//! Schedules: a local date-time in an IANA zone, resolved to one UTC instant, never in the past.

use std::fmt;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which instant to take when a local time happens twice (the hour the clocks fall back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ambiguity {
    /// The first occurrence (still on summer time). The default.
    #[default]
    Earlier,
    /// The second occurrence (already on standard time).
    Later,
}

/// A wall-clock time in a named zone, as a person enters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSchedule {
    /// The local date and time.
    pub local: NaiveDateTime,
    /// The IANA zone it is in.
    pub zone: Tz,
    /// What to do when the local time happens twice.
    pub ambiguity: Ambiguity,
}

/// A publish instant in UTC that was in the future when it was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduledAt(DateTime<Utc>);

impl ScheduledAt {
    /// Accepts `at` if it is after `now`.
    pub fn new(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self> {
        if at <= now {
            return Err(Error::InvalidSchedule(format!(
                "{} is in the past (now is {}); pick a later time",
                at.format("%Y-%m-%d %H:%M UTC"),
                now.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        Ok(ScheduledAt(at))
    }

    /// Rebuilds a stored instant without the "future" check (it was checked when it was set).
    pub fn from_stored(at: DateTime<Utc>) -> Self {
        ScheduledAt(at)
    }

    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for ScheduledAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

impl LocalSchedule {
    /// Parses `YYYY-MM-DD HH:MM[:SS]` (or with a `T`) and an IANA zone name such as `Europe/Lisbon`.
    pub fn parse(local: &str, zone: &str, ambiguity: Ambiguity) -> Result<Self> {
        let text = local.trim().replace('T', " ");
        let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|fmt| NaiveDateTime::parse_from_str(&text, fmt).ok())
            .ok_or_else(|| {
                Error::InvalidSchedule(format!(
                    "`{local}` is not a local date-time; write it as YYYY-MM-DD HH:MM"
                ))
            })?;
        let zone: Tz = zone.trim().parse().map_err(|_| {
            Error::InvalidSchedule(format!(
                "`{zone}` is not an IANA time zone; use a name such as Europe/Lisbon or America/New_York"
            ))
        })?;
        Ok(LocalSchedule {
            local,
            zone,
            ambiguity,
        })
    }

    /// The UTC instant this local time means, refusing times that do not exist or are past.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<ScheduledAt> {
        let instant = match self.zone.from_local_datetime(&self.local) {
            LocalResult::Single(t) => t,
            LocalResult::Ambiguous(earlier, later) => match self.ambiguity {
                Ambiguity::Earlier => earlier,
                Ambiguity::Later => later,
            },
            LocalResult::None => return Err(self.gap_error()),
        };
        ScheduledAt::new(instant.with_timezone(&Utc), now)
    }

    /// Explains a spring-forward gap: which local times are missing that night.
    fn gap_error(&self) -> Error {
        let zone = self.zone;
        let offset_at = |t: DateTime<Utc>| t.with_timezone(&zone).offset().fix();
        // The gap lies within a day of the local time; find the UTC instant where the offset changes.
        let naive_utc = self.local.and_utc();
        let (mut lo, mut hi) = (naive_utc - Duration::days(1), naive_utc + Duration::days(1));
        let before = offset_at(lo);
        while hi - lo > Duration::seconds(1) {
            let mid = lo + (hi - lo) / 2;
            if offset_at(mid) == before {
                lo = mid
            } else {
                hi = mid
            }
        }
        let after = offset_at(hi);
        let start = (hi + Duration::seconds(before.local_minus_utc().into())).naive_utc();
        let end = (hi + Duration::seconds(after.local_minus_utc().into())).naive_utc();
        Error::InvalidSchedule(format!(
            "{} does not exist in {}: the clocks jump from {} to {} that night; pick a time outside the gap",
            self.local.format("%Y-%m-%d %H:%M"),
            zone.name(),
            start.format("%H:%M"),
            end.format("%H:%M"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn resolve(local: &str, zone: &str, amb: Ambiguity) -> Result<DateTime<Utc>> {
        LocalSchedule::parse(local, zone, amb)?
            .resolve(now())
            .map(|s| s.instant())
    }

    #[test]
    fn ordinary_times_convert_with_the_zone_offset() {
        let t = resolve("2026-07-01 09:00", "Europe/Lisbon", Ambiguity::Earlier).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap());
        let t = resolve("2026-12-10T09:30", "America/New_York", Ambiguity::Earlier).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 12, 10, 14, 30, 0).unwrap());
    }

    #[test]
    fn spring_forward_gap_is_an_error_naming_the_gap_in_two_zones() {
        // Europe/Paris: 2026-03-29 02:00 -> 03:00.
        let err = resolve("2026-03-29 02:30", "Europe/Paris", Ambiguity::Earlier).unwrap_err();
        assert_eq!(err.code(), "invalid-schedule");
        assert_eq!(
            err.to_string(),
            "2026-03-29 02:30 does not exist in Europe/Paris: the clocks jump from 02:00 to 03:00 \
             that night; pick a time outside the gap"
        );
        // America/New_York: 2026-03-08 02:00 -> 03:00.
        let err = resolve("2026-03-08 02:00", "America/New_York", Ambiguity::Earlier).unwrap_err();
        assert!(
            err.to_string().contains("jump from 02:00 to 03:00"),
            "{err}"
        );
        // Just outside the gap is fine.
        assert!(resolve("2026-03-08 01:59", "America/New_York", Ambiguity::Earlier).is_ok());
        assert!(resolve("2026-03-08 03:00", "America/New_York", Ambiguity::Earlier).is_ok());
    }

    #[test]
    fn fall_back_takes_the_earlier_instant_unless_asked() {
        // Europe/Paris: 2026-10-25 03:00 CEST -> 02:00 CET; 02:30 happens twice.
        let early = resolve("2026-10-25 02:30", "Europe/Paris", Ambiguity::Earlier).unwrap();
        let late = resolve("2026-10-25 02:30", "Europe/Paris", Ambiguity::Later).unwrap();
        assert_eq!(early, Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
        assert_eq!(late, Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap());
        // America/New_York: 2026-11-01 01:30 happens twice.
        let early = resolve("2026-11-01 01:30", "America/New_York", Ambiguity::Earlier).unwrap();
        assert_eq!(early, Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap());
    }

    #[test]
    fn a_half_hour_zone_gap_is_reported_too() {
        // Australia/Lord_Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30.
        let err = resolve(
            "2026-10-04 02:15",
            "Australia/Lord_Howe",
            Ambiguity::Earlier,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("jump from 02:00 to 02:30"),
            "{err}"
        );
    }

    #[test]
    fn the_past_and_bad_input_are_refused() {
        let err = resolve("2025-12-31 23:00", "UTC", Ambiguity::Earlier).unwrap_err();
        assert!(err.to_string().contains("is in the past"));
        assert_eq!(
            resolve("tomorrow", "UTC", Ambiguity::Earlier)
                .unwrap_err()
                .code(),
            "invalid-schedule"
        );
        assert_eq!(
            resolve("2026-05-01 10:00", "Mars/Olympus", Ambiguity::Earlier)
                .unwrap_err()
                .code(),
            "invalid-schedule"
        );
    }

    #[test]
    fn the_instant_survives_a_round_trip_through_utc_text() {
        // The classic "shifted by an hour after save" bug: store RFC 3339 UTC, read it back unchanged.
        let t = resolve("2026-10-25 02:30", "Europe/Paris", Ambiguity::Later).unwrap();
        let stored = ScheduledAt::from_stored(t).to_string();
        let back: DateTime<Utc> = DateTime::parse_from_rfc3339(&stored)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(back, t);
    }
}
