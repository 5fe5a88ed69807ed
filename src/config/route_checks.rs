//! Route checks that need more than the route's own keys: its templates must compile, and
//! `min_spacing` must be sane and agree per board. They live on the config side so that
//! validating a config never reaches into the sync engine; the engine uses what they accept.
//! The board privacy and description keys are checked here too.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::{ConfigProblem, RouteConfig};
use crate::template::Templates;

impl RouteConfig {
    /// Compile this route's templates; on failure, the key and a readable message.
    pub fn templates(&self) -> Result<Templates, (&'static str, String)> {
        Templates::from_sources(
            self.title.as_deref(),
            self.description.as_deref(),
            self.link.as_deref(),
            self.alt_text.as_deref(),
        )
    }

    /// The Pinterest privacy (`PUBLIC`, `PROTECTED`, `SECRET`) of a board this route creates;
    /// `None` leaves Pinterest's default (public). Unknown values are reported by validation.
    pub fn board_privacy_api(&self) -> Option<&'static str> {
        match self
            .board_privacy
            .as_deref()?
            .trim()
            .to_lowercase()
            .as_str()
        {
            "public" => Some("PUBLIC"),
            "protected" => Some("PROTECTED"),
            "secret" => Some("SECRET"),
            _ => None,
        }
    }

    /// The route may create a board it names: then the token must see secret boards, or a
    /// secret board of that name would look missing and get a public twin.
    pub fn may_create_board_by_name(&self) -> bool {
        self.create_missing && self.board.is_some() && self.board_id.is_none()
    }

    /// The route says its board is secret.
    pub fn wants_secret_board(&self) -> bool {
        self.board_privacy_api() == Some("SECRET")
    }
}

/// Check the board keys: a known privacy, and a description only where a board is created.
pub(super) fn validate_board_keys(routes: &[RouteConfig], problems: &mut Vec<ConfigProblem>) {
    for (i, route) in routes.iter().enumerate() {
        if route.board_privacy.is_some() && route.board_privacy_api().is_none() {
            problems.push(ConfigProblem::new(
                format!("routes[{i}].board_privacy"),
                format!(
                    "`{}` is not a board privacy; use \"public\", \"protected\" or \"secret\"",
                    route.board_privacy.as_deref().unwrap_or_default()
                ),
            ));
        }
        let Some(description) = &route.board_description else {
            continue;
        };
        let path = format!("routes[{i}].board_description");
        if description.trim().is_empty() {
            problems.push(ConfigProblem::new(
                path,
                "is empty; leave it out for a board without a description",
            ));
        } else if !route.create_missing || route.board.is_none() || route.board_id.is_some() {
            problems.push(ConfigProblem::new(
                path,
                "only describes a board pinbridge creates: name the board with `board` and set create_missing = true",
            ));
        }
    }
}

/// The longest spacing accepted: a longer one is almost surely a typo ("10d" for "10m").
const MAX_SPACING: Duration = Duration::from_secs(7 * 24 * 3600);

/// Check the routes' `min_spacing`: not zero, not absurdly long, and one value per board
/// (routes to the same board share its last Pin time, so differing values would contradict).
pub(super) fn validate_routes(
    routes: &[RouteConfig],
    default_account: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    let mut per_board: HashMap<(String, String), (usize, Duration)> = HashMap::new();
    let mut reported = HashSet::new();
    for (i, route) in routes.iter().enumerate() {
        let Some(spacing) = route.min_spacing else {
            continue;
        };
        let path = format!("routes[{i}].min_spacing");
        if spacing.is_zero() {
            problems.push(ConfigProblem::new(
                path,
                "must be more than zero (leave it out for no spacing)",
            ));
            continue;
        }
        if spacing > MAX_SPACING {
            problems.push(ConfigProblem::new(
                path,
                format!(
                    "{} is longer than the 7 days allowed",
                    humantime::format_duration(spacing)
                ),
            ));
            continue;
        }
        let account = route
            .account
            .clone()
            .or_else(|| default_account.map(str::to_string))
            .unwrap_or_default();
        let board = match (&route.board_id, &route.board) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(name)) => name.clone(),
            (None, None) => continue,
        };
        match per_board.get(&(account.clone(), board.clone())) {
            Some(&(first, other)) if other != spacing && reported.insert(i) => {
                problems.push(ConfigProblem::new(
                    path,
                    format!(
                        "board `{board}` already has min_spacing {} from routes[{first}]; one board has one spacing",
                        humantime::format_duration(other)
                    ),
                ))
            }
            Some(_) => {}
            None => {
                per_board.insert((account, board), (i, spacing));
            }
        }
    }
}
