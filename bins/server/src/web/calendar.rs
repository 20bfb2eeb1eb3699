//! The calendar: every scheduled (or published) target by day, a week or a month at a time, in the
//! viewer's time zone.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use maud::html;
use serde::Deserialize;

use super::layout::{Flash, Section, page};
use super::{PageResult, Viewer, fail, html_page, url_encode};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar", get(calendar))
}

#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    view: Option<String>,
    date: Option<String>,
    tz: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// The UTC instant of local midnight starting `day` in `tz` (the first instant of the day when midnight
/// falls in a gap).
fn start_of(day: NaiveDate, tz: Tz) -> chrono::DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::LocalResult::None => {
            // Clocks jumped over midnight: the day starts at the first local time that exists.
            (1..=3)
                .filter_map(|h| {
                    tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                        .earliest()
                })
                .next()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        }
    }
}

/// The days shown: a Monday-to-Sunday week, or the whole weeks that cover a month.
pub fn days_shown(view: &str, date: NaiveDate) -> Vec<NaiveDate> {
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let (first, last) = if view == "month" {
        let first = date.with_day(1).unwrap_or(date);
        let next_month = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .unwrap_or(first);
        let last = next_month - Duration::days(1);
        (monday(first), monday(last) + Duration::days(6))
    } else {
        (monday(date), monday(date) + Duration::days(6))
    };
    first.iter_days().take_while(|d| *d <= last).collect()
}

async fn calendar(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    let tz = v.tz;
    let view = if q.view.as_deref() == Some("month") {
        "month"
    } else {
        "week"
    };
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = q
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let days = days_shown(view, date);
    let (Some(first), Some(last)) = (days.first().copied(), days.last().copied()) else {
        return Err(fail(crate::ApiError::bad_request(
            "invalid-input",
            "no days to show",
        )));
    };
    let from = start_of(first, tz);
    let to = start_of(last + Duration::days(1), tz);
    let entries = state
        .service
        .calendar(&v.session.user, from, to)
        .await
        .map_err(fail)?;
    let mut by_day: BTreeMap<NaiveDate, Vec<_>> = BTreeMap::new();
    for e in &entries {
        by_day
            .entry(e.at.with_timezone(&tz).date_naive())
            .or_default()
            .push(e);
    }
    let (prev, next) = if view == "month" {
        let first_of = date.with_day(1).unwrap_or(date);
        let prev = first_of - Duration::days(1);
        let next = first_of + Duration::days(32);
        (
            prev.with_day(1).unwrap_or(prev),
            next.with_day(1).unwrap_or(next),
        )
    } else {
        (date - Duration::days(7), date + Duration::days(7))
    };
    let tz_param =
        q.tz.as_deref()
            .map(|z| format!("&tz={}", url_encode(z)))
            .unwrap_or_default();
    let link = |d: NaiveDate, vw: &str| {
        format!(
            "/calendar?view={vw}&date={}{tz_param}",
            d.format("%Y-%m-%d")
        )
    };
    let title = if view == "month" {
        date.format("%B %Y").to_string()
    } else {
        format!("Week of {}", first.format("%-d %b %Y"))
    };
    let c = v.chrome();
    let body = html! {
        div.page-head {
            h1 { (title) }
            div.actions {
                a.button href=(link(prev, view)) aria-label="Earlier" { "←" }
                a.button href=(link(today, view)) { "Today" }
                a.button href=(link(next, view)) aria-label="Later" { "→" }
                a.button.primary[view == "week"] href=(link(date, "week")) { "Week" }
                a.button.primary[view == "month"] href=(link(date, "month")) { "Month" }
            }
        }
        p.muted { small { "Times in " strong { (tz.name()) } ". "
            form.inline method="get" action="/calendar" {
                input type="hidden" name="view" value=(view);
                input type="hidden" name="date" value=(date.format("%Y-%m-%d"));
                input type="text" name="tz" value=(tz.name()) aria-label="Time zone" class="inline-input";
                " " button.small type="submit" { "Change zone" }
            }
        } }
        div class={ "cal " (view) } {
            @for name in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] { div.head { (name) } }
            @for d in &days {
                @let other = view == "month" && d.month() != date.month();
                div class={ "day" @if other { " other" } @if *d == today { " today" } } {
                    span.date { (d.format("%a %-d")) }
                    @if let Some(list) = by_day.get(d) {
                        @for e in list {
                            a class={ "entry " (e.target_state) } href={ "/posts/" (e.post_id) }
                                title={ (e.title) " → " (e.account_name) " (" (e.target_state) ")" } {
                                (e.at.with_timezone(&tz).format("%H:%M")) " " (e.platform) " · " (e.title)
                            }
                        }
                    }
                }
            }
        }
        @if entries.is_empty() { p.empty { "Nothing scheduled in this " (view) "." } }
    };
    Ok(html_page(page(
        &c,
        Section::Calendar,
        "Calendar",
        &q.flash,
        body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_cover_whole_weeks() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let week = days_shown("week", d);
        assert_eq!(week.len(), 7);
        assert_eq!(week[0], NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let month = days_shown("month", d);
        assert_eq!(month.len() % 7, 0);
        assert_eq!(month[0], NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(
            *month.last().unwrap(),
            NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()
        );
    }

    #[test]
    fn days_start_at_local_midnight() {
        let lisbon: Tz = "Europe/Lisbon".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            start_of(day, lisbon),
            Utc.with_ymd_and_hms(2026, 6, 30, 23, 0, 0).unwrap()
        );
        // Santiago skips midnight when summer time starts (2026-09-06).
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of(gap, santiago),
            Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap()
        );
    }
}
